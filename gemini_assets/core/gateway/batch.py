"""Gemini Batch API through the SDK's ``client.batches``: submit, find, poll, fetch results.

Requests under the inline cap (20 MB for the whole create request) go inline; larger ones as a
JSONL file uploaded through the Files API. Media is referenced exactly as online: a Files API
URI from the delivery plan, or the bytes inline for small images. Results come back keyed
(``metadata.key`` inline, ``key`` per JSONL line) and are returned per key, each either a
GenerateContentResponse or the line's error object.
"""

from __future__ import annotations

import base64
import io
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from google import genai
from google.genai import errors, types

from gemini_assets.core.gateway import wire
from gemini_assets.core.gateway.base import GenerateRequest

INLINE_LIMIT_BYTES = 20 * 1024 * 1024  # Gemini's cap on an inline batch (notes/anchors.md §3)
INLINE_MARGIN = 0.9  # the SDK's JSON framing and the URL-safe base64 add a little; stay clear
DONE_STATES = frozenset({"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"})


class BatchWaitExceeded(RuntimeError):
    """The batch is still running after the configured wait; it stays submitted (resume later)."""

    def __init__(self, name: str, state: str, waited_s: float):
        super().__init__(
            f"batch {name} is still {state} after {waited_s:.0f} s: it stays submitted; "
            "re-run the partition (or let the step retry) to resume waiting without resubmitting"
        )
        self.name, self.state = name, state


@dataclass(frozen=True)
class Submitted:
    name: str
    input_mode: str  # inline | file
    input_file: str | None
    request_bytes: int
    created_at: datetime


@dataclass
class LineResult:
    key: str
    response: types.GenerateContentResponse | None
    error_code: int | None = None
    error_status: str | None = None
    error_message: str | None = None


def rest_request(request: GenerateRequest) -> dict[str, Any]:
    """The REST GenerateContentRequest of one item, as a JSONL line carries it (camelCase)."""
    media = request.media
    if media.file_uri:
        media_part: dict[str, Any] = {"fileData": {"fileUri": media.file_uri, "mimeType": media.mime_type}}
    else:
        media_part = {"inlineData": {"data": base64.b64encode(media.data or b"").decode(), "mimeType": media.mime_type}}
    contents = [{"role": "user", "parts": [media_part, {"text": request.user_text}]}]
    contents += [{"role": role, "parts": [{"text": text}]} for role, text in request.history]
    return {
        "contents": contents,
        "systemInstruction": {"parts": [{"text": request.system_prompt}]},
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseJsonSchema": request.response_schema,
            "maxOutputTokens": request.max_output_tokens,
            "temperature": 0.0,
        },
    }


def request_bytes(keyed: dict[str, GenerateRequest]) -> int:
    return sum(len(json.dumps({"key": k, "request": rest_request(r)})) + 1 for k, r in keyed.items())


def submit(client: genai.Client, model: str, keyed: dict[str, GenerateRequest], display_name: str,
           inline_limit_bytes: int = INLINE_LIMIT_BYTES) -> Submitted:
    size = request_bytes(keyed)
    if size < inline_limit_bytes * INLINE_MARGIN:
        src: Any = [
            types.InlinedRequest(contents=wire.contents(r), config=wire.config(r), metadata={"key": k})
            for k, r in keyed.items()
        ]
        mode, input_file = "inline", None
    else:
        lines = "".join(json.dumps({"key": k, "request": rest_request(r)}) + "\n" for k, r in keyed.items())
        uploaded = client.files.upload(
            file=io.BytesIO(lines.encode()),
            config=types.UploadFileConfig(mime_type="application/jsonl", display_name=f"{display_name} input"),
        )
        src, mode, input_file = uploaded.name, "file", uploaded.name
    job = client.batches.create(model=model, src=src, config=types.CreateBatchJobConfig(display_name=display_name))
    return Submitted(job.name or "", mode, input_file, size, job.create_time or datetime.now(timezone.utc))


def find(client: genai.Client, display_name: str) -> types.BatchJob | None:
    """A batch created earlier under this name (a crash after create, before the state was saved)."""
    for job in client.batches.list(config=types.ListBatchJobsConfig(page_size=100)):
        if job.display_name == display_name:
            return job
    return None


def exists(client: genai.Client, name: str) -> bool:
    """False only when the provider says the batch is not there (404); other errors propagate."""
    try:
        client.batches.get(name=name)
    except errors.ClientError as exc:
        if exc.code == 404:
            return False
        raise
    return True


def state_name(job: types.BatchJob) -> str:
    return job.state.value if job.state is not None else "JOB_STATE_UNSPECIFIED"


def wait(client: genai.Client, name: str, max_wait_s: float, initial_s: float = 1.0, max_interval_s: float = 60.0,
         on_poll=None) -> types.BatchJob:
    """Poll with exponential backoff until the batch is done; BatchWaitExceeded after max_wait_s."""
    started = time.monotonic()
    deadline, delay = started + max_wait_s, initial_s
    while True:
        job = client.batches.get(name=name)
        if on_poll:
            on_poll(job)
        if state_name(job) in DONE_STATES:
            return job
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BatchWaitExceeded(name, state_name(job), time.monotonic() - started)
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, max_interval_s)


def results(client: genai.Client, job: types.BatchJob) -> dict[str, LineResult]:
    dest = job.dest
    if dest is None:
        return {}
    found: dict[str, LineResult] = {}
    if dest.inlined_responses is not None:
        for index, line in enumerate(dest.inlined_responses):
            key = str((line.metadata or {}).get("key", index))
            found[key] = _line(key, line.response, line.error.model_dump() if line.error else None)
    elif dest.file_name:
        raw = client.files.download(file=dest.file_name)
        for text in raw.decode("utf-8").splitlines():
            if not text.strip():
                continue
            document = json.loads(text)
            key = str(document.get("key"))
            response = document.get("response")
            parsed = types.GenerateContentResponse.model_validate(response) if response is not None else None
            found[key] = _line(key, parsed, document.get("error") or document.get("status"))
    return found


# The SDK keeps an inline line's error as JobError(code, message, details): no status name, so
# name it from the code as google.rpc does, for the same error_code values as online failures.
RPC_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 408: "DEADLINE_EXCEEDED",
              429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def _line(key: str, response: types.GenerateContentResponse | None, error: dict[str, Any] | None) -> LineResult:
    if error:
        code = int(error.get("code") or 0)
        status = error.get("status") or RPC_STATUS.get(code, "UNKNOWN")
        return LineResult(key, None, code, status, str(error.get("message") or "")[:500])
    return LineResult(key, response)


def line_latency_ms(job: types.BatchJob, submitted_at: datetime) -> float:
    end = job.end_time or datetime.now(timezone.utc)
    return max((end - submitted_at).total_seconds() * 1000, 0.0)


def usage_of(line: LineResult):
    return wire.usage(line.response) if line.response is not None else None
