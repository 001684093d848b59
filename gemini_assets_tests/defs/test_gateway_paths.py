"""Gateway edge paths through real materializations: breaker, 429s, A/B routing, Files API cleanup.

The tests' emulator (conftest) is tuned through its knobs; nothing is mocked.
"""

from __future__ import annotations

import dagster as dg
import pytest

from gemini_assets.core.storage.tables import read_partition
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import GeminiResource, default_resources
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.samples.day import seed_day

# Whole-day materializations through Dagster and the emulator: slow.
pytestmark = pytest.mark.slow

DAY = "2026-11-21"
FAST = {"initial_backoff_s": 0.01, "max_backoff_s": 0.05, "timeout_s": 10}


def materialize(**gemini):
    resources = {**default_resources(), "gemini": GeminiResource(**{**FAST, **gemini})}
    return dg.materialize(ASSETS, partition_key=DAY, resources=resources)


def generate_log(tmp_path):
    return [r for r in read_served_log(tmp_path / "emulator") if r["method"] == "generateContent"]


@pytest.fixture
def seeded(store):
    return seed_day(store, DAY, 16)


def test_open_breaker_sends_the_rest_to_review_without_calling(emulator, store, seeded, tmp_path, monkeypatch):
    emulator.set_knobs(error_rate=1.0, error_codes=[503])
    result = materialize(max_attempts=2, breaker_failures=3, breaker_reset_s=600, concurrency=1)
    assert result.success  # no API error fails the partition

    outputs = read_partition(store, "model_outputs", DAY)
    assert len(outputs) == seeded.valid  # exactly one row per item
    statuses = outputs["status"].value_counts().to_dict()
    assert statuses.get("model_unavailable", 0) >= seeded.valid - 2
    assert set(statuses) <= {"api_error", "model_unavailable"}
    assert len(generate_log(tmp_path)) == 3  # the breaker stopped the hammering at its threshold

    review = read_partition(store, "review_queue", DAY)
    assert len(review) == seeded.valid
    assert (review["reason_code"] == "model_unavailable").sum() == statuses["model_unavailable"]
    ledger = read_partition(store, "call_ledger", DAY)
    assert len(ledger) == 3 and set(ledger["status_code"]) == {503}
    meta = result.asset_materializations_for_node("model_outputs")[0].metadata
    assert "gemini-3.8-flash" in meta["breaker_opened"].value


def test_429s_are_retried_and_every_attempt_reaches_the_ledger(emulator, store, seeded, tmp_path, monkeypatch):
    emulator.set_knobs(script=[429, 429, 503], script_retry_s=0.05)
    result = materialize(max_attempts=4, concurrency=2)
    assert result.success
    outputs = read_partition(store, "model_outputs", DAY)
    assert (outputs["status"] == "ok").all()
    ledger = read_partition(store, "call_ledger", DAY)
    served = generate_log(tmp_path)
    assert len(ledger) == len(served) == seeded.valid + 3
    assert sorted(ledger["status_code"].tolist()).count(429) == 2
    assert ledger["rpm_used"].notna().all() and ledger["rpd_used"].notna().all()


def test_ab_challenger_share_is_recorded_in_every_table(store, seeded, tmp_path, monkeypatch):
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "routes:\n  - name: ab\n    model: gemini-3.8-flash\n"
        "    challenger: {model: gemini-3.5-flash, fraction: 0.5, promote: true}\n"
    )
    monkeypatch.setenv("GEMINI_ASSETS_ROUTES", str(routes))
    assert materialize().success
    files = read_partition(store, "gemini_files", DAY)
    assert set(files["variant"]) == {"primary", "challenger"}
    assert set(zip(files["variant"], files["model"], strict=False)) == {
        ("primary", "gemini-3.8-flash"),
        ("challenger", "gemini-3.5-flash"),
    }
    outputs = read_partition(store, "model_outputs", DAY).set_index("media_id")
    assert (outputs.loc[files["media_id"], "variant"].values == files["variant"].values).all()
    ledger = read_partition(store, "call_ledger", DAY)
    assert set(zip(ledger["model"], ledger["variant"], strict=False)) == {
        ("gemini-3.8-flash", "primary"),
        ("gemini-3.5-flash", "challenger"),
    }
    served_models = {r["model"] for r in generate_log(tmp_path)}
    assert served_models == {"gemini-3.8-flash", "gemini-3.5-flash"}


def test_files_api_items_are_deleted_after_use(store, seeded, tmp_path):
    result = materialize(inline_max_bytes=1)  # force every image through the Files API
    assert result.success
    files = read_partition(store, "gemini_files", DAY)
    assert set(files["delivery"]) == {"files_api"} and files["remote_name"].notna().all()
    meta = result.asset_materializations_for_node("model_outputs")[0].metadata
    assert meta["remote_files_deleted"].value == files["remote_name"].nunique()
    assert not list((tmp_path / "emulator" / "files").glob("*.json"))


def test_bad_routing_file_fails_fast_before_any_call(store, seeded, tmp_path, monkeypatch):
    routes = tmp_path / "bad.yaml"
    routes.write_text("routes:\n  - model: m\n    media_kind: hologram\n")
    monkeypatch.setenv("GEMINI_ASSETS_ROUTES", str(routes))
    resources = {**default_resources(), "gemini": GeminiResource(**FAST)}
    result = dg.materialize(ASSETS, partition_key=DAY, resources=resources, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "hologram" in str(failure.event_specific_data.error)
    assert generate_log(tmp_path) == []


def test_uploads_cut_by_the_network_resume_and_gemini_files_says_so(emulator, store, seeded):
    emulator.set_knobs(upload_drops=1, upload_drop_after_bytes=512)
    result = materialize(inline_max_bytes=1)  # every item through the Files API
    assert result.success
    plans = read_partition(store, "gemini_files", DAY)
    uploaded = plans[plans["upload_bytes"].fillna(0) > 512]
    assert len(uploaded) >= 10
    assert (uploaded["remote_state"] == "ACTIVE").all() and (uploaded["upload_resumes"] == 1).all()
    assert (uploaded["upload_sessions"] == 1).all()
    # the one chunk went out whole (cut after 512 bytes), then again from the server's offset 512
    assert (uploaded["upload_bytes_sent"] == 2 * uploaded["upload_bytes"] - 512).all()
    assert emulator.stats()["upload_drops"] == len(uploaded)
    meta = result.asset_materializations_for_node("gemini_files")[0].metadata
    assert meta["upload_resumes"].value == len(uploaded)
    outputs = read_partition(store, "model_outputs", DAY)
    assert set(outputs[outputs["media_id"].isin(uploaded["media_id"])]["status"]) == {"ok"}
