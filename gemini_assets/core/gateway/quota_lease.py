"""Admissions reserved a few at a time, so most calls of a busy process skip the store.

A round trip to a shared store costs 0.2-1 ms on this machine (SQLite transaction, Redis
script; more when the store's process has to be woken), more than everything else the gateway
does per call. A process calling a model often takes a *lease*: the next k calls' slots in one
admission (k from its own recent rate, at most MAX_CALLS and a tenth of the limit, so one worker
never holds much of a quota another could use). The lease lives ``lifetime_s``, shorter than the
limiter's margin, so a call made from it reaches the server inside the window the store
counted it in; what is left when it ends is refunded to the store (a negative entry with the
lease's timestamp), so unused slots are not lost to the other workers.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

from gemini_assets.core.gateway.quota_store import Demand

MAX_CALLS = 8
LIMIT_SHARE = 10  # a lease holds at most 1/LIMIT_SHARE of any limit


@dataclass
class _Lease:
    stamp_ms: int
    opened: float  # monotonic
    windows: dict[str, int]  # dimension -> window_ms
    calls_left: int
    tokens_left: int
    used: dict[str, int]  # the store's totals right after the lease was taken


@dataclass(frozen=True)
class Refund:
    stamp_ms: int
    demands: list[Demand]


class LeaseBook:
    """The live lease per key of one limiter (callers hold the limiter's lock)."""

    def __init__(self, lifetime_s: float):
        self.lifetime_s = lifetime_s
        self._leases: dict[str, _Lease] = {}
        self._recent: dict[str, deque[float]] = {}

    def take(self, key: str, demands: list[Demand], now: float) -> dict[str, int] | None:
        """One call from the live lease: the usage to report, or None (no lease, ended, too small)."""
        recent = self._recent.setdefault(key, deque())
        recent.append(now)
        while recent and recent[0] < now - self.lifetime_s:
            recent.popleft()
        lease = self._leases.get(key)
        tokens = _tokens(demands)
        if lease is None or now - lease.opened > self.lifetime_s or lease.calls_left < 1 or lease.tokens_left < tokens:
            return None
        lease.calls_left -= 1
        lease.tokens_left -= tokens
        return self._usage(lease)

    def size(self, key: str, demands: list[Demand]) -> int:
        """How many calls the next admission should reserve: this process's calls in the last
        lifetime (it will likely make as many in the next), within MAX_CALLS and LIMIT_SHARE."""
        calls = min(MAX_CALLS, len(self._recent.get(key, ())))
        for demand in demands:
            calls = min(calls, demand.limit // LIMIT_SHARE // max(1, demand.weight))
        return max(1, calls)

    def open(
        self, key: str, stamp_ms: int, used: dict[str, int], demands: list[Demand], calls: int, now: float
    ) -> tuple[dict[str, int], Refund | None]:
        """A lease of ``calls`` was admitted; the first call is this one. Returns its usage and
        the lease it replaces (another thread's), to refund."""
        tokens = _tokens(demands)
        lease = _Lease(
            stamp_ms, now, {d.dimension: d.window_ms for d in demands}, calls - 1, tokens * (calls - 1), used
        )
        displaced = self.release(key)
        self._leases[key] = lease
        return self._usage(lease), displaced

    def release(self, key: str) -> Refund | None:
        """End the lease of ``key``; what it still holds, to give back to the store."""
        lease = self._leases.pop(key, None)
        if lease is None or lease.calls_left < 1:
            return None
        left = {"rpm": lease.calls_left, "rpd": lease.calls_left, "tpm": lease.tokens_left}
        demands = [Demand(name, window, 0, left[name]) for name, window in lease.windows.items() if left[name] > 0]
        return Refund(lease.stamp_ms, demands)

    def live_keys(self) -> list[str]:
        return list(self._leases)

    @staticmethod
    def _usage(lease: _Lease) -> dict[str, int]:
        """The store's count after this call, without the slots the lease still holds."""
        held = {"rpm": lease.calls_left, "rpd": lease.calls_left, "tpm": lease.tokens_left}
        return {name: total - held.get(name, 0) for name, total in lease.used.items()}


def scaled(demands: list[Demand], calls: int) -> list[Demand]:
    return [replace(demand, weight=demand.weight * calls) for demand in demands]


def _tokens(demands: list[Demand]) -> int:
    return next((demand.weight for demand in demands if demand.dimension == "tpm"), 0)
