"""Gemini Batch API through the SDK's ``client.batches``: submit, find, look up, fetch results.

Requests under the inline cap (20 MB for the whole create request) go inline; larger ones as a
JSONL file uploaded through the Files API. Media is referenced exactly as online: a Files API
URI from the delivery plan, or the bytes inline for small images. Results come back keyed
(``metadata.key`` inline, ``key`` per JSONL line) and are translated into BatchLine values, so
nothing above the provider ever sees an SDK type.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from google import genai
from google.genai import errors, types

from gemini_assets.core.contracts.calls import BatchJob, BatchLine, GenerateRequest, SubmittedBatch
from gemini_assets.core.gateway.gemini import wire

INLINE_LIMIT_BYTES = 20 * 1024 * 1024  # Gemini's cap on an inline batch create request
INLINE_MARGIN = 0.9  # the SDK's JSON framing and the URL-safe base64 add a little; stay clear

# The SDK keeps an inline line's error as JobError(code, message, details): no status name, so
# name it from the code as google.rpc does, for the same error_code values as online failures.
RPC_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def rest_request(request: GenerateRequest) -> dict[str, Any]:
    """The REST GenerateContentRequest of one item, as a JSONL line carries it (camelCase)."""
    media = request.media
    if media.file_uri:
        media_part: dict[str, Any] = {"fileData": {"fileUri": media.file_uri, "mimeType": media.mime_type}}
    else:
        data = base64.b64encode(media.data or b"").decode()
        media_part = {"inlineData": {"data": data, "mimeType": media.mime_type}}
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


def request_bytes(keyed: Mapping[str, GenerateRequest]) -> int:
    return sum(len(json.dumps({"key": k, "request": rest_request(r)})) + 1 for k, r in keyed.items())


def submit(
    client: genai.Client,
    model: str,
    keyed: Mapping[str, GenerateRequest],
    display_name: str,
    inline_limit_bytes: int = INLINE_LIMIT_BYTES,
) -> SubmittedBatch:
    size = request_bytes(keyed)
    src: Any
    if size < inline_limit_bytes * INLINE_MARGIN:
        src = [
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
    return SubmittedBatch(job.name or "", mode, input_file, size, job.create_time or datetime.now(UTC))


def batch_job(job: types.BatchJob) -> BatchJob:
    state = job.state.value if job.state is not None else "JOB_STATE_UNSPECIFIED"
    return BatchJob(job.name or "", job.display_name or "", state, job.create_time, job.end_time)


def find(client: genai.Client, display_name: str) -> BatchJob | None:
    for job in client.batches.list(config=types.ListBatchJobsConfig(page_size=100)):
        if job.display_name == display_name:
            return batch_job(job)
    return None


def get(client: genai.Client, name: str) -> BatchJob | None:
    """None only when the provider says the batch is not there (404); other errors propagate."""
    try:
        return batch_job(client.batches.get(name=name))
    except errors.ClientError as exc:
        if exc.code == 404:
            return None
        raise


def results(client: genai.Client, name: str) -> dict[str, BatchLine]:
    job = client.batches.get(name=name)
    dest = job.dest
    if dest is None:
        return {}
    found: dict[str, BatchLine] = {}
    if dest.inlined_responses is not None:
        for index, inlined in enumerate(dest.inlined_responses):
            key = str((inlined.metadata or {}).get("key", index))
            found[key] = _line(key, inlined.response, inlined.error.model_dump() if inlined.error else None)
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


def _line(key: str, response: types.GenerateContentResponse | None, error: dict[str, Any] | None) -> BatchLine:
    if error or response is None:
        error = error or {"message": "the line has neither a response nor an error"}
        code = int(error.get("code") or 0)
        status = error.get("status") or RPC_STATUS.get(code, "UNKNOWN")
        return BatchLine(
            key, error_code=code, error_status=str(status), error_message=str(error.get("message") or "")[:500]
        )
    return BatchLine(
        key,
        text=response.text,
        finish_reason=wire.finish_reason(response),
        block_reason=wire.block_reason(response),
        usage=wire.usage(response),
        response_id=response.response_id,
    )
