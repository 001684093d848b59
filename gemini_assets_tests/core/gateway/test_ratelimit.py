"""Client-side quotas: one store (SQLite, Redis) shared by processes, checked by the emulator."""

from __future__ import annotations

import logging
import multiprocessing
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gemini_assets.core.contracts.errors import CallCancelled, QuotaExhausted
from gemini_assets.core.gateway import ratelimit, stopping
from gemini_assets.core.gateway.calling import RetrySettings
from gemini_assets.core.gateway.ratelimit import QuotaLimiter, QuotaWaitExceeded
from gemini_assets.core.gateway.routing import Limits
from gemini_assets_tests.core.gateway.conftest import MODEL, make_gateway, text_request
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.redis_server import RedisServer


def sqlite_limiter(folder: Path, window_ms: int = 1000, margin_ms: int = 50, **limits: int) -> QuotaLimiter:
    return QuotaLimiter(
        f"sqlite://{folder}", {MODEL: Limits(**limits)}, minute_ms=window_ms, day_ms=window_ms * 10, margin_ms=margin_ms
    )


def test_acquire_waits_for_the_window_and_reports_usage(tmp_path):
    limiter = sqlite_limiter(tmp_path, rpm=3, tpm=10_000)
    started = time.monotonic()
    admissions = [limiter.acquire(MODEL, 1500, timeout_s=10) for _ in range(4)]
    assert time.monotonic() - started >= 0.9  # the 4th waited for the 1 s window
    assert [a.rpm_used for a in admissions[:3]] == [1, 2, 3]
    assert admissions[0].tpm_used == 1500  # the estimate is reserved, token for token
    assert admissions[0].rpd_used is None  # no RPD configured


def test_a_minute_quota_gives_up_after_the_allowed_wait(tmp_path):
    limiter = sqlite_limiter(tmp_path, window_ms=60_000, rpm=1)
    limiter.acquire(MODEL, 10, timeout_s=1)
    started = time.monotonic()
    with pytest.raises(QuotaWaitExceeded, match="rpm"):
        limiter.acquire(MODEL, 10, timeout_s=1)
    assert time.monotonic() - started < 3


def test_a_spent_day_fails_fast_with_its_reset_time_and_stays_spent(tmp_path):
    limiter = sqlite_limiter(tmp_path, window_ms=60_000, rpd=2)  # a "day" of 10 minutes
    limiter.acquire(MODEL, 10, timeout_s=600)
    limiter.acquire(MODEL, 10, timeout_s=600)
    started = time.monotonic()
    with pytest.raises(QuotaExhausted, match=r"rpd quota of gemini-3\.8-flash is spent until") as spent:
        limiter.acquire(MODEL, 10, timeout_s=600)  # never waits the 600 s
    assert time.monotonic() - started < ratelimit.DAY_PROBE_S + 1
    expected = datetime.now(UTC) + timedelta(minutes=10)
    assert abs((spent.value.resets_at - expected).total_seconds()) < 5
    started = time.monotonic()
    for _ in range(50):  # the model's later calls fail at once, without touching the store
        with pytest.raises(QuotaExhausted):
            limiter.acquire(MODEL, 10, timeout_s=600)
    assert time.monotonic() - started < 0.5


def test_one_shared_store_keeps_two_accounts_apart(tmp_path):
    first = QuotaLimiter(f"sqlite://{tmp_path}", {MODEL: Limits(rpd=1)}, namespace="emulator-aaaa")
    second = QuotaLimiter(f"sqlite://{tmp_path}", {MODEL: Limits(rpd=1)}, namespace="emulator-bbbb")
    first.acquire(MODEL, 10, timeout_s=1)
    assert second.acquire(MODEL, 10, timeout_s=1).rpd_used == 1  # its own count, not the other's
    again = QuotaLimiter(f"sqlite://{tmp_path}", {MODEL: Limits(rpd=1)}, namespace="emulator-aaaa")
    with pytest.raises(QuotaExhausted):
        again.acquire(MODEL, 10, timeout_s=1)  # another process of the same account shares it


