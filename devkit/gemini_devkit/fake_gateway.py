"""An in-memory ModelGateway for fast unit tests: no HTTP, no threads, fully scripted.

Answers come from a script (one entry per generate attempt: a FakeAnswer, or an HTTP error code
that becomes a failed attempt) and, when the script is empty, from a schema-conforming JSON
answer built by the emulator's own answer writer. Files and batches live in dicts. Every request
is kept in ``requests`` so a test can assert what was sent. The wire-level behaviour (retries
with real backoff, RetryInfo, timeouts) belongs to the Gemini provider and is tested against the
HTTP emulator instead.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO

from gemini_assets.core.contracts.calls import (
    Attempt,
    BatchJob,
    BatchLine,
    GenerateRequest,
    GenerateResult,
    RemoteFile,
    SubmittedBatch,
    UploadProgressCallback,
    Usage,
    in_flight,
)
from gemini_assets.core.contracts.enums import Backend, Provider
from gemini_assets.core.contracts.errors import ModelUnavailable
from gemini_devkit.emulator.answers import fill_schema
from gemini_devkit.emulator.prompt import Prompt

RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})
STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


@dataclass(frozen=True)
class FakeAnswer:
    text: str | None = None  # None: a JSON answer that fits the request's response schema
    finish_reason: str | None = "STOP"
    block_reason: str | None = None
    usage: Usage | None = None


Script = FakeAnswer | int  # an int is an HTTP error code for that attempt


@dataclass
class FakeGateway:
    script: Iterable[Script] = ()
    max_attempts: int = 3
    unavailable: bool = False  # True: every call raises ModelUnavailable (an open breaker)
    backend: Backend = Backend.EMULATOR
    provider: Provider = Provider.GEMINI
    requests: list[GenerateRequest] = field(default_factory=list)
    files: dict[str, tuple[RemoteFile, bytes]] = field(default_factory=dict)
    batches: dict[str, tuple[BatchJob, dict[str, GenerateRequest]]] = field(default_factory=dict)
    responder: Callable[[GenerateRequest], FakeAnswer] | None = None

    def __post_init__(self) -> None:
        self._script: deque[Script] = deque(self.script)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # ---- generateContent ---------------------------------------------------------------------
    def generate(self, request: GenerateRequest, first_attempt: int = 1) -> GenerateResult:
        attempts: list[Attempt] = []
        for number in range(first_attempt, first_attempt + self.max_attempts):
            if self.unavailable:
                raise ModelUnavailable(request.model, attempts)
            with self._lock:
                self.requests.append(request)
                entry = self._script.popleft() if self._script else None
            now = datetime.now(UTC)
            if request.journal is not None:
                request.journal.started(in_flight(number, now, request.purpose))
            if isinstance(entry, int):
                error = STATUS.get(entry, "UNKNOWN")
                attempts.append(
                    Attempt(
                        attempt=number,
                        started_at=now,
                        latency_ms=1.0,
                        status_code=entry,
                        error_code=error,
                        error_message=f"scripted {entry}",
                        purpose=request.purpose,
                    )
                )
                _journal(request, attempts[-1])
                if entry in RETRYABLE:
                    continue
                return GenerateResult(None, None, None, attempts)
            answer = self._answer(request, entry)
            attempts.append(
                Attempt(
                    attempt=number,
                    started_at=now,
                    latency_ms=1.0,
                    status_code=200,
                    usage=answer.usage or _usage(request, answer.text or ""),
                    response_id=f"fake-{next(self._ids)}",
                    purpose=request.purpose,
                )
            )
            _journal(request, attempts[-1])
            return GenerateResult(answer.text, answer.finish_reason, answer.block_reason, attempts)
        return GenerateResult(None, None, None, attempts)

    def _answer(self, request: GenerateRequest, entry: FakeAnswer | None) -> FakeAnswer:
        if entry is None and self.responder is not None:
            entry = self.responder(request)
        entry = entry or FakeAnswer()
        if entry.text is None and entry.finish_reason == "STOP" and entry.block_reason is None:
            prompt = Prompt(
                texts=[request.user_text, *(t for _, t in request.history)], system_texts=[request.system_prompt]
            )
            return FakeAnswer(json.dumps(fill_schema(prompt, request.response_schema)), "STOP", None, entry.usage)
        return entry

    # ---- Files API ---------------------------------------------------------------------------
    def upload(
        self,
        stream: IO[bytes],
        mime_type: str,
        display_name: str,
        progress: UploadProgressCallback | None = None,
    ) -> RemoteFile:
        data = stream.read()
        name = f"files/fake{next(self._ids)}"
        expires = datetime.now(UTC) + timedelta(hours=48)
        remote = RemoteFile(
            name,
            f"https://fake.invalid/{name}",
            "ACTIVE",
            mime_type,
            len(data),
            expires,
            bytes_sent=len(data),
            sessions=1,
        )
        self.files[name] = (remote, data)
        return remote

    def get_file(self, name: str) -> RemoteFile | None:
        found = self.files.get(name)
        return found[0] if found else None

    def delete_file(self, name: str) -> bool:
        return self.files.pop(name, None) is not None

    # ---- Batch API: done as soon as submitted ----------------------------------------------------
    def submit_batch(
        self, model: str, requests: Mapping[str, GenerateRequest], display_name: str, inline_limit_bytes: int
    ) -> SubmittedBatch:
        name = f"batches/fake{next(self._ids)}"
        now = datetime.now(UTC)
        self.batches[name] = (BatchJob(name, display_name, "JOB_STATE_SUCCEEDED", now, now), dict(requests))
        return SubmittedBatch(name, "inline", None, 0, now)

    def find_batch(self, display_name: str) -> BatchJob | None:
        return next((job for job, _ in self.batches.values() if job.display_name == display_name), None)

    def get_batch(self, name: str) -> BatchJob | None:
        found = self.batches.get(name)
        return found[0] if found else None

    def batch_results(self, name: str) -> dict[str, BatchLine]:
        lines = {}
        for key, request in self.batches[name][1].items():
            answer = self._answer(request, None)
            usage = _usage(request, answer.text or "")
            lines[key] = BatchLine(key, answer.text, answer.finish_reason, answer.block_reason, usage, f"fake-{key}")
        return lines

    # ---- housekeeping --------------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        return text

    def breakers_opened(self) -> dict[str, int]:
        return {}

    def learned_limits(self) -> dict[str, int]:
        return {}

    def close(self) -> None:
        pass


def _usage(request: GenerateRequest, answer: str) -> Usage:
    text = (len(request.system_prompt) + len(request.user_text)) // 4
    media = 258
    return Usage(
        input_tokens=text + media, output_tokens=max(1, len(answer) // 4), by_modality={"text": text, "image": media}
    )


def _journal(request: GenerateRequest, attempt: Attempt) -> None:
    """As the real gateway does: the caller's journal sees each outcome before the next attempt."""
    if request.journal is not None:
        request.journal.finished(attempt)
