"""Retries, timeouts and attempt records of GeminiGateway against the emulator, over HTTP."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from gemini_assets.core.contracts.enums import Backend
from gemini_assets.core.contracts.errors import CallCancelled
from gemini_assets.core.gateway import stopping
from gemini_assets.core.gateway.backends import Target
from gemini_assets.core.gateway.calling import RetrySettings
from gemini_assets_tests.core.gateway.conftest import FAST, make_gateway, text_request
from gemini_devkit.emulator.state import read_served_log


def test_5xx_are_retried_and_every_attempt_is_recorded(emulator):
    emulator.set_knobs(script=[503, 500, 504])
    gateway = make_gateway(emulator)
    result = gateway.generate(text_request())
    assert result.ok and result.text
    assert [a.status_code for a in result.attempts] == [503, 500, 504, 200]
    assert [a.attempt for a in result.attempts] == [1, 2, 3, 4]
    assert result.attempts[0].error_code == "UNAVAILABLE"
    assert len(read_served_log(emulator.state_dir)) == 4


def test_429_waits_the_server_retry_delay(emulator):
    emulator.set_knobs(script=[429], script_retry_s=0.6)
    result = make_gateway(emulator).generate(text_request())
    assert [a.status_code for a in result.attempts] == [429, 200]
    first, second = result.attempts
    waited = (second.started_at - first.started_at).total_seconds() - first.latency_ms / 1000
    assert 0.6 <= waited < 1.0  # the server's hint, not the 10 ms exponential backoff


def test_attempts_are_bounded(emulator):
    emulator.set_knobs(error_rate=1.0, error_codes=[503])
    result = make_gateway(emulator, replace(FAST, max_attempts=3)).generate(text_request(), first_attempt=5)
    assert not result.ok and result.text is None
    assert [a.attempt for a in result.attempts] == [5, 6, 7]


def test_client_errors_are_not_retried(emulator):
    request = replace(text_request(), history=(("model", "an earlier answer"),))  # ends on a model turn: 400
    result = make_gateway(emulator).generate(request)
    assert [a.status_code for a in result.attempts] == [400]


def test_every_request_has_a_timeout(emulator):
    emulator.set_knobs(script=["slow"], slow_s=2.0)
    result = make_gateway(emulator, replace(FAST, timeout_s=0.5)).generate(text_request())
    assert result.ok
    timeout, ok = result.attempts
    assert timeout.status_code == 0 and "Timeout" in timeout.error_code and timeout.latency_ms < 1500
    assert ok.status_code == 200


def test_error_messages_never_carry_the_key(emulator):
    emulator.set_knobs(script=[500])
    gateway = make_gateway(emulator)
    gateway._secret = "Injected"  # noqa: S105 - a stand-in key the emulator's message happens to contain  # the emulator's message contains the word: it must be scrubbed
    result = gateway.generate(text_request())
    assert "Injected" not in (result.attempts[0].error_message or "")


def test_a_stop_request_ends_a_retry_back_off_and_keeps_the_attempts(emulator):
    emulator.set_knobs(script=[503, 503, 503])
    slow_retry = RetrySettings(max_attempts=4, initial_backoff_s=30, max_backoff_s=30, timeout_s=5)
    gateway = make_gateway(emulator, retry=slow_retry)
    outcome: list[CallCancelled] = []

    def call() -> None:
        try:
            gateway.generate(text_request())
        except CallCancelled as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.5)  # the first 503 came back; the back-off (up to 30 s) has begun
    stopped = time.monotonic()
    stopping.request_stop()
    caller.join(timeout=5)
    assert not caller.is_alive() and time.monotonic() - stopped < 1
    (cancelled,) = outcome
    # what was sent is kept (full jitter may have fit a second try into the first 0.5 s)
    assert {a.status_code for a in cancelled.attempts} == {503} and len(cancelled.attempts) < 4
    gateway.close()


def test_two_keys_on_one_endpoint_are_two_quota_scopes():
    first, second = (Target(Backend.GEMINI, None, key) for key in ("key-one", "key-two"))
    assert first.scope != second.scope and first.scope == Target(Backend.GEMINI, None, "key-one").scope
    assert "key-one" not in first.scope and "key-one" not in repr(first)
