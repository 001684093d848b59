"""The Gemini provider behind ModelGateway, on the google-genai SDK over HTTP.

The SDK's own retry is off by default and ignores RetryInfo, so retries live here and every
attempt is recorded: the client quota is taken before each attempt (ratelimit.py), a 429 waits
what the server's RetryInfo/Retry-After says, 5xx/408, connection errors and timeouts back off
exponentially with full jitter, attempts are bounded, every request has a timeout, and a
per-model circuit breaker stops calling a failing model.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import IO

import httpx2
from google import genai
from google.genai import errors, types

from gemini_assets.core.contracts.calls import (
    Attempt,
    BatchJob,
    BatchLine,
    GenerateRequest,
    GenerateResult,
    RemoteFile,
    SubmittedBatch,
    UploadProgressCallback,
    in_flight,
)
from gemini_assets.core.contracts.enums import Backend, Provider
from gemini_assets.core.contracts.errors import ModelUnavailable, QuotaWaitExceeded
from gemini_assets.core.gateway.breaker import CircuitBreaker
from gemini_assets.core.gateway.estimate import TokenEstimator
from gemini_assets.core.gateway.gemini import batch, wire
from gemini_assets.core.gateway.gemini.resumable import ResumableUploader, UploadSettings
from gemini_assets.core.gateway.ratelimit import Admission, QuotaLimiter

RETRYABLE_CODES = frozenset({408, 429, 500, 502, 503, 504})
# Answers that say the service is unwell (count towards the breaker); 429 and other 4xx do not.
UNHEALTHY_CODES = frozenset({408, 500, 502, 503, 504})
TRANSPORT_ERRORS = (httpx2.TimeoutException, httpx2.TransportError, TimeoutError, ConnectionError)


@dataclass(frozen=True)
class RetrySettings:
    max_attempts: int = 4
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    timeout_s: float = 120.0
    max_retry_delay_s: float = 120.0  # refuse to sleep longer than this on a server hint
    max_quota_wait_s: float = 600.0  # longest wait for the client-side quota before giving up
    breaker_failures: int = 5  # consecutive unhealthy answers that open the breaker
    breaker_reset_s: float = 60.0  # open → half-open (one probe) after this long
    file_poll_max_s: float = 300.0  # longest wait for an upload to leave PROCESSING


class GeminiGateway:
    provider = Provider.GEMINI

    def __init__(
        self,
        api_key: str,
        base_url: str | None,
        retry: RetrySettings | None = None,
        limiter: QuotaLimiter | None = None,
        backend: Backend = Backend.GEMINI,
        upload: UploadSettings | None = None,
    ):
        self.backend = backend
        self.retry = retry or RetrySettings()
        upload = upload or UploadSettings(
            initial_backoff_s=self.retry.initial_backoff_s, max_backoff_s=self.retry.max_backoff_s
        )
        self.uploader = ResumableUploader(base_url, "v1beta", api_key, upload)
        self.limiter = limiter
        self.estimator = TokenEstimator()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._secret = api_key
        # retry_options stays unset: the SDK's retry is off, each attempt is ours and visible.
        options = types.HttpOptions(base_url=base_url, api_version="v1beta", timeout=int(self.retry.timeout_s * 1000))
        self.client = genai.Client(api_key=api_key, http_options=options)

    def close(self) -> None:
        self.client.close()
        self.uploader.close()
        if self.limiter is not None:
            self.limiter.close()

    def scrub(self, text: str) -> str:
        """Errors are stored in tables: make sure the key can never ride along."""
        return text.replace(self._secret, "[redacted]") if self._secret else text

    def breaker(self, model: str) -> CircuitBreaker:
        return self._breakers.setdefault(model, CircuitBreaker(self.retry.breaker_failures, self.retry.breaker_reset_s))

    def breakers_opened(self) -> dict[str, int]:
        return {model: b.times_opened for model, b in self._breakers.items() if b.times_opened}

    # ---- Files API ---------------------------------------------------------------------------
    def upload(
        self,
        stream: IO[bytes],
        mime_type: str,
        display_name: str,
        progress: UploadProgressCallback | None = None,
    ) -> RemoteFile:
        """Resumable upload (resumable.py: the SDK's own cannot resume), then the SDK polls it."""
        outcome = self.uploader.upload(stream, mime_type, display_name, progress)
        uploaded = types.File.model_validate(outcome.file)
        remote = wire.remote_file(self._wait_processed(uploaded), mime_type)
        return replace(remote, bytes_sent=outcome.bytes_sent, resumes=outcome.resumes, sessions=outcome.sessions)

    def _wait_processed(self, remote: types.File) -> types.File:
        """Poll PROCESSING with exponential backoff until ACTIVE or FAILED (or the wait is over)."""
        deadline, delay = time.monotonic() + self.retry.file_poll_max_s, 0.2
        while remote.state == types.FileState.PROCESSING and time.monotonic() < deadline and remote.name:
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 10.0)
            remote = self.client.files.get(name=remote.name)
        return remote

    def get_file(self, name: str) -> RemoteFile | None:
        try:
            remote = self.client.files.get(name=name)
        except errors.APIError:
            return None  # unknown or expired: the real API answers 403
        return wire.remote_file(remote, remote.mime_type or "")

    def delete_file(self, name: str) -> bool:
        try:
            self.client.files.delete(name=name)
        except (errors.APIError, *TRANSPORT_ERRORS):
            return False
        return True

    # ---- Batch API ---------------------------------------------------------------------------
    def submit_batch(
        self, model: str, requests: Mapping[str, GenerateRequest], display_name: str, inline_limit_bytes: int
    ) -> SubmittedBatch:
        return batch.submit(self.client, model, requests, display_name, inline_limit_bytes)

    def find_batch(self, display_name: str) -> BatchJob | None:
        return batch.find(self.client, display_name)

    def get_batch(self, name: str) -> BatchJob | None:
        return batch.get(self.client, name)

    def batch_results(self, name: str) -> dict[str, BatchLine]:
        lines = batch.results(self.client, name)
        return {
            key: replace(line, error_message=self.scrub(line.error_message)) if line.error_message else line
            for key, line in lines.items()
        }

    # ---- generateContent ---------------------------------------------------------------------
    def generate(self, request: GenerateRequest, first_attempt: int = 1) -> GenerateResult:
        attempts: list[Attempt] = []
        breaker = self.breaker(request.model)
        last_number = first_attempt + self.retry.max_attempts - 1
        for number in range(first_attempt, last_number + 1):
            if not breaker.allow():
                raise ModelUnavailable(request.model, attempts)
            admission = self._admit(request, attempts)
            started, clock = datetime.now(UTC), time.perf_counter()
            if request.journal is not None:  # on record before it is sent: a crash mid-call is not lost
                request.journal.started(in_flight(number, started, request.purpose))
            try:
                response = self.client.models.generate_content(
                    model=request.model, contents=wire.contents(request), config=wire.config(request)
                )
            except errors.APIError as exc:
                code = int(exc.code or 0)
                attempts.append(self._failed(request, number, started, clock, code, exc.status, exc.message, admission))
                _journal(request, attempts[-1])
                if code in UNHEALTHY_CODES:
                    breaker.record_failure()
                else:
                    breaker.record_neutral()
                if code not in RETRYABLE_CODES or number == last_number:
                    break
                hint = wire.server_retry_delay(exc) if code == 429 else None
                time.sleep(self._delay(number - first_attempt, hint))
                continue
            except TRANSPORT_ERRORS as exc:
                attempts.append(
                    self._failed(request, number, started, clock, 0, type(exc).__name__, str(exc), admission)
                )
                _journal(request, attempts[-1])
                breaker.record_failure()
                if number == last_number:
                    break
                time.sleep(self._delay(number - first_attempt, None))
                continue
            breaker.record_success()
            latency = (time.perf_counter() - clock) * 1000
            usage = wire.usage(response)
            if usage.input_tokens:
                self.estimator.observe(request, usage.input_tokens)
            attempt = Attempt(
                attempt=number,
                started_at=started,
                latency_ms=latency,
                status_code=200,
                usage=usage,
                response_id=response.response_id,
                purpose=request.purpose,
            )
            attempts.append(_with_admission(attempt, admission))
            _journal(request, attempts[-1])
            return GenerateResult(response.text, wire.finish_reason(response), wire.block_reason(response), attempts)
        return GenerateResult(None, None, None, attempts)

    def _admit(self, request: GenerateRequest, attempts: list[Attempt]) -> Admission | None:
        if self.limiter is None:
            return None
        try:
            return self.limiter.acquire(request.model, self.estimator.estimate(request), self.retry.max_quota_wait_s)
        except QuotaWaitExceeded as exc:
            raise QuotaWaitExceeded(request.model, exc.dimension, exc.waited_s, attempts) from exc

    def _failed(
        self,
        request: GenerateRequest,
        number: int,
        started: datetime,
        clock: float,
        code: int,
        status: object,
        message: object,
        admission: Admission | None,
    ) -> Attempt:
        attempt = Attempt(
            attempt=number,
            started_at=started,
            latency_ms=(time.perf_counter() - clock) * 1000,
            status_code=code,
            error_code=str(status or ""),
            error_message=self.scrub(str(message or ""))[:500],
            purpose=request.purpose,
        )
        return _with_admission(attempt, admission)

    def _delay(self, retry_index: int, server_hint: float | None) -> float:
        if server_hint is not None:
            # The server knows when its window frees up; a little jitter spreads the herd.
            return min(server_hint, self.retry.max_retry_delay_s) + random.uniform(0, 0.1)  # noqa: S311
        ceiling = min(self.retry.max_backoff_s, self.retry.initial_backoff_s * 2**retry_index)
        return random.uniform(0, ceiling)  # noqa: S311 - full jitter, not security


def _journal(request: GenerateRequest, attempt: Attempt) -> None:
    """Hand the outcome to the caller's journal before anything else happens (a retry, a crash)."""
    if request.journal is not None:
        request.journal.finished(attempt)


def _with_admission(attempt: Attempt, admission: Admission | None) -> Attempt:
    if admission is not None:
        attempt.rpm_used, attempt.tpm_used, attempt.rpd_used = (
            admission.rpm_used,
            admission.tpm_used,
            admission.rpd_used,
        )
    return attempt
