"""Batch mode end to end: real materializations, the real SDK's client.batches, the emulator.

The tests' emulator (conftest) is tuned through its knobs (batch delay, line errors).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from PIL import Image

from gemini_assets.core.stages.intake import media_id_for
from gemini_assets.core.storage.tables import read_partition
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import GeminiResource, default_resources
from gemini_assets_tests.landing import land
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.samples.day import seed_day

# Whole-day materializations with batch waits or repeated runs.
pytestmark = pytest.mark.slow

DAY = "2026-11-21"
FAST = {
    "initial_backoff_s": 0.01,
    "max_backoff_s": 0.05,
    "timeout_s": 10,
    "batch_poll_initial_s": 0.1,
    "batch_poll_max_s": 0.3,
}


def materialize(raise_on_error: bool = True, **gemini):
    resources = {**default_resources(), "gemini": GeminiResource(**{**FAST, "mode": "batch", **gemini})}
    return dg.materialize(ASSETS, partition_key=DAY, resources=resources, raise_on_error=raise_on_error)


def served(tmp_path, method):
    return [r for r in read_served_log(tmp_path / "emulator") if r["method"] == method]


def knobs(emulator, **values):
    emulator.set_knobs(**{"batch_delay_s": 0.5, **values})


@pytest.fixture
def seeded(store):
    return seed_day(store, DAY, 12)


def test_batch_day_end_to_end_is_priced_at_half_and_shows_the_saving(emulator, store, seeded, tmp_path, monkeypatch):
    knobs(emulator)
    assert materialize().success

    outputs = read_partition(store, "model_outputs", DAY)
    assert len(outputs) == seeded.valid and (outputs["status"] == "ok").all()
    records = read_partition(store, "validated_records", DAY)
    review = read_partition(store, "review_queue", DAY)
    assert len(records) + len(review) == seeded.valid and len(records) > 0

    batches = read_partition(store, "gemini_batches", DAY)
    assert len(batches) == 1
    batch = batches.iloc[0]
    assert batch["state"] == "JOB_STATE_SUCCEEDED" and batch["items"] == seeded.valid
    assert batch["input_mode"] == "inline" and batch["succeeded_lines"] == seeded.valid
    assert batch["resumed"] == 0 and batch["wait_s"] >= 0.5

    ledger = read_partition(store, "call_ledger", DAY)
    assert set(ledger["service_tier"]) == {"batch"} and len(ledger) == seeded.valid
    assert ledger["price_id"].str.endswith("/batch").all()
    assert (ledger["cost_usd"] * 2 - ledger["online_cost_usd"]).abs().max() < 1e-12
    # The emulator's books: one batch line per ledger row, same usage and response id.
    lines = {r["response_id"]: r for r in served(tmp_path, "batchGenerateContent")}
    assert len(lines) == len(ledger) and not served(tmp_path, "generateContent")
    by_key = {line["key"]: line for line in lines.values()}
    for row in ledger.itertuples():
        line = by_key[row.media_id]
        assert line["service_tier"] == "batch" and line["status"] == 200
        assert line["usage"]["promptTokenCount"] == row.input_tokens
        assert line["usage"]["candidatesTokenCount"] == row.output_tokens

    costs = read_partition(store, "daily_costs", DAY)
    assert costs["batch_calls"].sum() == len(ledger)
    assert costs["cost_usd"].sum() == pytest.approx(ledger["cost_usd"].sum())
    assert costs["online_cost_usd"].sum() == pytest.approx(2 * costs["cost_usd"].sum())
    assert costs["saving_usd"].sum() == pytest.approx(costs["cost_usd"].sum()) and costs["saving_usd"].sum() > 0


def emulator_batches(tmp_path) -> list[dict]:
    return [json.loads(p.read_text()) for p in (tmp_path / "emulator" / "batches").glob("*.json")]


def test_a_step_that_ends_mid_wait_resumes_the_same_batch_without_resubmitting(
    emulator, store, seeded, tmp_path, monkeypatch
):
    knobs(emulator, batch_delay_s=2.0)
    first = materialize(raise_on_error=False, batch_max_wait_s=0.3)
    assert not first.success  # the step ended while the batch was still running
    failure = next(e for e in first.all_events if e.event_type_value == "STEP_FAILURE")
    assert "still" in str(failure.event_specific_data.error) and "resume" in str(failure.event_specific_data.error)
    records = list((tmp_path / "storage" / "batches" / DAY).glob("*.json"))
    assert len(records) == 1  # persisted before waiting
    saved = json.loads(records[0].read_text())
    assert saved["state"] in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING") and len(saved["media_ids"]) == seeded.valid
    assert len(emulator_batches(tmp_path)) == 1 and not served(tmp_path, "batchGenerateContent")

    assert materialize(batch_max_wait_s=30).success
    assert len(emulator_batches(tmp_path)) == 1  # exactly one batch create for these items
    assert len(served(tmp_path, "batchGenerateContent")) == seeded.valid  # each line answered once
    batches = read_partition(store, "gemini_batches", DAY)
    assert len(batches) == 1 and batches.iloc[0]["resumed"] == 1
    assert batches.iloc[0]["batch_name"] == saved["batch_name"] and batches.iloc[0]["polls"] >= 2
    assert (read_partition(store, "model_outputs", DAY)["status"] == "ok").all()
    assert set(read_partition(store, "call_ledger", DAY)["service_tier"]) == {"batch"}


def test_a_crash_before_the_record_was_written_finds_the_batch_by_name(emulator, store, seeded, tmp_path, monkeypatch):
    knobs(emulator, batch_delay_s=1.0)
    assert not materialize(raise_on_error=False, batch_max_wait_s=0.1).success
    for record in (tmp_path / "storage" / "batches" / DAY).glob("*.json"):
        record.unlink()  # as if the process died between batches.create and the record write
    assert materialize(batch_max_wait_s=30).success
    assert len(emulator_batches(tmp_path)) == 1
    assert read_partition(store, "gemini_batches", DAY).iloc[0]["resumed"] == 1


def test_non_retryable_line_errors_land_in_review_at_no_cost(emulator, store, seeded, tmp_path, monkeypatch):
    knobs(emulator, batch_line_error_rate=1.0, batch_line_error_code=400)
    assert materialize().success
    outputs = read_partition(store, "model_outputs", DAY)
    assert (outputs["status"] == "api_error").all() and set(outputs["error_code"]) == {"INVALID_ARGUMENT"}
    review = read_partition(store, "review_queue", DAY)
    assert len(review) == seeded.valid and set(review["reason_code"]) == {"api_error"}
    ledger = read_partition(store, "call_ledger", DAY)
    assert len(ledger) == seeded.valid and set(ledger["status_code"]) == {400} and ledger["cost_usd"].sum() == 0
    assert read_partition(store, "gemini_batches", DAY).iloc[0]["failed_lines"] == seeded.valid
    assert not served(tmp_path, "generateContent")  # not retried: 400 is not retryable, as online


def test_retryable_line_errors_are_retried_online_and_priced_at_the_standard_rate(
    emulator, store, seeded, tmp_path, monkeypatch
):
    knobs(emulator, batch_line_error_rate=1.0, batch_line_error_code=503)
    assert materialize(batch_inline_max_bytes=1).success  # also: JSONL input through the Files API
    assert read_partition(store, "gemini_batches", DAY).iloc[0]["input_mode"] == "file"
    outputs = read_partition(store, "model_outputs", DAY)
    assert (outputs["status"] == "ok").all() and (outputs["attempts"] == 2).all()
    ledger = read_partition(store, "call_ledger", DAY)
    batch_rows, online_rows = ledger[ledger["service_tier"] == "batch"], ledger[ledger["service_tier"] == "standard"]
    assert len(batch_rows) == len(online_rows) == seeded.valid
    assert set(batch_rows["status_code"]) == {503} and batch_rows["cost_usd"].sum() == 0
    assert online_rows["is_retry"].all() and (online_rows["attempt"] == 2).all()
    assert (online_rows["cost_usd"] == online_rows["online_cost_usd"]).all()
    assert len(served(tmp_path, "generateContent")) == seeded.valid
    costs = read_partition(store, "daily_costs", DAY)
    assert costs["saving_usd"].sum() == pytest.approx(0.0)  # nothing was answered by the batch


def test_batch_mode_can_come_from_the_routing_file(emulator, store, seeded, tmp_path, monkeypatch):
    knobs(emulator)
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes:\n  - model: gemini-3.8-flash\n    mode: batch\n")
    monkeypatch.setenv("GEMINI_ASSETS_ROUTES", str(routes))
    assert materialize(mode=None).success
    assert set(read_partition(store, "call_ledger", DAY)["service_tier"]) == {"batch"}


def test_batch_answers_get_the_online_validation_and_one_online_repair(emulator, store, tmp_path, monkeypatch):
    knobs(emulator, batch_delay_s=0.2)
    shapes = {
        "none": "",
        "once": " [[emulate:missing_field:once]]",
        "bad": " [[emulate:not_json]]",
        "cut": " [[emulate:max_tokens]]",
    }
    ids = {}
    for index, (name, directive) in enumerate(shapes.items()):
        key = f"landing/{DAY}/product_recognition/tests/{name}.png"
        buffer = io.BytesIO()
        Image.new("RGB", (96, 64), (index * 40, 40, 200)).save(buffer, format="PNG")
        land(store, key, buffer.getvalue(), context="red ceramic mug" + directive)
        ids[name] = media_id_for(key)
    assert materialize().success
    outputs = read_partition(store, "model_outputs", DAY).set_index("media_id")
    records = read_partition(store, "validated_records", DAY).set_index("media_id")
    review = read_partition(store, "review_queue", DAY).set_index("media_id")
    assert outputs.loc[ids["none"], "parse_status"] == "valid" and ids["none"] in records.index
    assert outputs.loc[ids["once"], "parse_status"] == "repaired" and ids["once"] in records.index
    assert review.loc[ids["bad"], "reason_code"] == "invalid_output"
    assert review.loc[ids["cut"], "reason_code"] == "max_tokens"  # no retry: it would be cut again
    ledger = read_partition(store, "call_ledger", DAY)
    calls = {m: sorted(zip(g["purpose"], g["service_tier"], strict=False)) for m, g in ledger.groupby("media_id")}
    assert calls[ids["none"]] == calls[ids["cut"]] == [("generate", "batch")]
    assert calls[ids["once"]] == calls[ids["bad"]] == [("generate", "batch"), ("repair", "standard")]
    assert len(served(tmp_path, "generateContent")) == 2  # the two repairs, online


def test_a_killed_process_mid_wait_is_resumed_by_another_process(emulator, store, seeded, tmp_path, monkeypatch):
    """A real crash: a `dagster asset materialize` process is SIGKILLed while it waits for its batch."""
    knobs(emulator, batch_delay_s=6.0)
    upstream = ["raw_media", "validated_media", "quarantined_media", "gemini_files"]
    resources = {**default_resources(), "gemini": GeminiResource(**FAST)}
    assert dg.materialize(
        [a for a in ASSETS if set(a.keys) & {dg.AssetKey(k) for k in upstream}],
        partition_key=DAY,
        resources=resources,
        selection=upstream,
    ).success
    config = json.dumps({"resources": {"gemini": {"config": {"mode": "batch", "batch_poll_initial_s": 0.2}}}})
    child = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "asset",
            "materialize",
            "-m",
            "gemini_assets.definitions",
            "--select",
            "model_outputs",
            "--partition",
            DAY,
            "--config-json",
            config,
        ],
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    records_dir = tmp_path / "storage" / "batches" / DAY
    try:
        deadline = time.monotonic() + 60
        while not list(records_dir.glob("*.json")) and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(records_dir.glob("*.json")), "the child never submitted its batch"
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the child's own process group only
        child.wait()
    assert len(emulator_batches(tmp_path)) == 1 and not served(tmp_path, "batchGenerateContent")

    assert materialize(batch_max_wait_s=30).success  # this process resumes the batch on the same emulator
    assert len(emulator_batches(tmp_path)) == 1
    assert len(served(tmp_path, "batchGenerateContent")) == seeded.valid
    batch = read_partition(store, "gemini_batches", DAY).iloc[0]
    assert batch["resumed"] == 1 and batch["state"] == "JOB_STATE_SUCCEEDED"


def test_a_recorded_batch_the_provider_no_longer_has_is_submitted_again(emulator, store, seeded, tmp_path, monkeypatch):
    knobs(emulator, batch_delay_s=1.0)
    assert not materialize(raise_on_error=False, batch_max_wait_s=0.1).success
    for path in (tmp_path / "emulator" / "batches").glob("*"):
        path.unlink()  # deleted on the provider's side (batches.delete, or its retention)
    assert materialize(batch_max_wait_s=30).success
    batches = read_partition(store, "gemini_batches", DAY)
    assert sorted(zip(batches["retired"], batches["state"], strict=False)) == [
        (False, "JOB_STATE_SUCCEEDED"),
        (True, "JOB_STATE_DELETED"),
    ]


def test_step_retries_resume_the_batch_inside_one_run(emulator, store, seeded, tmp_path, monkeypatch):
    knobs(emulator, batch_delay_s=1.0)
    result = materialize(batch_max_wait_s=0.2, batch_step_retries=5, batch_retry_wait_s=0.1)
    assert result.success
    restarts = [
        e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY" and e.step_key == "model_outputs"
    ]
    assert restarts  # the step ended while the batch ran and Dagster ran it again
    assert len(emulator_batches(tmp_path)) == 1
    assert read_partition(store, "gemini_batches", DAY).iloc[0]["resumed"] == len(restarts)
