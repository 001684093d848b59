"""The one interface business logic uses to reach a model, whatever the provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Protocol

MODALITIES = ("text", "image", "audio", "video", "document")


@dataclass(frozen=True)
class MediaRef:
    """Media for one request: inline bytes or a provider file URI."""

    mime_type: str
    data: bytes | None = None
    file_uri: str | None = None
    # What the limiter needs to estimate tokens before the call (unknown = None).
    size_bytes: int | None = None
    duration_s: float | None = None
    pages: int | None = None


@dataclass(frozen=True)
class GenerateRequest:
    model: str
    system_prompt: str
    user_text: str
    media: MediaRef
    response_schema: dict[str, Any]
    max_output_tokens: int
    # Earlier turns (used by the repair retry); the request always ends on a user turn.
    history: tuple[tuple[str, str], ...] = ()


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0
    cached_tokens: int = 0
    by_modality: dict[str, int] = field(default_factory=dict)

    def as_columns(self) -> dict[str, int]:
        cols = {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "thinking_tokens": self.thinking_tokens,
            "cached_tokens": self.cached_tokens,
        }
        for modality in MODALITIES:
            cols[f"{modality}_input_tokens"] = self.by_modality.get(modality, 0)
        return cols


@dataclass
class Attempt:
    """One HTTP request to the model, successful or not (a call_ledger row)."""

    attempt: int
    started_at: datetime
    latency_ms: float
    status_code: int
    error_code: str | None = None
    error_message: str | None = None
    usage: Usage | None = None
    response_id: str | None = None
    purpose: str = "generate"  # generate | repair
    service_tier: str = "standard"  # standard | batch (a Batch API line: billed at the batch rate)
    # Client-side limiter usage observed when the call was admitted (None without a limiter).
    rpm_used: int | None = None
    tpm_used: int | None = None
    rpd_used: int | None = None

    @property
    def ok(self) -> bool:
        return self.status_code == 200


@dataclass
class GenerateResult:
    text: str | None
    finish_reason: str | None
    block_reason: str | None
    attempts: list[Attempt]

    @property
    def ok(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].ok

    @property
    def last(self) -> Attempt:
        return self.attempts[-1]


@dataclass(frozen=True)
class RemoteFile:
    name: str
    uri: str
    state: str
    mime_type: str
    size_bytes: int
    expires_at: datetime | None
    error: str | None = None  # why processing FAILED


class ModelGateway(Protocol):
    """generate() never raises for an API answer; it raises ModelUnavailable (breaker open) or
    QuotaWaitExceeded (client quota would not admit the call in time), both carrying the
    attempts already made."""

    def generate(self, request: GenerateRequest, first_attempt: int = 1) -> GenerateResult: ...

    def upload(self, stream: IO[bytes], mime_type: str, display_name: str) -> RemoteFile: ...

    def get_file(self, name: str) -> RemoteFile | None: ...

    def delete_file(self, name: str) -> bool: ...

    def close(self) -> None: ...