def test_a_long_wait_is_logged_with_its_dimension(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(ratelimit, "SLOW_WAIT_S", 0.3)
    limiter = sqlite_limiter(tmp_path, window_ms=1500, margin_ms=0, rpm=1)
    limiter.acquire(MODEL, 10, timeout_s=5)
    with caplog.at_level(logging.INFO, logger="gemini_assets.core.gateway.ratelimit"):
        admission = limiter.acquire(MODEL, 10, timeout_s=5)
    assert admission.waited_s > 0.3
    messages = [r.getMessage() for r in caplog.records]
    assert any("has waited" in m and "rpm quota (still waiting)" in m for m in messages), messages
    assert any("admitted after waiting" in m for m in messages), messages


def test_a_stop_request_ends_a_quota_wait_within_a_poll(tmp_path):
    limiter = sqlite_limiter(tmp_path, window_ms=60_000, rpm=1)
    limiter.acquire(MODEL, 10, timeout_s=1)
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            limiter.acquire(MODEL, 10, timeout_s=600)
        except CallCancelled as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)
    stopped = time.monotonic()
    stopping.request_stop()
    waiter.join(timeout=5)
    assert not waiter.is_alive() and len(outcome) == 1
    assert time.monotonic() - stopped < stopping.POLL_S + 0.5


def test_gateway_fills_limiter_columns_on_attempts(emulator, tmp_path):
    gateway = make_gateway(
        emulator, limiter=sqlite_limiter(tmp_path, window_ms=60_000, rpm=100, tpm=1_000_000, rpd=1000)
    )
    first, second = gateway.generate(text_request()), gateway.generate(text_request())
    assert (first.last.rpm_used, second.last.rpm_used) == (1, 2)
    assert second.last.rpd_used == 2 and second.last.tpm_used >= 2000


def _client_process(base_url: str, store_url: str, calls: int) -> None:
    from gemini_assets.core.gateway.gemini.client import GeminiGateway, RetrySettings

    # The server stamps a request when it has parsed it, some ms after the client's acquire; on a
    # loaded 2-core CI machine that gap varies by more than the production 250 ms margin's share
    # of a 2 s window, so the margin scales with the shortened window here.
    limits = {MODEL: Limits(rpm=5)}
    limiter = QuotaLimiter(store_url, limits, minute_ms=2000, day_ms=20_000, margin_ms=500, namespace="shared")
    gateway = GeminiGateway("test-key", base_url, RetrySettings(max_attempts=1, timeout_s=10), limiter)
    for _ in range(calls):
        assert gateway.generate(text_request()).ok
    gateway.close()


@pytest.mark.slow
def test_four_processes_share_one_limit(emulator, shared_store):
    """4 OS processes, one bucket (SQLite or Redis): the emulator never sees more than 5 calls in any 2 s."""
    emulator.set_knobs(rpm=5, minute_s=2.0)  # the server enforces the same quota: a 429 would fail a call
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_client_process, args=(emulator.url, shared_store, 4)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    served = [
        datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).timestamp() for r in read_served_log(emulator.state_dir)
    ]
    assert len(served) == 16
    statuses = {r["status"] for r in read_served_log(emulator.state_dir)}
    assert statuses == {200}
    served.sort()
    busiest = max(sum(1 for t in served if start <= t < start + 2.0) for start in served)
    assert busiest <= 5, busiest
    assert served[-1] - served[0] >= 6.0  # 16 calls at 5 per 2.5 s need at least three full windows


def test_a_spent_day_on_redis_is_spent_for_every_client(tmp_path):
    server = RedisServer().start()
    try:
        first, second = (
            QuotaLimiter(server.url, {MODEL: Limits(rpd=2)}, namespace="account-a", day_ms=600_000) for _ in range(2)
        )
        other = QuotaLimiter(server.url, {MODEL: Limits(rpd=2)}, namespace="account-b", day_ms=600_000)
        first.acquire(MODEL, 10, timeout_s=5)
        second.acquire(MODEL, 10, timeout_s=5)
        with pytest.raises(QuotaExhausted):
            first.acquire(MODEL, 10, timeout_s=600)
        assert other.acquire(MODEL, 10, timeout_s=5).rpd_used == 1  # another account: its own day
    finally:
        server.stop()


