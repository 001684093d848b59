"""Canary releases through Dagster, the real SDK and the emulator: product_recognition 1.1.0 takes
half of the live photos and the whole golden set; the canary gate promotes it when its numbers
meet the plan's thresholds, and rolls it back (pin, audit event, run tags) when the emulator's
degrade knob makes that version answer wrong. A re-run after the rollback rebuilds the earlier
records from the archive without a call."""

from __future__ import annotations

import json

import dagster as dg
import pytest
import yaml

from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.stages.golden import GoldenSets
from gemini_assets.core.storage.tables import read_partition
from gemini_assets.core.tasks.releases import load_states
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import GeminiResource, default_resources
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.samples.day import seed_day
from gemini_devkit.samples.golden import seed_golden_sets

pytestmark = pytest.mark.slow

DAY = "2026-11-26"
TASK = "product_recognition"
PHRASE_OF_1_1 = "name the product's own colour, never the background's"  # only 1.1.0's prompt has it
GOLDEN = 10
CANARY_MODEL = "gemini-3.1-pro-preview"
PLAN = {
    "canaries": {
        TASK: {
            "version": "1.1.0",
            "baseline": "1.0.0",
            "share": 0.5,
            "thresholds": {"min_golden_items": GOLDEN, "min_golden_accuracy": 0.6, "min_valid_rate": 0.9},
        }
    }
}


@pytest.fixture
def day(store, tmp_path, monkeypatch):
    plan = tmp_path / "releases.yaml"
    plan.write_text(yaml.safe_dump(PLAN))
    monkeypatch.setenv("GEMINI_ASSETS_RELEASES", str(plan))
    seed_day(store, DAY, 12)
    seed_golden_sets(GoldenSets(store, AuditLog(store, tmp_path / "keys" / "audit_ed25519.pem")), GOLDEN, [TASK])
    return dg.DagsterInstance.ephemeral()


def run_day(instance, pins=None) -> dg.ExecuteInProcessResult:
    gemini = GeminiResource(initial_backoff_s=0.01, max_backoff_s=0.05, timeout_s=10)
    config = {"resources": {"catalog": {"config": {"pinned_versions": pins or {}}}}}
    resources = {**default_resources(), "gemini": gemini}
    result = dg.materialize(ASSETS, partition_key=DAY, resources=resources, run_config=config, instance=instance)
    assert result.success and all(check.passed for check in result.get_asset_check_evaluations())
    return result


def calls(tmp_path) -> int:
    return sum(line["method"] == "generateContent" for line in read_served_log(tmp_path / "emulator"))


def records(store) -> dict[str, tuple[str, str]]:
    frame = read_partition(store, "validated_records", DAY)
    return {r["media_id"]: (r["task_version"], r["record_json"]) for r in frame.to_dict("records")}


def gate_row(store) -> dict:
    (row,) = read_partition(store, "canary_releases", DAY).to_dict("records")
    return row


def audit_events(store, tmp_path, event: str) -> list[dict]:
    log = AuditLog(store, tmp_path / "keys" / "audit_ed25519.pem")
    assert log.verify(DAY).ok
    return [e for e in log.read(DAY) if e.get("event") == event]


