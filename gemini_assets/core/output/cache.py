"""Earlier answers, archived under audit/responses/, double as the idempotency cache.

Re-running a day never calls the model again for an item whose answer for the same content
hash, task version, prompt and model already exists (DESIGN.md §4).
"""

from __future__ import annotations

from typing import Any

from gemini_assets.core.storage.objectstore import ObjectStore, safe_key


def response_key(task: str, task_version: str, model: str, sha256: str, prompt_hash: str) -> str:
    return safe_key("audit", "responses", task, task_version, model.replace("/", "_"), f"{sha256}-{prompt_hash}.json")


class ResponseArchive:
    def __init__(self, store: ObjectStore):
        self.store = store

    def get(self, key: str) -> dict[str, Any] | None:
        return self.store.read_json(key) if self.store.exists(key) else None

    def put(self, key: str, record: dict[str, Any]) -> None:
        self.store.write_json(key, record)
