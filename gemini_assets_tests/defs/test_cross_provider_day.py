"""A day routed across Gemini, OpenAI and Anthropic through Dagster, the real SDKs and the emulator."""

from __future__ import annotations

import dagster as dg
import pytest

from gemini_assets.core.storage.tables import read_partition
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import GeminiResource, default_resources
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.samples.day import seed_day

pytestmark = pytest.mark.slow

DAY = "2026-11-22"
ROUTES = """
routes:
  - name: documents-on-claude
    task: document_extraction
    model: claude-opus-4-7
    provider: anthropic
  - name: everything-else
    model: gemini-3.8-flash
    challenger: {model: gpt-5.5, provider: openai, fraction: 0.5, promote: true}
models:
  gpt-5.5: {provider: openai, media: [image, document], max_bytes: 20000000}
  claude-opus-4-7: {provider: anthropic, media: [image, document], max_pages: 100}
limits:
  default: {rpm: 600, tpm: 10000000, rpd: 100000}
"""


def test_each_item_is_answered_by_its_provider_and_booked_as_served(store, emulator, tmp_path, monkeypatch):
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    monkeypatch.setenv("GEMINI_ASSETS_ROUTES", str(routes))
    seed_day(store, DAY, 30, task="all")
    gemini = GeminiResource(initial_backoff_s=0.01, max_backoff_s=0.05, timeout_s=10)
    result = dg.materialize(ASSETS, partition_key=DAY, resources={**default_resources(), "gemini": gemini})
    assert result.success

    outputs = read_partition(store, "model_outputs", DAY)
    assert set(outputs["status"]) == {"ok"}
    by_provider = outputs.groupby("provider")["media_id"].count().to_dict()
    assert set(by_provider) == {"gemini", "openai", "anthropic"}
    plans = read_partition(store, "gemini_files", DAY).set_index("media_id")
    documents = plans[plans["task"] == "document_extraction"]
    assert set(documents["provider"]) == {"anthropic"} and set(documents["delivery"]) <= {"inline", "cached"}
    long_media = plans[plans["task"].isin(["audio_summary", "video_summary"])]
    assert set(long_media["provider"]) == {"gemini"}  # the OpenAI challenger cannot take them
    assert long_media["decision_reason"].str.contains("not applicable").any()

    served = [r for r in read_served_log(tmp_path / "emulator") if r.get("status") == 200]
    ledger = read_partition(store, "call_ledger", DAY)
    for provider in ("openai", "anthropic"):
        calls = [r for r in served if r.get("provider") == provider]
        booked = ledger[ledger["provider"] == provider]
        assert len(booked) == len(calls) > 0
        assert int(booked["input_tokens"].sum()) == sum(served_input_tokens(r) for r in calls)
        assert booked["cost_usd"].notna().all()  # dated, sourced prices for the new models
    assert (ledger["provider"] == "gemini").sum() == sum(1 for r in served if r.get("provider") in (None, "gemini"))


def served_input_tokens(record: dict) -> int:
    usage = record.get("usage") or {}
    return int(usage.get("promptTokenCount") or usage.get("input_tokens") or 0)
