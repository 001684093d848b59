"""A run killed with SIGKILL gives its gemini_api pool slot back: the next run is not blocked.

Guards: runs killed with `kill -9` stayed STARTED for good and held the `gemini_api` pool slots;
after two kills every later run blocked at gemini_files, and running the daemon for 7 minutes
did not free them. Here the pool has one slot, a real `dagster-daemon` runs the instance's
sensors (the dead-run reaper among them), and a run is killed while it holds the slot.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import dagster as dg
import pytest

from gemini_assets.defs.reaper import REAP_INTERVAL_S, WORKER_TAG
from gemini_assets_tests.dagster_processes import BIN, REPO, kill_run, materialize, start_materialize
from gemini_devkit.samples.day import seed_day

pytestmark = pytest.mark.slow

DAYS = ("2026-11-28", "2026-11-29")
UPSTREAM = "raw_media,validated_media,quarantined_media,gemini_files"
# What the slot may cost after the kill: a reaper tick (and the daemon's own tick loop), then
# the next run's own steps.
ALLOWED_S = REAP_INTERVAL_S + 90


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def holder_of_the_slot(instance: dg.DagsterInstance) -> set[str]:
    return instance.event_log_storage.get_concurrency_info("gemini_api").active_run_ids


def test_a_killed_run_gives_its_pool_slot_back_to_the_next_run(store, emulator, tmp_path):
    for day in DAYS:
        seed_day(store, day, 3)
    subprocess.run(
        [str(BIN / "dagster"), "instance", "concurrency", "set", "gemini_api", "1"],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=120,
    )
    for day in DAYS:
        materialize(day, UPSTREAM)
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-m", "gemini_assets.definitions"],
        cwd=REPO,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        emulator.set_knobs(latency_s=120.0)  # the first run sits in its model calls, holding the slot
        first = start_materialize(DAYS[0], "model_outputs")
        with dg.DagsterInstance.get() as instance:
            wait_for(lambda: holder_of_the_slot(instance), 120, "the first run to take the slot")
            (first_run_id,) = holder_of_the_slot(instance)
            wait_for(lambda: WORKER_TAG in instance.get_run_by_id(first_run_id).tags, 60, "the worker tag")
        kill_run(first)
        emulator.set_knobs(latency_s=0.0)
        killed_at = time.monotonic()

        second = start_materialize(DAYS[1], "model_outputs")
        try:
            output, _ = second.communicate(timeout=ALLOWED_S + 120)
        except subprocess.TimeoutExpired:
            kill_run(second)
            pytest.fail("the next run never got the pool slot the killed run held")

        waited = time.monotonic() - killed_at
        assert second.returncode == 0, output[-3000:]
        assert waited < ALLOWED_S, f"the next run got the slot {waited:.0f} s after the kill"
        with dg.DagsterInstance.get() as instance:
            killed = instance.get_run_by_id(first_run_id)
            assert killed.status == dg.DagsterRunStatus.FAILURE
            messages = [e.message for e in instance.all_logs(first_run_id) if e.message]
            assert any("worker process" in m and "is gone" in m for m in messages), json.dumps(messages[-5:])
            assert not holder_of_the_slot(instance)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait(30)
