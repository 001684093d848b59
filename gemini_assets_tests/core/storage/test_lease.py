"""Leases over object storage: one holder at a time, a dead holder taken over, a loser told."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time

import pytest

from gemini_assets.core.contracts.errors import LeaseBusy, LeaseLost
from gemini_assets.core.storage.lease import Lease, LeaseSettings
from gemini_assets.core.storage.objectstore import ObjectStore

QUICK = LeaseSettings(ttl_s=1.0, wait_s=0.5, poll_s=0.05)


def test_a_second_holder_waits_then_is_told_who_holds_it(backend_store):
    first = Lease(backend_store, "2026-11-20/caption", "run A", QUICK)
    first.acquire()
    try:
        with pytest.raises(LeaseBusy, match="run A") as busy:
            Lease(backend_store, "2026-11-20/caption", "run B", QUICK).acquire()
        assert busy.value.holder.startswith("run A")
    finally:
        first.release()
    second = Lease(backend_store, "2026-11-20/caption", "run B", QUICK)
    with second:
        assert second.epoch == 1  # the released claim stays as history; the next epoch is new


def test_other_names_do_not_wait(backend_store):
    with (
        Lease(backend_store, "2026-11-20/caption", "run A", QUICK),
        Lease(backend_store, "2026-11-21/caption", "run B", QUICK) as other,
    ):
        assert other.epoch == 0


def _hold_forever(root: str, ready) -> None:
    Lease(ObjectStore(root), "day/task", "killed run", LeaseSettings(ttl_s=3600, wait_s=1)).acquire()
    ready.set()
    time.sleep(3600)


def test_a_killed_holder_on_this_host_is_taken_over_without_waiting_out_the_ttl(tmp_path):
    root = str(tmp_path / "storage")
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Event()
    holder = spawn.Process(target=_hold_forever, args=(root, ready))
    holder.start()
    assert ready.wait(60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join()
    # ttl of an hour: only the dead pid can free it within the 2 s wait
    taker = Lease(ObjectStore(root), "day/task", "re-run", LeaseSettings(ttl_s=3600, wait_s=2, poll_s=0.05))
    with taker:
        assert taker.epoch == 1


def test_a_silent_holder_on_another_host_is_taken_over_after_the_ttl(tmp_path):
    store = ObjectStore(str(tmp_path / "storage"))
    claim = {"holder": "run far away", "host": "another-host", "pid": 1, "acquired_at": "2026-11-20T00:00:00+00:00"}
    store.create("leases/day/task/0000000000.json", json.dumps(claim).encode())
    fresh = time.time()
    store.replace("leases/day/task/0000000000.beat", _iso(fresh).encode())
    started = time.monotonic()
    taker = Lease(store, "day/task", "re-run", LeaseSettings(ttl_s=0.6, wait_s=5, poll_s=0.05))
    with taker:
        assert taker.epoch == 1
    assert time.monotonic() - started >= 0.5  # it waited for the beat to grow old, not less


def test_a_holder_that_was_taken_over_finds_out_and_stops(tmp_path):
    store = ObjectStore(str(tmp_path / "storage"))
    holder = Lease(store, "day/task", "slow run", LeaseSettings(ttl_s=0.8, wait_s=1, poll_s=0.05))
    holder.acquire()
    holder.check()  # still ours
    store.create("leases/day/task/0000000001.json", b'{"holder": "impatient run"}')  # as a takeover does
    deadline = time.monotonic() + 5
    with pytest.raises(LeaseLost):
        while time.monotonic() < deadline:
            holder.check()
            time.sleep(0.05)
    holder.release()
    assert not store.exists("leases/day/task/0000000000.released")  # a lost lease is not marked released


def _iso(stamp: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(stamp, UTC).isoformat()
