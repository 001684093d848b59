"""Earlier answers, archived under audit/responses/, double as the idempotency cache.

Re-running a day never calls the model again for an item whose answer for the same content
hash, task version, prompt and model already exists (DESIGN.md §4). Answers are kept per
backend: an emulator's invented answer is never served as a real one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from gemini_assets.core.contracts.enums import Backend, OutputStatus, ParseStatus, Provider
from gemini_assets.core.storage.objectstore import ObjectStore, safe_key


class ArchivedAnswer(BaseModel):
    """What is kept of a final answer: enough to rebuild its model_outputs row without a call."""

    model_config = ConfigDict(extra="ignore")

    status: OutputStatus
    finish_reason: str | None = None
    raw_text: str | None = None
    parsed_json: str | None = None
    parse_status: ParseStatus = ParseStatus.NONE
    parse_error: str | None = None
    response_id: str | None = None
    model: str
    task_version: str
    prompt_hash: str
    sha256: str
    backend: Backend | None = None
    provider: Provider | None = None


def response_key(backend: Backend, task: str, task_version: str, model: str, sha256: str, prompt_hash: str) -> str:
    model_part = model.replace("/", "_")
    return safe_key("audit", "responses", str(backend), task, task_version, model_part, f"{sha256}-{prompt_hash}.json")


class ResponseArchive:
    def __init__(self, store: ObjectStore):
        self.store = store

    def get(self, key: str) -> ArchivedAnswer | None:
        return ArchivedAnswer.model_validate(self.store.read_json(key)) if self.store.exists(key) else None

    def has(self, key: str) -> bool:
        return self.store.exists(key)

    def put(self, key: str, answer: ArchivedAnswer) -> None:
        self.store.write_json(key, answer.model_dump(mode="json"))
