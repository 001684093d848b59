"""One retry loop for every provider: quota, breaker, journal, backoff, one Attempt per HTTP request.

Each provider's SDK has its own retry, which is off everywhere (``max_retries=0``, no
``retry_options``) so that every attempt is ours and visible: the client quota is taken before
each attempt (ratelimit.py), the write-ahead journal hears of it before it is sent and when it
ends, a 429 waits what the server says (RetryInfo, ``retry-after-ms``, ``retry-after``),
408/5xx/529, connection errors and timeouts back off exponentially with full jitter, attempts are
bounded, and a per-model circuit breaker stops calling a failing model. A provider only says how
to send one request (``ProviderWire.send``) and what a failure was (``ProviderWire.failure``).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from gemini_assets.core.contracts.calls import Attempt, GenerateRequest, GenerateResult, Usage, in_flight
from gemini_assets.core.contracts.errors import CallCancelled, ModelUnavailable, QuotaExhausted, QuotaWaitExceeded
from gemini_assets.core.gateway import stopping
from gemini_assets.core.gateway.breaker import CircuitBreaker
from gemini_assets.core.gateway.breaker_board import breaker_board
from gemini_assets.core.gateway.estimate import TokenEstimator
from gemini_assets.core.gateway.ratelimit import Admission, QuotaLimiter

# 529: Anthropic's "overloaded"; like 503 it is worth another try and says the service is unwell.
RETRYABLE_CODES = frozenset({408, 429, 500, 502, 503, 504, 529})
# Answers that say the service is unwell (count towards the breaker); 429 and other 4xx do not.
UNHEALTHY_CODES = frozenset({408, 500, 502, 503, 504, 529})


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


@dataclass(frozen=True)
class RateLimitState:
    """What the provider's rate-limit headers said with an answer (None where it says nothing)."""

    remaining_requests: int | None = None
    remaining_tokens: int | None = None


@dataclass(frozen=True)
class Answer:
    """One successful response, in our terms: the text and why generation stopped."""

    text: str | None
    finish_reason: str | None  # Gemini's vocabulary: STOP, MAX_TOKENS, SAFETY ... (reasons.py)
    block_reason: str | None
    usage: Usage
    response_id: str | None
    rate_limits: RateLimitState | None = None


@dataclass(frozen=True)
class QuotaHint:
    """What a 429 says about the quota it hit: the dimension (rpm, tpm, rpd) and, when the
    provider tells it (Gemini's QuotaFailure.quotaValue, the *-limit-requests headers), its limit."""

    dimension: str
    limit: int | None = None


@dataclass(frozen=True)
class Failure:
    """One failed request: the HTTP status (0 = no answer), the provider's status and message."""

    code: int
    status: str
    message: str
    retry_after_s: float | None = None  # the server's own hint, honoured on 429 (and 529/503 if given)
    rate_limits: RateLimitState | None = None
    quota: QuotaHint | None = None  # on a 429: which quota, and its real size if the server said


class ProviderWire(Protocol):
    def send(self, request: GenerateRequest) -> Answer:
        """One HTTP request, no retry; raises the SDK's own errors."""
        ...

    def failure(self, exc: Exception) -> Failure | None:
        """What ``exc`` says about the request, or None when it is not an API or transport error."""
        ...


