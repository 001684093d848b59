"""Circuit breaker: unit behaviour, and the gateway refusing to hammer a failing model."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from gemini_assets.core.contracts.errors import ModelUnavailable
from gemini_assets.core.gateway.breaker import CircuitBreaker
from gemini_assets_tests.core.gateway.conftest import FAST, make_gateway, text_request
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
