"""The Gemini provider behind ModelGateway, on the google-genai SDK over HTTP.

The SDK's own retry is off by default and ignores RetryInfo (notes/gemini-api.md §1e), so
retries live here: bounded attempts, the server's retry delay honoured, exponential backoff
with jitter otherwise, and every request under a timeout. Each attempt is recorded.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import IO, Any

import httpx2
from google import genai
from google.genai import errors, types

from gemini_assets.core.gateway.base import (
    Attempt,
    GenerateRequest,
    GenerateResult,
    RemoteFile,
    Usage,
)

RETRYABLE_CODES = frozenset({408, 429, 500, 502, 503, 504})
TRANSPORT_ERRORS = (httpx2.TimeoutException, httpx2.TransportError, TimeoutError, ConnectionError)


@dataclass(frozen=True)
class RetrySettings:
    max_attempts: int = 4
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    timeout_s: float = 120.0
    max_retry_delay_s: float = 120.0  # refuse to sleep longer than this on a server hint


class GeminiGateway:
    def __init__(self, api_key: str, base_url: str | None, retry: RetrySettings | None = None):
        self.retry = retry or RetrySettings()
        self._secret = api_key
        options = types.HttpOptions(
            base_url=base_url, api_version="v1beta", timeout=int(self.retry.timeout_s * 1000)
        )
        self.client = genai.Client(api_key=api_key, http_options=options)

    def close(self) -> None:
        self.client.close()

    def scrub(self, text: str) -> str:
        """Errors are stored in tables: make sure the key can never ride along."""
        return text.replace(self._secret, "[redacted]") if self._secret else text

    def upload(self, stream: IO[bytes], mime_type: str, display_name: str) -> RemoteFile:
        uploaded = self.client.files.upload(
            file=stream, config=types.UploadFileConfig(mime_type=mime_type, display_name=display_name)
        )
        uploaded = self._wait_active(uploaded)
        return RemoteFile(
            name=uploaded.name or "",
            uri=uploaded.uri or "",
            state=str(uploaded.state.value if uploaded.state else "STATE_UNSPECIFIED"),
            mime_type=uploaded.mime_type or mime_type,
            size_bytes=int(uploaded.size_bytes or 0),
            expires_at=uploaded.expiration_time,
        )

    def _wait_active(self, remote: types.File, max_wait_s: float = 300.0) -> types.File:
        deadline, delay = time.monotonic() + max_wait_s, 0.5
        while remote.state == types.FileState.PROCESSING and time.monotonic() < deadline:
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
            remote = self.client.files.get(name=remote.name)
        return remote

    def generate(self, request: GenerateRequest, first_attempt: int = 1) -> GenerateResult:
        attempts: list[Attempt] = []
        for number in range(first_attempt, first_attempt + self.retry.max_attempts):
            started, clock = datetime.now(timezone.utc), time.perf_counter()
            try:
                response = self.client.models.generate_content(
                    model=request.model, contents=_contents(request), config=_config(request)
                )
            except errors.APIError as exc:
                attempts.append(self._failed(number, started, clock, exc.code or 0, exc.status, exc.message))
                if exc.code not in RETRYABLE_CODES or number == first_attempt + self.retry.max_attempts - 1:
                    break
                time.sleep(self._delay(number - first_attempt, _server_retry_delay(exc)))
                continue
            except TRANSPORT_ERRORS as exc:
                attempts.append(self._failed(number, started, clock, 0, type(exc).__name__, str(exc)))
                if number == first_attempt + self.retry.max_attempts - 1:
                    break
                time.sleep(self._delay(number - first_attempt, None))
                continue
            latency = (time.perf_counter() - clock) * 1000
            attempts.append(
                Attempt(number, started, latency, 200, usage=_usage(response), response_id=response.response_id)
            )
            return GenerateResult(response.text, _finish_reason(response), _block_reason(response), attempts)
        return GenerateResult(None, None, None, attempts)

    def _failed(self, number, started, clock, code, status, message) -> Attempt:
        latency = (time.perf_counter() - clock) * 1000
        return Attempt(number, started, latency, int(code), str(status or ""), self.scrub(str(message or ""))[:500])

    def _delay(self, retry_index: int, server_hint: float | None) -> float:
        if server_hint is not None:
            return min(server_hint, self.retry.max_retry_delay_s)
        ceiling = min(self.retry.max_backoff_s, self.retry.initial_backoff_s * 2**retry_index)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security


def _contents(request: GenerateRequest) -> list[types.Content]:
    media = request.media
    if media.file_uri:
        media_part = types.Part.from_uri(file_uri=media.file_uri, mime_type=media.mime_type)
    else:
        media_part = types.Part.from_bytes(data=media.data or b"", mime_type=media.mime_type)
    contents = [types.Content(role="user", parts=[media_part, types.Part.from_text(text=request.user_text)])]
    for role, text in request.history:
        contents.append(types.Content(role=role, parts=[types.Part.from_text(text=text)]))
    return contents


def _config(request: GenerateRequest) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        system_instruction=request.system_prompt,
        response_mime_type="application/json",
        response_json_schema=request.response_schema,
        max_output_tokens=request.max_output_tokens,
        temperature=0.0,
    )


def _usage(response: types.GenerateContentResponse) -> Usage:
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


def _finish_reason(response: types.GenerateContentResponse) -> str | None:
    if not response.candidates:
        return None
    reason = response.candidates[0].finish_reason
    return reason.value if reason is not None else None


def _block_reason(response: types.GenerateContentResponse) -> str | None:
    feedback = response.prompt_feedback
    if feedback is None or feedback.block_reason is None:
        return None
    return feedback.block_reason.value


_DURATION = re.compile(r"^([0-9.]+)s$")


def _server_retry_delay(exc: errors.APIError) -> float | None:
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


def expiry_or_default(expires_at: datetime | None) -> datetime:
    return expires_at or datetime.now(timezone.utc) + timedelta(hours=48)
