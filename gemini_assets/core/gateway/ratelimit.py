"""Client-side quotas per model (RPM, input TPM, RPD) shared by every process that uses the store.

The store is chosen by URL (quota_store.py): `sqlite:///dir` (default: one SQLite file shared by
every process of the machine), `redis://host:port/db` or `postgresql://...` for several hosts,
`memory` for one process. One admission checks every configured dimension of the model at once
and records the call in all of them or none, so a call waiting for tokens never holds a request
slot. TPM counts the estimated input tokens, reserved before the call; the ledger keeps the real
usage.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from gemini_assets.core.contracts.errors import CallCancelled, QuotaExhausted, QuotaWaitExceeded
from gemini_assets.core.gateway import stopping
from gemini_assets.core.gateway.quota_lease import LeaseBook, Refund, scaled
from gemini_assets.core.gateway.quota_store import Demand, QuotaStore, quota_store
from gemini_assets.core.gateway.routing import Limits

log = logging.getLogger(__name__)
SLOW_WAIT_S = 10.0  # a wait for quota longer than this is logged (dimension and duration)
DAY_PROBE_S = 1.0  # a day slot freeing later than this means the day is spent: no waiting for it
DECREASE_EVERY = 1 / 6  # of a window: 429s closer together than this are one burst, one decrease

MINUTE_MS = 60_000
DAY_MS = 86_400_000
LEASE_S = 0.2


@dataclass(frozen=True)
class Admission:
    rpm_used: int | None
    tpm_used: int | None
    rpd_used: int | None
    waited_s: float


class _LearnedLimit:
    """The quota a provider's 429s revealed, below the configured one.

    Learned per process, applied to the shared count: a worker that learned 10 admits a call only
    while all workers together made fewer than 10 in the window, and every other worker learns the
    same from its own first 429. With a hint (the server said its limit) the limit stays there;
    without one it halves on a 429 (at most once per DECREASE_EVERY of the window) and grows back
    by 5% of the configured limit per calm window.
    """

    def __init__(self, configured: int, window_s: float):
        self.configured, self.window_s = configured, window_s
        self.limit: int | None = None
        self.hinted = False
        self.changed = 0.0

    def effective(self, now: float) -> int:
        if self.limit is not None and not self.hinted and now - self.changed >= self.window_s:
            self.limit = min(self.configured, self.limit + max(1, self.configured // 20))
            self.changed = now
            if self.limit >= self.configured:
                self.limit = None  # back to the configured quota: nothing learned any more
        return self.limit if self.limit is not None else self.configured

    def lower(self, now: float, hint: int | None) -> int | None:
        """Apply a 429: the new limit when it went down, else None."""
        if hint is not None and hint <= 0:
            hint = None  # "0" cannot be the quota of a model that answers: no size was said
        current = self.limit or self.configured
        if hint is not None:
            new, hinted = min(current, max(1, hint)), True
        elif now - self.changed < self.window_s * DECREASE_EVERY and self.limit is not None:
            return None  # the same burst of 429s: one decrease is enough
        else:
            new, hinted = max(1, current // 2), self.hinted
        if self.limit is not None and new >= self.limit:
            return None
        self.limit, self.hinted, self.changed = new, hinted, now
        return new


class QuotaLimiter:
    def __init__(
        self,
        url: str,
        limits: dict[str, Limits] | None = None,
        default: Limits | None = None,
        minute_ms: int = MINUTE_MS,
        day_ms: int = DAY_MS,
        margin_ms: int = 250,
        namespace: str = "",
    ):
        """`margin_ms` widens each window a little: requests reach the server a few ms after
        admission, so a strict window at the client could still be a hair over at the server.
        `namespace` (the backend scope: endpoint, provider, key fingerprint) is part of every
        key, so one shared store never mixes the counts of two accounts or endpoints."""
        self.url = url
        self.limits = dict(limits or {})
        self.default = default or Limits()
        self.minute_ms, self.day_ms, self.margin_ms = minute_ms, day_ms, margin_ms
        self.namespace = namespace
        self._store: QuotaStore | None = None
        self._spent_until: dict[str, datetime] = {}
        self._learned: dict[tuple[str, str], _LearnedLimit] = {}
        # Half the margin: a call from a lease reaches the server inside the window it was counted in.
        self._leases = LeaseBook(lifetime_s=min(LEASE_S, margin_ms / 2000))
        self._lock = threading.Lock()

    def limits_for(self, model: str) -> Limits:
        return self.limits.get(model) or self.default

    def acquire(self, model: str, estimated_tokens: int, timeout_s: float) -> Admission:
        """Block until the call fits every quota of the model; QuotaWaitExceeded when it cannot
        within timeout_s.

        A spent day (RPD) is never waited for: QuotaExhausted at once, with the reset time, and
        for every later call of the model until then. A wait longer than ``SLOW_WAIT_S`` is
        logged with its dimension; a stopping run (stopping.py) ends every wait within POLL_S."""
        started = time.monotonic()
        spent_until = self._spent_until.get(model)
        if spent_until is not None and spent_until > datetime.now(UTC):
            raise QuotaExhausted(model, "rpd", spent_until)
        demands = self._demands(model, max(1, estimated_tokens))
        if not demands:
            return Admission(None, None, None, 0.0)
        store, key, logged = self._shared_store(), self._key(model), False
        leased = self._from_lease(store, key, demands)
        if leased is not None:
            return Admission(leased.get("rpm"), leased.get("tpm"), leased.get("rpd"), 0.0)
        while True:
            verdict = store.admit(key, demands)
            if verdict.admitted:
                break
            day_wait_ms = verdict.wait_ms.get("rpd", 0)
            if day_wait_ms > DAY_PROBE_S * 1000:
                raise self._spent(model, datetime.now(UTC) + timedelta(milliseconds=day_wait_ms))
            dimension = max(verdict.wait_ms, key=lambda name: verdict.wait_ms[name])
            wait_s = verdict.wait_ms[dimension] / 1000
            waited = time.monotonic() - started
            if waited + wait_s > timeout_s:  # known now: waiting out the timeout would not help
                raise QuotaWaitExceeded(model, dimension, timeout_s)
            if waited >= SLOW_WAIT_S and not logged:
                logged = True
                log.warning("%s has waited %.0f s for its %s quota (still waiting)", model, waited, dimension)
            if stopping.pause(min(wait_s, stopping.POLL_S)):
                raise CallCancelled(model)
        waited = time.monotonic() - started
        if waited > SLOW_WAIT_S:
            log.info("%s admitted after waiting %.1f s for its quota", model, waited)
        used = verdict.used
        return Admission(used.get("rpm"), used.get("tpm"), used.get("rpd"), waited)

    def learn(self, model: str, dimension: str, hint: int | None) -> None:
        """A 429 on ``dimension`` (rpm or tpm): lower this process's rate to the server's real
        quota (``hint``) or, without one, halve it; logged, and reported in learned_limits()."""
        learned = self._learned_limit(model, dimension)
        if learned is None:
            return
        with self._lock:
            new = learned.lower(time.monotonic(), hint)
        if new is not None:
            configured = getattr(self.limits_for(model), dimension)
            source = "the server's quota" if hint is not None else "429s, halved"
            log.warning(
                "learned %s limit of %s: %d (configured %s; from %s)", dimension, model, new, configured, source
            )

    def learned_limits(self) -> dict[str, int]:
        """Limits learned from 429s that are still in force, as '<model> <dimension>' -> limit."""
        with self._lock:
            return {f"{model} {name}": g.limit for (model, name), g in self._learned.items() if g.limit is not None}

    def spend_day(self, model: str, retry_after_s: float | None) -> datetime:
        """The server said the day's requests are spent: no call of the model until it resets
        (its retry hint, else midnight Pacific time, when Gemini's daily quotas reset)."""
        if retry_after_s is not None:
            resets_at = datetime.now(UTC) + timedelta(seconds=retry_after_s)
        else:
            pacific = datetime.now(ZoneInfo("America/Los_Angeles"))
            resets_at = (pacific + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        with self._lock:
            self._spent_until[model] = resets_at
        log.warning("the server says the rpd quota of %s is spent until %s", model, resets_at)
        return resets_at

    def close(self) -> None:
        with self._lock:
            refunds = [(key, self._leases.release(key)) for key in self._leases.live_keys()]
            store, self._store = self._store, None
        if store is not None:
            for key, refund in refunds:  # slots reserved but not used go back to the other workers
                self._refund(store, key, refund)
            store.close()

    def _from_lease(self, store: QuotaStore, key: str, demands: list[Demand]) -> dict[str, int] | None:
        """This call's usage when a lease (quota_lease.py) admits it, else None: admit one call."""
        now = time.monotonic()
        with self._lock:
            usage = self._leases.take(key, demands, now)
            if usage is not None:
                return usage
            stale = self._leases.release(key)
            calls = self._leases.size(key, demands)
        self._refund(store, key, stale)
        if calls < 2:
            return None
        verdict = store.admit(key, scaled(demands, calls))
        if not verdict.admitted:  # near the limit: no lease, the single call waits as usual
            return None
        with self._lock:
            usage, displaced = self._leases.open(key, verdict.stamp_ms, verdict.used, demands, calls, now)
        self._refund(store, key, displaced)
        return usage

    @staticmethod
    def _refund(store: QuotaStore, key: str, refund: Refund | None) -> None:
        if refund is not None and refund.demands:
            store.refund(key, refund.stamp_ms, refund.demands)

    def _spent(self, model: str, resets_at: datetime) -> QuotaExhausted:
        with self._lock:
            self._spent_until[model] = resets_at
        log.warning("rpd quota of %s is spent until %s: its remaining calls go to review", model, resets_at)
        return QuotaExhausted(model, "rpd", resets_at)

    def _demands(self, model: str, tokens: int) -> list[Demand]:
        limits, now, demands = self.limits_for(model), time.monotonic(), []
        for name, weight, window_ms in (
            ("rpd", 1, self.day_ms),
            ("tpm", tokens, self.minute_ms),
            ("rpm", 1, self.minute_ms),
        ):
            configured = getattr(limits, name)
            if configured is None:  # a dimension the routing file leaves to the server's 429s
                continue
            learned = self._learned_limit(model, name) if name != "rpd" else None
            if learned is not None:
                with self._lock:
                    configured = learned.effective(now)
            # A call larger than the whole limit can still go, alone in its window.
            demands.append(Demand(name, window_ms + self.margin_ms, configured, min(weight, configured)))
        return demands

    def _learned_limit(self, model: str, name: str) -> _LearnedLimit | None:
        configured = getattr(self.limits_for(model), name)
        if configured is None:
            return None
        with self._lock:
            if (model, name) not in self._learned:
                window_s = (self.minute_ms + self.margin_ms) / 1000
                self._learned[(model, name)] = _LearnedLimit(configured, window_s)
            return self._learned[(model, name)]

    def _shared_store(self) -> QuotaStore:
        with self._lock:
            if self._store is None:
                self._store = quota_store(self.url)
            return self._store

    def _key(self, model: str) -> str:
        return _safe(f"{self.namespace}_{model}" if self.namespace else model)


def _safe(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", model)


def limiter_for(
    url: str | None, limits: dict[str, Limits], default: Limits, namespace: str = ""
) -> QuotaLimiter | None:
    """None when the store is 'off' (quota left to the server's 429s)."""
    if url == "off":
        return None
    return QuotaLimiter(url or "memory", limits, default, namespace=namespace)
