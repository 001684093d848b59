"""Translate between our gateway types and google-genai's request/response/error objects."""

from __future__ import annotations

import re
from typing import Any

from google.genai import errors, types

from gemini_assets.core.contracts.calls import GenerateRequest, RemoteFile, Usage
from gemini_assets.core.gateway.calling import QuotaHint


def contents(request: GenerateRequest) -> list[types.Content]:
    media = request.media
    if media.file_uri:
        media_part = types.Part.from_uri(file_uri=media.file_uri, mime_type=media.mime_type)
    else:
        media_part = types.Part.from_bytes(data=media.data or b"", mime_type=media.mime_type)
    contents = [types.Content(role="user", parts=[media_part, types.Part.from_text(text=request.user_text)])]
    for role, text in request.history:
        contents.append(types.Content(role=role, parts=[types.Part.from_text(text=text)]))
    return contents


def config(request: GenerateRequest) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        system_instruction=request.system_prompt,
        response_mime_type="application/json",
        response_json_schema=request.response_schema,
        max_output_tokens=request.max_output_tokens,
        temperature=request.temperature,
    )


def usage(response: types.GenerateContentResponse) -> Usage:
    meta = response.usage_metadata
    if meta is None:
        return Usage()
    by_modality: dict[str, int] = {}
    for detail in meta.prompt_tokens_details or []:
        name = (detail.modality.value if detail.modality else "TEXT").lower()
        by_modality[name] = by_modality.get(name, 0) + int(detail.token_count or 0)
    return Usage(
        input_tokens=int(meta.prompt_token_count or 0),
        output_tokens=int(meta.candidates_token_count or 0),
        thinking_tokens=int(meta.thoughts_token_count or 0),
        cached_tokens=int(meta.cached_content_token_count or 0),
        by_modality=by_modality,
    )


def finish_reason(response: types.GenerateContentResponse) -> str | None:
    if not response.candidates:
        return None
    reason = response.candidates[0].finish_reason
    return reason.value if reason is not None else None


def block_reason(response: types.GenerateContentResponse) -> str | None:
    feedback = response.prompt_feedback
    if feedback is None or feedback.block_reason is None:
        return None
    return feedback.block_reason.value


_DURATION = re.compile(r"^([0-9.]+)s$")


def server_retry_delay(exc: errors.APIError) -> float | None:
    """Seconds from RetryInfo.retryDelay in the error body, else the Retry-After header."""
    details: Any = exc.details if isinstance(exc.details, dict) else {}
    for item in (details.get("error") or {}).get("details") or []:
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("RetryInfo"):
            match = _DURATION.match(str(item.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    response = getattr(exc, "response", None)
    header = getattr(response, "headers", {}).get("retry-after") if response is not None else None
    try:
        return float(header) if header else None
    except ValueError:
        return None


def quota_hint(exc: errors.APIError) -> QuotaHint | None:
    """The quota a 429 hit, from QuotaFailure: its quotaId names the dimension
    (GenerateRequestsPerMinute..., ...InputTokensPerMinute..., ...PerDay...) and quotaValue the limit."""
    details: Any = exc.details if isinstance(exc.details, dict) else {}
    for item in (details.get("error") or {}).get("details") or []:
        if not (isinstance(item, dict) and str(item.get("@type", "")).endswith("QuotaFailure")):
            continue
        for violation in item.get("violations") or []:
            quota_id = str(violation.get("quotaId", ""))
            dimension = "rpd" if "PerDay" in quota_id else "tpm" if "Token" in quota_id else "rpm"
            value = str(violation.get("quotaValue", ""))
            return QuotaHint(dimension, int(value) if value.isdigit() else None)
    return None


def remote_file(remote: types.File, mime_type: str) -> RemoteFile:
    error = None
    if remote.error is not None:
        error = f"{remote.error.code or ''} {remote.error.message or ''}".strip()
    return RemoteFile(
        name=remote.name or "",
        uri=remote.uri or "",
        state=str(remote.state.value if remote.state else "STATE_UNSPECIFIED"),
        mime_type=remote.mime_type or mime_type,
        size_bytes=int(remote.size_bytes or 0),
        expires_at=remote.expiration_time,
        error=error,
    )
