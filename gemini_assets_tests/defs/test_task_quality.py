"""task_quality through Dagster, the real SDK and the emulator: a small labelled day plus a golden
set, where the emulator's degrade knob makes a known half of the golden answers wrong and
over-confident, so accuracy and calibration have values worked out by hand."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.stages.golden import GoldenSets, GoldenUpload
from gemini_assets.core.storage.tables import read_partition
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import GeminiResource, default_resources
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.samples.golden import golden_samples

pytestmark = pytest.mark.slow

DAY = "2026-11-24"
TASK = "document_extraction"  # the emulator reads a sample PDF's true fields back exactly
HONEST, DEGRADED = "checked by team A", "checked by team B"  # the context steers the degrade rule
GOLDEN = 6
LIVE = 4


def seed(store, tmp_path) -> None:
    sets = GoldenSets(store, AuditLog(store, tmp_path / "keys" / "audit_ed25519.pem"))
    for index, sample in enumerate(golden_samples(TASK, GOLDEN)):
        # The sample's own context stays (it names the document's kind), the team is appended.
        context = f"{sample.sidecar['context']}, {DEGRADED if index % 2 else HONEST}"
        upload = GoldenUpload.model_validate({**sample.sidecar, "context": context})
        assert sets.add(TASK, sample.name, sample.data, sample.expected, upload, added_by="golden-seed").added
    # The day's live uploads: other documents of the same generator (another seed), with sidecars.
    for sample in golden_samples(TASK, LIVE, seed=1):
        key = f"landing/{DAY}/{TASK}/clerk/{sample.name}"
        store.write_bytes(key, sample.data)
        store.write_bytes(f"{key}.meta.json", json.dumps(sample.sidecar).encode())


def run_day() -> dg.ExecuteInProcessResult:
    gemini = GeminiResource(initial_backoff_s=0.01, max_backoff_s=0.05, timeout_s=10)
    return dg.materialize(ASSETS, partition_key=DAY, resources={**default_resources(), "gemini": gemini})


def served(tmp_path) -> int:
    return len(read_served_log(tmp_path / "emulator"))


def test_golden_accuracy_and_calibration_of_a_degraded_half(store, emulator, tmp_path):
    seed(store, tmp_path)
    # Every field of the team B items' answers wrong, each claimed with confidence 0.95.
    emulator.set_knobs(degrade=[{"prompt_contains": DEGRADED, "wrong_rate": 1.0, "confidence": 0.95}])
    result = run_day()
    assert result.success
    assert all(check.passed for check in result.get_asset_check_evaluations())

    outputs = read_partition(store, "model_outputs", DAY)
    version, model = TaskCatalog().get(TASK).version, outputs["model"].iloc[0]
    golden = read_partition(store, "golden_outputs", DAY)
    assert len(golden) == GOLDEN and set(golden["variant"]) == {"golden"} and set(golden["status"]) == {"ok"}
    assert set(golden["task_version"]) == {version} and set(golden["model"]) == {model}

    # golden items are measured, never recorded or queued for a person
    accepted = set(read_partition(store, "validated_media", DAY)["media_id"])
    records = read_partition(store, "validated_records", DAY)
    queue = read_partition(store, "review_queue", DAY)
    assert set(records["media_id"]) | set(queue["media_id"]) == accepted
    assert not set(golden["media_id"]) & (set(records["media_id"]) | set(queue["media_id"]))

    # their calls are booked like any other: the ledger, daily_costs
    ledger = read_partition(store, "call_ledger", DAY)
    booked = ledger[ledger["variant"] == "golden"]
    assert len(booked) == int(golden["attempts"].sum()) >= GOLDEN and booked["cost_usd"].notna().all()
    assert read_partition(store, "daily_costs", DAY)["calls"].sum() == len(ledger)

    (row,) = read_partition(store, "task_quality", DAY).to_dict("records")
    assert (row["task"], row["task_version"], row["model"]) == (TASK, version, model)
    assert row["items"] == len(outputs) == LIVE and row["valid_output_rate"] == 1.0
    assert row["review_rate"] == pytest.approx(len(queue) / len(outputs))
    assert (row["golden_items"], row["golden_correct"], row["golden_accuracy"]) == (GOLDEN, 3, 0.5)

    # The honest half answers with the emulator's 0.9 and is right; the degraded half claims 0.95 and
    # is wrong. All six fall in the bucket [0.9, 1.0): N = 6, accuracy 3/6, mean confidence
    # (3 x 0.9 + 3 x 0.95) / 6 = 0.925, so ECE = 6/6 x |0.5 - 0.925| = 0.425.
    confidences = sorted(json.loads(text)["confidence"] for text in golden["parsed_json"])
    assert confidences == [0.9] * 3 + [0.95] * 3
    expected_ece = 0.425
    assert row["ece"] == pytest.approx(expected_ece) and row["calibrated_items"] == GOLDEN
    (bucket,) = json.loads(row["calibration_json"])
    assert bucket == {"low": 0.9, "high": 1.0, "count": 6, "mean_confidence": 0.925, "accuracy": 0.5}
    fields = json.loads(row["field_scores_json"])
    assert (fields["document_type"], fields["key_fields"]) == (0.5, 0.5)  # right three times, wrong three
    assert 0.5 <= fields["title"] < 0.75  # a wrong title is text: a little like the right one at most
    assert row["recommended_threshold"] is None and row["target_precision"] == 0.9  # 6 answers < 20
    assert row["reviewer_agreement"] is None  # nobody decided anything

    live = ledger[ledger["media_id"].isin(set(outputs["media_id"]))]
    assert row["cost_usd"] == pytest.approx(live["cost_usd"].sum())
    assert row["cost_per_correct_record_usd"] == pytest.approx(live["cost_usd"].sum() / (len(outputs) * 0.5))
    per_item = live.groupby("media_id")["latency_ms"].sum().astype("float64")
    assert row["latency_p50_ms"] == pytest.approx(per_item.quantile(0.5))

    meta = result.asset_materializations_for_node("task_quality")[0].metadata
    assert meta[f"accuracy: {TASK} {version} {model}"].value == 0.5
    assert meta[f"ece: {TASK} {version} {model}"].value == pytest.approx(expected_ece)

    # A re-run of the day answers the golden set from the archive: no new call, the same figures.
    calls = served(tmp_path)
    again = run_day()
    assert again.success and served(tmp_path) == calls
    assert read_partition(store, "golden_outputs", DAY)["from_cache"].all()
    (rerun,) = read_partition(store, "task_quality", DAY).to_dict("records")
    assert (rerun["golden_accuracy"], rerun["ece"]) == (0.5, pytest.approx(expected_ece))
