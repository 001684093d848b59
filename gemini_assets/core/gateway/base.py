"""The one interface business logic uses to reach a model, whatever the provider or backend.

Stages depend on ``ModelGateway`` only: the Gemini provider (gateway/gemini/) implements it over
the google-genai SDK, the devkit's FakeGateway in memory. Swapping a model or a provider never
touches a stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Protocol

from gemini_assets.core.contracts.calls import (
    BatchJob,
    BatchLine,
    GenerateRequest,
    GenerateResult,
    RemoteFile,
    SubmittedBatch,
    UploadProgressCallback,
)
from gemini_assets.core.contracts.enums import Backend, Provider


class ModelGateway(Protocol):
    """``generate`` never raises for an API answer: failures are attempts in the result. It
    raises ``CallAbandoned`` (ModelUnavailable: breaker open; QuotaWaitExceeded: the client quota
    would not admit the call in time), carrying the attempts already made."""

    backend: Backend
    provider: Provider

    def generate(self, request: GenerateRequest, first_attempt: int = 1) -> GenerateResult: ...

    # ---- Files API: only providers with one; others never get a files_api delivery plan ----
    def upload(
        self,
        stream: IO[bytes],
        mime_type: str,
        display_name: str,
        progress: UploadProgressCallback | None = None,
    ) -> RemoteFile:
        """Stream ``stream`` to the provider; ``progress`` hears about large uploads now and then."""
        ...

    def get_file(self, name: str) -> RemoteFile | None: ...

    def delete_file(self, name: str) -> bool: ...

    # ---- Batch API -----------------------------------------------------------------------------
    def submit_batch(
        self, model: str, requests: Mapping[str, GenerateRequest], display_name: str, inline_limit_bytes: int
    ) -> SubmittedBatch: ...

    def find_batch(self, display_name: str) -> BatchJob | None:
        """A batch created earlier under this display name (a crash after create, before it was recorded)."""
        ...

    def get_batch(self, name: str) -> BatchJob | None:
        """The batch's current state; None when the provider no longer has it."""
        ...

    def batch_results(self, name: str) -> dict[str, BatchLine]:
        """Lines of a finished batch by request key."""
        ...

    # ---- housekeeping --------------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        """Remove secrets from text that will be stored (error messages)."""
        ...

    def breakers_opened(self) -> dict[str, int]:
        """How often each model's circuit breaker opened during this gateway's life."""
        ...

    def learned_limits(self) -> dict[str, int]:
        """Quotas learned from the provider's 429s below the configured ones ('<model> rpm' -> limit)."""
        ...

    def close(self) -> None: ...
