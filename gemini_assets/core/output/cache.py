"""Earlier answers, archived under audit/responses/, double as the idempotency cache.

Re-running a day never calls the model again for an item whose answer for the same content
hash and the same request (task version, model, prompts with the uploader's context, schema,
generation settings: ``request_fingerprint``) already exists (DESIGN.md §4). Answers are kept per
backend: an emulator's invented answer is never served as a real one.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict

from gemini_assets.core.contracts.calls import GenerateRequest
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


def request_fingerprint(request: GenerateRequest) -> str:
    """Everything that shapes the answer but the media bytes (the content hash covers those):
    model, system prompt, the user text with the uploader's redacted context, response schema
    and generation settings. Two uploads of the same bytes with different contexts are two
    requests, so one uploader's answer (or injected context) never reaches another."""
    shape = {
        "model": request.model,
        "system_prompt": request.system_prompt,
        "user_text": request.user_text,
        "response_schema": request.response_schema,
        "max_output_tokens": request.max_output_tokens,
        "temperature": request.temperature,
        "history": request.history,
        "media_type": request.media.mime_type,
    }
    canonical = json.dumps(shape, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def response_key(
    backend: Backend, task: str, task_version: str, model: str, sha256: str, request_fingerprint: str
) -> str:
    model_part = model.replace("/", "_")
    name = f"{sha256}-{request_fingerprint}.json"
    return safe_key("audit", "responses", str(backend), task, task_version, model_part, name)


class ResponseArchive:
    def __init__(self, store: ObjectStore):
        self.store = store

    def get(self, key: str) -> ArchivedAnswer | None:
        return ArchivedAnswer.model_validate(self.store.read_json(key)) if self.store.exists(key) else None

    def has(self, key: str) -> bool:
        return self.store.exists(key)

    def put(self, key: str, answer: ArchivedAnswer) -> None:
        self.store.write_json(key, answer.model_dump(mode="json"))
