"""Quota that is honest and interruptible: a spent day fails fast, a terminated run stops waiting."""

from __future__ import annotations

import signal
import time

import dagster as dg
import pytest

from gemini_assets.core.storage.tables import read_partition
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import GeminiResource, default_resources
from gemini_assets_tests.dagster_processes import kill_run, materialize, start_materialize
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.samples.day import seed_day

pytestmark = pytest.mark.slow

DAY = "2026-11-24"


def routes(tmp_path, monkeypatch, limits: str) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(f"routes:\n  - model: gemini-3.8-flash\nlimits:\n  default: {limits}\n")
    monkeypatch.setenv("GEMINI_ASSETS_ROUTES", str(path))


def generated(tmp_path) -> list[dict]:
    return [r for r in read_served_log(tmp_path / "emulator") if r.get("method") == "generateContent"]


def test_a_spent_day_sends_the_rest_to_review_in_seconds(store, emulator, tmp_path, monkeypatch):
    routes(tmp_path, monkeypatch, "{rpm: 600, tpm: 10000000, rpd: 5}")
    seeded = seed_day(store, DAY, 46)
    started = time.monotonic()
    gemini = GeminiResource(initial_backoff_s=0.01, max_backoff_s=0.05, timeout_s=10)
    result = dg.materialize(ASSETS, partition_key=DAY, resources={**default_resources(), "gemini": gemini})
    elapsed = time.monotonic() - started
    assert result.success
    assert len(generated(tmp_path)) == 5  # the day's quota, and not one call more
    outputs = read_partition(store, "model_outputs", DAY)
    assert (outputs["status"] == "ok").sum() == 5
    spent = outputs[outputs["status"] == "quota_exhausted"]
    assert len(spent) == seeded.valid - 5 and (spent["attempts"] == 0).all()
    review = read_partition(store, "review_queue", DAY).set_index("media_id")
    reasons = review.loc[spent["media_id"]]
    assert set(reasons["reason_code"]) == {"quota_exhausted"}
    assert reasons["reason_detail"].str.contains("is spent until 20").all()  # with the reset time
    assert elapsed < 120  # the hang this replaces waited up to 600 s per item


def test_terminating_a_run_stops_its_quota_waits_and_keeps_finished_work(store, emulator, tmp_path, monkeypatch):
    routes(tmp_path, monkeypatch, "{rpm: 2, tpm: 10000000, rpd: 1000}")
    seed_day(store, DAY, 10)
    env = {"GEMINI_ASSETS_BACKEND": "emulator", "GOOGLE_GEMINI_BASE_URL": emulator.url}
    run = start_materialize(DAY, env=env)
    try:
        deadline = time.monotonic() + 180
        while len(generated(tmp_path)) < 2:  # two calls made; the others now wait for the minute
            if run.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the run ended or never called: {run.communicate(timeout=60)[0][-3000:]}")
            time.sleep(0.2)
        time.sleep(2)
        stopped = time.monotonic()
        run.send_signal(signal.SIGTERM)  # what `dagster run terminate` and the UI's Terminate send
        output, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            kill_run(run)
    assert time.monotonic() - stopped < 10, output[-3000:]
    assert run.returncode != 0
    assert len(generated(tmp_path)) == 2  # nothing was called after the stop
    # The finished calls were archived: a new run calls only the items that were not answered.
    routes(tmp_path, monkeypatch, "{rpm: 600, tpm: 10000000, rpd: 1000}")
    materialize(DAY, env=env)
    outputs = read_partition(store, "model_outputs", DAY)
    assert int(outputs["from_cache"].sum()) == 2
    assert len(generated(tmp_path)) == len(outputs)  # every item called exactly once overall
