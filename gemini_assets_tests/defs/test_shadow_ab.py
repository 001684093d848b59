"""Shadow A/B through Dagster, the real SDKs and the emulator: challengers on OpenAI and Anthropic
answer their share beside the Gemini champion, are booked, capped and compared, never recorded."""

from __future__ import annotations

import dagster as dg
import pytest

from gemini_assets.core.storage.tables import read_partition
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import GeminiResource, default_resources
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.samples.day import seed_day

pytestmark = pytest.mark.slow

DAY = "2026-11-23"
ROUTES = """
routes:
  - name: flash
    model: gemini-3.8-flash
    challengers:
      - {model: gpt-5.5, provider: openai, fraction: 0.5}
      - {model: claude-opus-4-7, provider: anthropic, fraction: 0.5}
models:
  gpt-5.5: {provider: openai, media: [image, document], max_bytes: 20000000}
  claude-opus-4-7: {provider: anthropic, media: [image, document], max_pages: 100}
limits:
  default: {rpm: 600, tpm: 10000000, rpd: 100000}
"""


def run_day(store, tmp_path, monkeypatch, budgets: str | None = None) -> dg.ExecuteInProcessResult:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    monkeypatch.setenv("GEMINI_ASSETS_ROUTES", str(routes))
    if budgets:
        (tmp_path / "budgets.yaml").write_text(budgets)
        monkeypatch.setenv("GEMINI_ASSETS_BUDGETS", str(tmp_path / "budgets.yaml"))
    seed_day(store, DAY, 40, task="all")
    gemini = GeminiResource(initial_backoff_s=0.01, max_backoff_s=0.05, timeout_s=10)
    return dg.materialize(ASSETS, partition_key=DAY, resources={**default_resources(), "gemini": gemini})


def test_challengers_answer_in_the_shadow_and_the_day_is_compared(store, emulator, tmp_path, monkeypatch):
    result = run_day(store, tmp_path, monkeypatch)
    assert result.success
    assert all(check.passed for check in result.get_asset_check_evaluations())

    outputs = read_partition(store, "model_outputs", DAY)
    assert set(outputs["model"]) == {"gemini-3.8-flash"} and set(outputs["variant"]) == {"primary"}
    records = read_partition(store, "validated_records", DAY)
    assert set(records["model"]) == {"gemini-3.8-flash"}  # a shadow answer never becomes a record

    shadows = read_partition(store, "challenger_outputs", DAY)
    assert set(shadows["model"]) == {"gpt-5.5", "claude-opus-4-7"} and set(shadows["variant"]) == {"challenger"}
    assert not shadows.duplicated(["media_id", "model"]).any()
    kinds = read_partition(store, "validated_media", DAY).set_index("media_id")["media_kind"]
    long_media = shadows[shadows["media_id"].map(kinds).isin(["audio", "video"])]
    assert len(long_media) and set(long_media["status"]) == {"unsupported_by_model"}
    assert (long_media["attempts"] == 0).all()  # skipped, not called
    answered = shadows[~shadows.index.isin(long_media.index)]
    assert set(answered["status"]) == {"ok"} and set(answered["provider"]) == {"openai", "anthropic"}

    # every shadow attempt is booked, as the emulator served it, per provider
    served = [r for r in read_served_log(tmp_path / "emulator") if r.get("status") == 200]
    ledger = read_partition(store, "call_ledger", DAY)
    for provider in ("openai", "anthropic"):
        calls = [r for r in served if r.get("provider") == provider]
        booked = ledger[ledger["provider"] == provider]
        assert len(booked) == len(calls) == int(shadows.loc[shadows["provider"] == provider, "attempts"].sum()) > 0
        assert set(booked["variant"]) == {"challenger"} and booked["cost_usd"].notna().all()

    comparison = read_partition(store, "model_comparison", DAY)
    pairs = set(zip(comparison["task"], comparison["challenger_model"], strict=True))
    assert ("product_recognition", "gpt-5.5") in pairs and ("product_recognition", "claude-opus-4-7") in pairs
    assert (comparison["champion_model"] == "gemini-3.8-flash").all()
    assert comparison["items_in_share"].sum() == len(shadows)
    images = comparison[comparison["task"] == "product_recognition"]
    assert (images["items_compared"] > 0).all() and (images["challenger_valid_rate"] == 1.0).all()
    assert images["field_agreement"].between(0, 1).all() and images["challenger_cost_per_valid_usd"].gt(0).all()
    long_tasks = comparison[comparison["task"].isin(["audio_summary", "video_summary"])]
    assert len(long_tasks) and (long_tasks["items_not_applicable"] == long_tasks["items_in_share"]).all()
    assert (long_tasks["items_compared"] == 0).all()


def test_the_challenger_cap_stops_shadow_calls_and_leaves_the_champion_alone(store, emulator, tmp_path, monkeypatch):
    result = run_day(store, tmp_path, monkeypatch, budgets="default_usd: null\nchallenger_usd: 0.0\n")
    assert result.success
    assert set(read_partition(store, "model_outputs", DAY)["status"]) == {"ok"}
    shadows = read_partition(store, "challenger_outputs", DAY)
    applicable = shadows[shadows["status"] != "unsupported_by_model"]
    assert len(applicable) and set(applicable["status"]) == {"budget_exceeded"}
    assert applicable["error_message"].str.contains("challenger budget").all()
    served = read_served_log(tmp_path / "emulator")
    assert not [r for r in served if r.get("provider") in ("openai", "anthropic")]
    comparison = read_partition(store, "model_comparison", DAY)
    images = comparison[comparison["task"] == "product_recognition"]
    assert (images["items_not_called"] == images["items_in_share"]).all() and (images["items_compared"] == 0).all()
    meta = result.asset_materializations_for_node("challenger_outputs")[0].metadata
    assert meta["refused_by_budget"].value == len(applicable)
