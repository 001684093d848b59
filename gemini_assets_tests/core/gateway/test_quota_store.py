"""The quota stores themselves: all-or-nothing admission, the wait they report, expiry."""

from __future__ import annotations

import time

import pytest

from gemini_assets.core.gateway.quota_store import Demand, quota_store
from gemini_devkit.redis_server import RedisServer


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "redis":
        server = RedisServer().start()
        opened = quota_store(server.url)
        yield opened
        opened.close()
        server.stop()
        return
    opened = quota_store("memory" if request.param == "memory" else f"sqlite://{tmp_path}")
    yield opened
    opened.close()


def test_a_call_is_recorded_in_every_dimension_or_in_none(store):
    rpm, tpm = Demand("rpm", 60_000, 3, 1), Demand("tpm", 60_000, 1000, 600)
    first = store.admit("m", [tpm, rpm])
    assert first.admitted and first.used == {"tpm": 600, "rpm": 1}
    refused = store.admit("m", [tpm, rpm])  # 1,200 tokens would exceed the 1,000 of the minute
    assert not refused.admitted and set(refused.wait_ms) == {"tpm"}
    assert 59_000 < refused.wait_ms["tpm"] <= 60_001  # until the first call leaves the window
    small = store.admit("m", [Demand("tpm", 60_000, 1000, 400), rpm])
    assert small.admitted and small.used == {"tpm": 1000, "rpm": 2}  # the refused call took no request slot


def test_keys_are_counted_apart(store):
    demand = Demand("rpd", 60_000, 1, 1)
    assert store.admit("account-a_m", [demand]).admitted
    assert not store.admit("account-a_m", [demand]).admitted
    assert store.admit("account-b_m", [demand]).admitted


def test_entries_leave_their_window_and_their_weight_with_them(store):
    demand = Demand("rpm", 300, 2, 1)
    assert store.admit("m", [demand]).admitted
    assert store.admit("m", [demand]).admitted
    refused = store.admit("m", [demand])
    assert not refused.admitted and 0 < refused.wait_ms["rpm"] <= 301
    time.sleep(refused.wait_ms["rpm"] / 1000 + 0.05)
    again = store.admit("m", [demand])
    assert again.admitted and again.used == {"rpm": 1}  # both old entries expired, total back to 0 + 1


def test_a_refund_gives_back_part_of_an_admission_until_it_leaves_the_window(store):
    lease = store.admit("m", [Demand("rpm", 400, 10, 6)])
    assert lease.admitted and lease.stamp_ms > 0
    store.refund("m", lease.stamp_ms, [Demand("rpm", 400, 0, 4)])  # 2 of the 6 were used
    after = store.admit("m", [Demand("rpm", 400, 10, 8)])
    assert after.admitted and after.used == {"rpm": 10}  # 2 kept + 8: the refund made room
    time.sleep(0.45)
    again = store.admit("m", [Demand("rpm", 400, 10, 1)])
    assert again.used == {"rpm": 1}  # the lease left its window with its refund: nothing negative stays