class CallingGateway:
    """The shared half of every provider's gateway: retries, breakers, quota, journal."""

    def __init__(self, wire: ProviderWire, retry: RetrySettings, limiter: QuotaLimiter | None, secret: str):
        self.wire, self.retry, self.limiter = wire, retry, limiter
        self.estimator = TokenEstimator()
        self._breakers: dict[str, CircuitBreaker] = {}
        # Breakers are shared the way quotas are: through the limiter's store, per backend scope.
        self.board = breaker_board(limiter.url if limiter is not None else None)
        self._scope = limiter.namespace if limiter is not None else ""
        self._secret = secret

    def scrub(self, text: str) -> str:
        """Errors are stored in tables: make sure the key can never ride along."""
        return text.replace(self._secret, "[redacted]") if self._secret else text

    def breaker(self, model: str) -> CircuitBreaker:
        found = self._breakers.get(model)
        if found is not None:
            return found
        fresh = CircuitBreaker(
            self.retry.breaker_failures, self.retry.breaker_reset_s, self.board, f"{self._scope}|{model}"
        )
        return self._breakers.setdefault(model, fresh)  # atomic: two threads end up with one breaker

    def breakers_opened(self) -> dict[str, int]:
        return {model: b.times_opened for model, b in self._breakers.items() if b.times_opened}

    def generate(self, request: GenerateRequest, first_attempt: int = 1) -> GenerateResult:
        attempts: list[Attempt] = []
        breaker = self.breaker(request.model)
        last_number = first_attempt + self.retry.max_attempts - 1
        for number in range(first_attempt, last_number + 1):
            if stopping.stop_requested():
                raise CallCancelled(request.model, attempts)
            if not breaker.allow():
                raise ModelUnavailable(request.model, attempts)
            admission = self._admit(request, attempts)
            started, clock = datetime.now(UTC), time.perf_counter()
            if request.journal is not None:  # on record before it is sent: a crash mid-call is not lost
                request.journal.started(in_flight(number, started, request.purpose))
            try:
                answer = self.wire.send(request)
            except Exception as exc:
                failure = self.wire.failure(exc)
                if failure is None:
                    raise
                attempts.append(self._failed(request, number, started, clock, failure, admission))
                _journal(request, attempts[-1])
                if failure.code == 429:
                    self._learn(request.model, failure, attempts)
                if failure.code in UNHEALTHY_CODES or failure.code == 0:
                    breaker.record_failure()
                else:
                    breaker.record_neutral()
                retryable = failure.code in RETRYABLE_CODES or failure.code == 0
                if not retryable or number == last_number:
                    break
                if stopping.pause(self._delay(number - first_attempt, failure.retry_after_s)):
                    raise CallCancelled(request.model, attempts) from None
                continue
            breaker.record_success()
            if answer.usage.input_tokens:
                self.estimator.observe(request, answer.usage.input_tokens)
            attempt = Attempt(
                attempt=number,
                started_at=started,
                latency_ms=(time.perf_counter() - clock) * 1000,
                status_code=200,
                usage=answer.usage,
                response_id=answer.response_id,
                purpose=request.purpose,
            )
            attempts.append(_with_observations(attempt, admission, answer.rate_limits))
            _journal(request, attempts[-1])
            return GenerateResult(answer.text, answer.finish_reason, answer.block_reason, attempts)
        return GenerateResult(None, None, None, attempts)

    def _learn(self, model: str, failure: Failure, attempts: list[Attempt]) -> None:
        """A 429 teaches the limiter the real quota (ratelimit.py); a spent day ends the item at once."""
        if self.limiter is None:
            return
        hint = failure.quota or QuotaHint("rpm")
        if hint.dimension == "rpd":
            resets_at = self.limiter.spend_day(model, failure.retry_after_s)
            raise QuotaExhausted(model, "rpd", resets_at, attempts)
        self.limiter.learn(model, hint.dimension, hint.limit)

    def learned_limits(self) -> dict[str, int]:
        return self.limiter.learned_limits() if self.limiter is not None else {}

    def _admit(self, request: GenerateRequest, attempts: list[Attempt]) -> Admission | None:
        if self.limiter is None:
            return None
        try:
            return self.limiter.acquire(request.model, self.estimator.estimate(request), self.retry.max_quota_wait_s)
        except QuotaWaitExceeded as exc:
            raise QuotaWaitExceeded(request.model, exc.dimension, exc.waited_s, attempts) from exc
        except QuotaExhausted as exc:
            raise QuotaExhausted(request.model, exc.dimension, exc.resets_at, attempts) from exc
        except CallCancelled as exc:
            raise CallCancelled(request.model, attempts) from exc

    def _failed(
        self,
        request: GenerateRequest,
        number: int,
        started: datetime,
        clock: float,
        failure: Failure,
        admission: Admission | None,
    ) -> Attempt:
        attempt = Attempt(
            attempt=number,
            started_at=started,
            latency_ms=(time.perf_counter() - clock) * 1000,
            status_code=failure.code,
            error_code=failure.status,
            error_message=self.scrub(failure.message)[:500],
            purpose=request.purpose,
        )
        return _with_observations(attempt, admission, failure.rate_limits)

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


def _with_observations(attempt: Attempt, admission: Admission | None, limits: RateLimitState | None) -> Attempt:
    if admission is not None:
        attempt.rpm_used, attempt.tpm_used, attempt.rpd_used = (
            admission.rpm_used,
            admission.tpm_used,
            admission.rpd_used,
        )
    if limits is not None:
        attempt.provider_remaining_requests = limits.remaining_requests
        attempt.provider_remaining_tokens = limits.remaining_tokens
    return attempt