def test_degraded_canary_is_rolled_back_and_a_rerun_restores_the_records(day, store, emulator, tmp_path):
    # Before the release: every photo answered by 1.0.0 (a run pinned to it: no canary runs).
    run_day(day, {TASK: "1.0.0"})
    before, calls_before = records(store), calls(tmp_path)
    assert {version for version, _ in before.values()} == {"1.0.0"}
    assert read_partition(store, "canary_releases", DAY).empty

    # The canary: 1.1.0 answers every field wrong, claiming confidence 0.95.
    emulator.set_knobs(degrade=[{"prompt_contains": PHRASE_OF_1_1, "wrong_rate": 1.0, "confidence": 0.95}])
    result = run_day(day)
    canary_items = [m for m, (version, _) in records(store).items() if version == "1.1.0"]
    outputs = read_partition(store, "model_outputs", DAY)
    in_share = set(outputs[outputs["task_version"] == "1.1.0"]["media_id"])
    assert 0 < len(in_share) < len(outputs)  # a share of the live items, not all of them
    assert set(canary_items) <= in_share
    golden = read_partition(store, "golden_outputs", DAY)
    assert golden.groupby("task_version").size().to_dict() == {"1.0.0": GOLDEN, "1.1.0": GOLDEN}

    row = gate_row(store)
    assert (row["candidate"], row["decision"], row["pinned_version"]) == ("version 1.1.0", "rolled_back", "1.0.0")
    assert row["golden_items"] == GOLDEN and row["golden_accuracy"] < 0.6
    assert row["baseline_golden_accuracy"] >= 0.6 and "golden accuracy" in row["reasons"]
    quality = read_partition(store, "task_quality", DAY)
    assert set(quality["task_version"]) == {"1.0.0", "1.1.0"}

    (event,) = audit_events(store, tmp_path, "canary_rolled_back")
    assert (event["task"], event["pinned_version"], event["decided_by"]) == (TASK, "1.0.0", "canary-gate")
    assert event["figures"]["golden_accuracy"] == row["golden_accuracy"]
    tags = day.get_run_by_id(result.run_id).tags
    assert tags[f"gemini_assets/canary.{TASK}"] == "rolled_back version 1.1.0, pinned 1.0.0"
    meta = result.asset_materializations_for_node("canary_releases")[0].metadata
    assert meta["rolled_back"].value == TASK
    state = load_states(store, [TASK])[TASK]
    assert (state.decision, state.stable_version, state.day) == ("rolled_back", "1.0.0", DAY)

    # The re-run after the rollback: every item on 1.0.0 again, answered from the archive.
    calls_canary = calls(tmp_path)
    run_day(day)
    assert calls(tmp_path) == calls_canary > calls_before
    assert records(store) == before
    assert read_partition(store, "canary_releases", DAY).empty  # decided: the canary no longer runs
    assert len(audit_events(store, tmp_path, "canary_rolled_back")) == 1


def test_good_canary_is_promoted(day, store, tmp_path):
    result = run_day(day)
    row = gate_row(store)
    assert (row["decision"], row["pinned_version"]) == ("promoted", "1.1.0")
    assert row["golden_accuracy"] >= 0.6 and row["valid_output_rate"] >= 0.9 and row["live_items"] > 0
    assert "golden accuracy" in row["reasons"] and "valid output rate" in row["reasons"]
    (event,) = audit_events(store, tmp_path, "canary_promoted")
    assert (event["pinned_version"], event["previous_version"]) == ("1.1.0", "1.0.0")
    assert json.loads(json.dumps(event["reasons"])) == row["reasons"].split("; ")
    assert day.get_run_by_id(result.run_id).tags[f"gemini_assets/canary.{TASK}"].startswith("promoted")

    # From now on every item gets 1.1.0; the baseline's answers are not used any more.
    run_day(day)
    assert set(read_partition(store, "validated_records", DAY)["task_version"]) == {"1.1.0"}
    assert set(read_partition(store, "golden_outputs", DAY)["task_version"]) == {"1.1.0"}


def test_a_degraded_model_canary_is_rolled_back_to_the_routes_model(day, store, emulator, tmp_path, monkeypatch):
    plan = tmp_path / "releases.yaml"
    canary = {"model": CANARY_MODEL, "share": 0.5, "thresholds": PLAN["canaries"][TASK]["thresholds"]}
    plan.write_text(yaml.safe_dump({"canaries": {TASK: canary}}))
    emulator.set_knobs(degrade=[{"model": CANARY_MODEL, "wrong_rate": 1.0, "confidence": 0.95}])
    result = run_day(day)

    outputs = read_partition(store, "model_outputs", DAY)
    assert 0 < (outputs["model"] == CANARY_MODEL).sum() < len(outputs)  # its share of the live items
    assert set(outputs["task_version"]) == {"1.1.0"}  # a model canary keeps the task's version
    golden = read_partition(store, "golden_outputs", DAY)
    assert golden.groupby("model").size().to_dict() == {CANARY_MODEL: GOLDEN, "gemini-3.8-flash": GOLDEN}
    row = gate_row(store)
    assert (row["candidate"], row["decision"]) == (f"model {CANARY_MODEL}", "rolled_back")
    (event,) = audit_events(store, tmp_path, "canary_rolled_back")
    assert event["candidate"] == f"model {CANARY_MODEL}" and event["pinned_model"] is None
    assert day.get_run_by_id(result.run_id).tags[f"gemini_assets/canary.{TASK}"].startswith("rolled_back model")

    run_day(day)  # every item back on the routes' model
    assert set(read_partition(store, "model_outputs", DAY)["model"]) == {"gemini-3.8-flash"}