@pytest.mark.slow
def test_a_limit_configured_30_times_too_high_is_learned_from_the_first_429s(emulator):
    """The routing file says 300 per window, the account has 10: after the first 429s the client
    holds the real quota (Gemini's QuotaFailure.quotaValue), so few attempts are refused and the
    real quota is used almost fully."""
    emulator.set_knobs(rpm=10, minute_s=2.0)
    limiter = QuotaLimiter("memory", {MODEL: Limits(rpm=300)}, minute_ms=2000, margin_ms=150)
    retry = RetrySettings(max_attempts=8, initial_backoff_s=0.01, max_backoff_s=0.05, timeout_s=10, breaker_failures=50)
    gateway = make_gateway(emulator, retry=retry, limiter=limiter)
    calls = 120
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: gateway.generate(text_request()), range(calls)))
    elapsed = time.monotonic() - started
    gateway.close()
    assert all(result.ok for result in results)
    attempts = [attempt for result in results for attempt in result.attempts]
    refused = sum(attempt.status_code == 429 for attempt in attempts)
    assert 0 < refused <= 0.05 * len(attempts), (refused, len(attempts))
    real_per_s = 10 / 2.0
    assert calls / elapsed >= 0.85 * real_per_s, (calls, elapsed)
    assert gateway.learned_limits() == {f"{MODEL} rpm": 10}


def test_without_a_hint_the_rate_halves_once_per_burst_and_grows_back():
    learned = ratelimit._LearnedLimit(configured=100, window_s=60.0)
    assert learned.lower(0.0, None) == 50
    assert learned.lower(1.0, None) is None  # the same burst of 429s
    assert learned.lower(11.0, None) == 25  # a later 429: halved again
    assert learned.effective(11.5) == 25
    assert learned.effective(72.0) == 30  # a calm window later: +5% of the configured limit
    zero = ratelimit._LearnedLimit(configured=100, window_s=60.0)
    assert zero.lower(0.0, 0) == 50  # a quotaValue of 0 says nothing: halved, not throttled to 1
    hinted = ratelimit._LearnedLimit(configured=100, window_s=60.0)
    assert hinted.lower(0.0, 10) == 10 and hinted.lower(0.5, 40) is None  # a hint above it changes nothing
    assert hinted.effective(200.0) == 10  # the server said its quota: no creeping back up


def test_a_learned_limit_holds_the_shared_count(tmp_path):
    """What one worker learned applies to the count of all workers sharing the store."""
    store = f"sqlite://{tmp_path}"
    learner, other = (QuotaLimiter(store, {MODEL: Limits(rpm=300)}, namespace="acct") for _ in range(2))
    for _ in range(3):
        other.acquire(MODEL, 10, timeout_s=1)
    learner.learn(MODEL, "rpm", 4)
    learner.acquire(MODEL, 10, timeout_s=1)  # the 4th call of the window
    with pytest.raises(QuotaWaitExceeded, match="rpm"):
        learner.acquire(MODEL, 10, timeout_s=1)


def test_a_busy_process_takes_leases_and_gives_back_what_it_did_not_use(tmp_path):
    """Most calls of a busy process are admitted from a lease (no store round trip); the counts
    stay exact for the other workers: what a lease did not use is refunded when it ends."""
    store = f"sqlite://{tmp_path}"
    busy = QuotaLimiter(store, {MODEL: Limits(rpm=1000, rpd=100_000)}, namespace="acct")
    other = QuotaLimiter(store, {MODEL: Limits(rpm=1000, rpd=100_000)}, namespace="acct")
    admissions = [busy.acquire(MODEL, 10, timeout_s=1) for _ in range(40)]
    assert [a.rpm_used for a in admissions] == list(range(1, 41))  # this process's calls, one by one
    with sqlite3.connect(tmp_path / "quota.sqlite") as connection:
        (entries,) = connection.execute("SELECT COUNT(*) FROM quota_log WHERE key LIKE '%:rpm'").fetchone()
    assert entries < 20  # leases of up to 8 calls: far fewer store admissions than calls
    busy.close()  # the open lease's unused slots go back
    assert other.acquire(MODEL, 10, timeout_s=1).rpm_used == 41
