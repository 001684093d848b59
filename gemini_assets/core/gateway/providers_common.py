"""What the OpenAI and Anthropic gateways share: headers, schemas, media as inline parts.

Neither provider has Gemini's Files API, so media always travels inline as base64 (the sanitized
copy, as for Gemini); audio and video stay Gemini-only (capabilities in the routing file).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from typing import IO, Any

from gemini_assets.core.contracts.calls import BatchJob, BatchLine, GenerateRequest, RemoteFile, SubmittedBatch
from gemini_assets.core.contracts.errors import GatewayError
from gemini_assets.core.gateway.calling import Failure, QuotaHint, RateLimitState
from gemini_assets.core.gateway.provider_media import AUDIO_FORMATS

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
PDF = "application/pdf"


class MediaNotSupported(GatewayError):
    """The provider cannot take this media (kind, type, or a Files API reference)."""


def inline_media(request: GenerateRequest, provider: str, audio: bool = False) -> tuple[str, str]:
    """(mime type, base64 data) of the request's media, or MediaNotSupported.
    ``audio``: the API takes WAV and MP3 inline too (OpenAI's ``input_audio``, audio models only)."""
    media = request.media
    if media.file_uri or media.data is None:
        raise MediaNotSupported(f"{provider} takes media inline only, not a Files API reference ({media.mime_type})")
    allowed = media.mime_type in IMAGE_TYPES or media.mime_type == PDF or (audio and media.mime_type in AUDIO_FORMATS)
    if not allowed:
        kinds = "images, PDFs, WAV and MP3" if audio else "images and PDFs only"
        raise MediaNotSupported(f"{provider} does not take {media.mime_type} ({kinds})")
    return media.mime_type, base64.b64encode(media.data).decode()


def conversation(request: GenerateRequest) -> list[tuple[str, str]]:
    """Earlier turns as (role, text) in the OpenAI/Anthropic vocabulary (Gemini says "model")."""
    return [("assistant" if role == "model" else "user", text) for role, text in request.history]


def strict_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """OpenAI's strict mode: every object closed and every property required (optional ones
    become nullable). Our task schemas already are; this keeps a future optional field legal."""
    result = copy.deepcopy(dict(schema))
    _close(result)
    return result


def _close(node: Any) -> None:
    if isinstance(node, dict):
        kinds = node.get("type")
        is_object = kinds == "object" or (isinstance(kinds, list) and "object" in kinds)
        if is_object and isinstance(node.get("properties"), dict):
            properties = node["properties"]
            required = set(node.get("required", []))
            for name, spec in properties.items():
                if name not in required and isinstance(spec, dict) and "type" in spec:
                    spec["type"] = [spec["type"], "null"] if isinstance(spec["type"], str) else spec["type"]
            node["required"] = list(properties)
            node["additionalProperties"] = False
        for value in node.values():
            _close(value)
    elif isinstance(node, list):
        for value in node:
            _close(value)


def retry_after_s(headers: Mapping[str, str] | None) -> float | None:
    """The server's wait hint: ``retry-after-ms`` (OpenAI) first, then ``retry-after`` seconds."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            continue  # an HTTP date: rare for these APIs; back off instead
    return None


def rate_limits(headers: Mapping[str, str] | None, requests: str, tokens: str) -> RateLimitState | None:
    if not headers:
        return None
    state = RateLimitState(_int(headers.get(requests)), _int(headers.get(tokens)))
    return state if state != RateLimitState() else None


def status_failure(
    code: int, status: str, message: str, headers: Mapping[str, str], remaining: tuple[str, str]
) -> Failure:
    """A failed answer with the server's wait hint, its rate-limit state and, on a 429, the real
    request quota (OpenAI's x-ratelimit-limit-requests, Anthropic's
    anthropic-ratelimit-requests-limit: the remaining-requests header's name with "limit")."""
    quota = None
    if code == 429:
        quota = QuotaHint("rpm", _int(headers.get(remaining[0].replace("remaining", "limit"))) if headers else None)
    return Failure(code, status, message, retry_after_s(headers), rate_limits(headers, *remaining), quota)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class ProviderWithoutFiles:
    """The Files and Batch APIs are Gemini's: routing plans inline delivery and online calls for
    every other provider, so reaching these is a planning bug, said plainly."""

    provider: Any
    client: Any  # the provider's SDK client
    limiter: Any

    def close(self) -> None:
        self.client.close()
        if self.limiter is not None:
            self.limiter.close()

    def _absent(self, what: str) -> GatewayError:
        return GatewayError(f"{what} is used with Gemini only; {self.provider} items are sent inline and online")

    def upload(self, stream: IO[bytes], mime_type: str, display_name: str, progress: Any = None) -> RemoteFile:
        raise self._absent("the Files API")

    def get_file(self, name: str) -> RemoteFile | None:
        return None

    def delete_file(self, name: str) -> bool:
        return False

    def submit_batch(
        self, model: str, requests: Mapping[str, GenerateRequest], display_name: str, inline_limit_bytes: int
    ) -> SubmittedBatch:
        raise self._absent("the Batch API")

    def find_batch(self, display_name: str) -> BatchJob | None:
        return None

    def get_batch(self, name: str) -> BatchJob | None:
        return None

    def batch_results(self, name: str) -> dict[str, BatchLine]:
        raise self._absent("the Batch API")
