"""Circuit breaker: unit behaviour, and the gateway refusing to hammer a failing model."""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import replace

import pytest

from gemini_assets.core.contracts.errors import ModelUnavailable
from gemini_assets.core.gateway.breaker import CircuitBreaker
from gemini_assets.core.gateway.ratelimit import QuotaLimiter
from gemini_assets_tests.core.gateway.conftest import FAST, MODEL, make_gateway, text_request
from gemini_devkit.emulator.state import read_served_log


def test_opens_after_consecutive_failures_and_probes_once_after_reset():
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=0.2)
    for _ in range(2):
        breaker.record_failure()
    breaker.record_success()  # a success resets the count
    for _ in range(3):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow() and breaker.times_opened == 1
    time.sleep(0.25)
    assert breaker.state == "half_open"
    assert breaker.allow() and not breaker.allow()  # exactly one probe in flight
    breaker.record_failure()
    assert breaker.state == "open" and breaker.times_opened == 2
    time.sleep(0.25)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow()


def test_neutral_answers_do_not_open_it():
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=60)
    breaker.record_neutral()
    assert breaker.state == "closed"


def test_gateway_stops_calling_a_failing_model(emulator):
    emulator.set_knobs(error_rate=1.0, error_codes=[503])
    gateway = make_gateway(emulator, replace(FAST, breaker_failures=3, max_attempts=5, breaker_reset_s=60))
    with pytest.raises(ModelUnavailable) as caught:
        gateway.generate(text_request())
    assert [a.status_code for a in caught.value.attempts] == [503, 503, 503]
    with pytest.raises(ModelUnavailable) as again:
        gateway.generate(text_request())
    assert again.value.attempts == []
    assert len(read_served_log(emulator.state_dir)) == 3  # nothing sent while open
    assert gateway.breakers_opened() == {"gemini-3.8-flash": 1}


def test_rate_limits_do_not_trip_the_breaker(emulator):
    emulator.set_knobs(script=[429, 429], script_retry_s=0.01)
    gateway = make_gateway(emulator, replace(FAST, breaker_failures=1))
    assert gateway.generate(text_request()).ok


def _open_the_breaker(base_url: str, store_url: str) -> None:
    """Another worker (its own process): five 503s in a row open its breaker for the model."""
    from gemini_assets.core.gateway.gemini.client import GeminiGateway

    limiter = QuotaLimiter(store_url, {}, namespace="shared-account")
    retry = replace(FAST, max_attempts=5, breaker_failures=5, breaker_reset_s=3.0)
    gateway = GeminiGateway("test-key", base_url, retry, limiter)
    assert not gateway.generate(text_request()).ok
    assert gateway.breakers_opened() == {MODEL: 1}
    gateway.close()


@pytest.mark.slow
def test_one_workers_open_breaker_stops_the_others_until_a_probe_closes_it(emulator, shared_store):
    emulator.set_knobs(script=[503] * 5)
    worker = multiprocessing.get_context("spawn").Process(target=_open_the_breaker, args=(emulator.url, shared_store))
    worker.start()
    worker.join(timeout=60)
    assert worker.exitcode == 0
    served = len(read_served_log(emulator.state_dir))
    retry = replace(FAST, breaker_failures=5, breaker_reset_s=3.0)
    here = make_gateway(emulator, retry, QuotaLimiter(shared_store, {}, namespace="shared-account"))
    with pytest.raises(ModelUnavailable):
        here.generate(text_request())  # this worker never saw a failure, and still does not call
    assert len(read_served_log(emulator.state_dir)) == served
    other_account = make_gateway(emulator, retry, QuotaLimiter(shared_store, {}, namespace="another-account"))
    assert other_account.generate(text_request()).ok  # another account's breaker is its own
    time.sleep(3.2)  # the other worker's open time ends: one probe, which succeeds and closes it
    assert here.generate(text_request()).ok and here.breaker(MODEL).state == "closed"
    later = make_gateway(emulator, retry, QuotaLimiter(shared_store, {}, namespace="shared-account"))
    assert later.generate(text_request()).ok  # the board says closed for everyone
    for gateway in (here, other_account, later):
        gateway.close()
