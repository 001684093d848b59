"""A day through every asset in-process: real SDK, real HTTP to the emulator, real Parquet."""

import os
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from gemini_assets.core.contracts.tables import TABLES
from gemini_assets.core.storage.tables import partition_key, read_partition, table_glob, write_partition
from gemini_assets.core.tasks.catalog import CURRENT as CATALOG
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import default_resources
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.samples.day import seed_day

DAY = "2026-11-20"


def materialize(selection=None, instance=None, raise_on_error=True):
    return dg.materialize(
        ASSETS,
        selection=selection,
        partition_key=DAY,
        resources=default_resources(),
        instance=instance,
        raise_on_error=raise_on_error,
    )


def generate_calls(state_dir) -> int:
    return sum(1 for line in read_served_log(state_dir) if line["method"] == "generateContent")


@pytest.fixture
def seeded(store):
    return seed_day(store, DAY, 24)


def test_day_materializes_through_every_table(store, seeded, tmp_path):
    result = materialize()
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations), [e.description for e in evaluations if not e.passed]

    counts = {}
    for table in TABLES:
        glob = table_glob(store, table)
        rel = duckdb.read_parquet(glob, hive_partitioning=True)
        assert "date" in rel.columns
        counts[table] = len(rel)
    assert counts["raw_media"] == 24
    assert counts["validated_media"] == seeded.valid and counts["quarantined_media"] == seeded.invalid
    assert counts["validated_records"] + counts["review_queue"] == seeded.valid
    assert counts["validated_records"] >= seeded.valid - 1
    assert counts["call_ledger"] == generate_calls(tmp_path / "emulator")

    records = read_partition(store, "validated_records", DAY)
    assert (
        set(records["task_version"]) == {CATALOG["product_recognition"].version}
        and records["prompt_hash"].str.len().eq(16).all()
    )
    costs = read_partition(store, "daily_costs", DAY)
    assert costs["cost_usd"].iloc[0] > 0 and costs["items"].iloc[0] == seeded.valid

    outputs_meta = result.asset_materializations_for_node("model_outputs")[0].metadata
    assert outputs_meta["api_attempts"].value == seeded.valid
    assert "ok" in outputs_meta["by_status"].value
    costs_meta = result.asset_materializations_for_node("daily_costs")[0].metadata
    assert costs_meta["cost_usd"].value == pytest.approx(float(costs["cost_usd"].sum()))


@pytest.mark.slow
def test_answers_describe_the_actual_media(store, seeded):
    materialize()
    media = read_partition(store, "validated_media", DAY).set_index("media_id")
    records = read_partition(store, "validated_records", DAY)
    for row in records.itertuples():
        record = pd.read_json(pd.io.common.StringIO(f"[{row.record_json}]")).iloc[0]
        item = media.loc[row.media_id]
        assert f"{item['width']}x{item['height']}" in record["description"]


@pytest.mark.slow
def test_rematerializing_makes_no_new_model_call(store, seeded, tmp_path):
    materialize()
    calls = generate_calls(tmp_path / "emulator")
    second = materialize()
    assert second.success
    assert generate_calls(tmp_path / "emulator") == calls
    outputs = read_partition(store, "model_outputs", DAY)
    assert outputs["from_cache"].all() and outputs["attempts"].sum() == 0
    assert (
        len(read_partition(store, "validated_records", DAY)) + len(read_partition(store, "review_queue", DAY))
        == seeded.valid
    )
    files = read_partition(store, "gemini_files", DAY)
    assert set(files["delivery"]) == {"cached"}


def test_broken_table_fails_its_check_and_blocks_downstream(store, seeded):
    materialize(selection=["raw_media"])
    raw = read_partition(store, "raw_media", DAY)
    write_partition(store, "raw_media", DAY, pd.concat([raw, raw.head(2)]))  # duplicated uploads

    result = materialize(selection=[k for k in TABLES if k != "raw_media"], raise_on_error=False)
    assert not result.success
    failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
    assert "validated_media_schema" in failed or "quarantined_media_schema" in failed
    assert not store.exists(partition_key("gemini_files", DAY))
    assert not store.exists(partition_key("model_outputs", DAY))


@pytest.mark.slow
def test_api_key_never_written_anywhere(store, seeded, tmp_path, monkeypatch, capfd):
    secret = "test-secret-key-0123456789abcdef-not-real"  # noqa: S105 - a fake key to look for
    # The real-API path: backend gemini (the default) with a key, through a Gemini-compatible
    # endpoint (GOOGLE_GEMINI_BASE_URL, here the emulator standing in for a gateway).
    monkeypatch.delenv("GEMINI_ASSETS_BACKEND")
    monkeypatch.setenv("GEMINI_API_KEY", secret)
    with dg.DagsterInstance.get() as instance:
        result = materialize(instance=instance)
        assert result.success
        assert result.asset_materializations_for_node("model_outputs")[0].metadata["backend"].value == "gemini"
        assert instance.get_run_by_id(result.run_id).tags["gemini_assets/backend"] == "gemini"
        for event in instance.all_logs(result.run_id):
            assert secret not in str(event)
    assert generate_calls(tmp_path / "emulator") == seeded.valid
    assert set(read_partition(store, "call_ledger", DAY)["backend"]) == {"gemini"}
    for root in (tmp_path / "storage", Path(os.environ["DAGSTER_HOME"])):
        for path in root.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
    out, err = capfd.readouterr()
    assert secret not in out + err


def test_without_key_or_backend_the_first_model_step_fails_fast_and_writes_nothing(store, seeded, monkeypatch):
    monkeypatch.delenv("GEMINI_ASSETS_BACKEND")
    result = materialize(raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["gemini_files"]
    message = str(failures[0].event_specific_data.error)
    assert "GEMINI_API_KEY" in message and "GEMINI_ASSETS_BACKEND" in message
    assert store.exists(partition_key("validated_media", DAY))  # steps before the model ran
    for table in ("gemini_files", "model_outputs", "call_ledger"):
        assert not store.exists(partition_key(table, DAY)), table
    assert not list(store.walk_files("sanitized")), "nothing is prepared for sending either"


def test_every_output_and_ledger_row_says_which_backend_and_provider_answered(store, seeded):
    assert materialize().success
    for table in ("model_outputs", "call_ledger"):
        frame = read_partition(store, table, DAY)
        assert set(frame["backend"]) == {"emulator"} and set(frame["provider"]) == {"gemini"}, table
    outputs = read_partition(store, "model_outputs", DAY)
    assert outputs["attempt_log"].map(len).sum() == outputs["attempts"].sum()
