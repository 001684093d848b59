"""Client-side quotas: pyrate-limiter on SQLite shared by processes, checked by the emulator."""

from __future__ import annotations

import multiprocessing
import time
from datetime import datetime
from pathlib import Path

import pytest

from gemini_assets.core.gateway.ratelimit import QuotaLimiter, QuotaWaitExceeded
from gemini_assets.core.gateway.routing import Limits
from gemini_assets_tests.core.gateway.conftest import MODEL, make_gateway, text_request
from gemini_devkit.emulator.state import read_served_log


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
    assert admissions[0].tpm_used == 2000  # 1,500 tokens reserve two 1k units
    assert admissions[0].rpd_used is None  # no RPD configured


def test_a_spent_quota_gives_up_after_the_allowed_wait(tmp_path):
    limiter = sqlite_limiter(tmp_path, window_ms=60_000, rpd=1)
    limiter.acquire(MODEL, 10, timeout_s=1)
    started = time.monotonic()
    with pytest.raises(QuotaWaitExceeded, match="rpd"):
        limiter.acquire(MODEL, 10, timeout_s=1)
    assert time.monotonic() - started < 3


def test_gateway_fills_limiter_columns_on_attempts(emulator, tmp_path):
    gateway = make_gateway(
        emulator, limiter=sqlite_limiter(tmp_path, window_ms=60_000, rpm=100, tpm=1_000_000, rpd=1000)
    )
    first, second = gateway.generate(text_request()), gateway.generate(text_request())
    assert (first.last.rpm_used, second.last.rpm_used) == (1, 2)
    assert second.last.rpd_used == 2 and second.last.tpm_used >= 2000


def _client_process(base_url: str, limiter_dir: str, calls: int) -> None:
    from gemini_assets.core.gateway.gemini.client import GeminiGateway, RetrySettings

    # The server stamps a request when it has parsed it, some ms after the client's acquire; on a
    # loaded 2-core CI machine that gap varies by more than the production 250 ms margin's share
    # of a 2 s window, so the margin scales with the shortened window here.
    limiter = sqlite_limiter(Path(limiter_dir), window_ms=2000, margin_ms=500, rpm=5)
    gateway = GeminiGateway("test-key", base_url, RetrySettings(max_attempts=1, timeout_s=10), limiter)
    for _ in range(calls):
        assert gateway.generate(text_request()).ok
    gateway.close()


@pytest.mark.slow
def test_four_processes_share_one_limit(emulator, tmp_path):
    """4 OS processes, one SQLite bucket: the emulator never sees more than 5 calls in any 2 s."""
    emulator.set_knobs(rpm=5, minute_s=2.0)  # the server enforces the same quota: a 429 would fail a call
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_client_process, args=(emulator.url, str(tmp_path / "quota"), 4)) for _ in range(4)
    ]
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
