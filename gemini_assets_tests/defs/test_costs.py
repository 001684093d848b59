"""Costs through real materializations: the emulator's own log is the provider's meter."""

from collections import Counter
from datetime import UTC

import dagster as dg
import pandas as pd
import pytest

from gemini_assets.core.storage.tables import read_partition, write_partition
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import GeminiResource, default_resources
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.samples.day import seed_day

# Whole-day materializations through Dagster and the emulator: slow.
pytestmark = pytest.mark.slow

DAY = "2026-11-20"
FLASH = {"gemini-3.8-flash": (0.75, 3.75)}  # USD per 1M input / output tokens (prices.csv, 2026)


def materialize(selection=None, day=DAY, raise_on_error=True, run_config=None, **gemini):
    resources = default_resources()
    if gemini:
        resources["gemini"] = GeminiResource(**gemini)
    return dg.materialize(
        ASSETS,
        selection=selection,
        partition_key=day,
        resources=resources,
        raise_on_error=raise_on_error,
        run_config=run_config,
    )


def served(tmp_path):
    return [line for line in read_served_log(tmp_path / "emulator") if line["method"] == "generateContent"]


def test_ledger_totals_equal_what_the_emulator_served(emulator, store, tmp_path, monkeypatch):
    # Two injected failures: failed attempts are ledger rows too (with no tokens, cost 0).
    emulator.set_knobs(script=[503, 500])
    seed_day(store, DAY, 12)
    result = materialize(initial_backoff_s=0.01, max_backoff_s=0.02)
    ledger, log = read_partition(store, "call_ledger", DAY), served(tmp_path)

    assert len(ledger) == len(log)
    assert Counter(ledger["status_code"].tolist()) == Counter(line["status"] for line in log)
    assert int((ledger["status_code"] != 200).sum()) == 2 and int(ledger["is_retry"].sum()) == 2
    usage = [line["usage"] or {} for line in log]
    for column, key in (
        ("input_tokens", "promptTokenCount"),
        ("output_tokens", "candidatesTokenCount"),
        ("thinking_tokens", "thoughtsTokenCount"),
        ("cached_tokens", "cachedContentTokenCount"),
    ):
        assert int(ledger[column].sum()) == sum(u.get(key, 0) for u in usage), column
    for modality in ("TEXT", "IMAGE"):
        expected = sum(
            d["tokenCount"] for u in usage for d in u.get("promptTokensDetails", []) if d["modality"] == modality
        )
        assert int(ledger[f"{modality.lower()}_input_tokens"].sum()) == expected

    # Cost by hand from the served usage and the 2026 flash price.
    assert set(ledger["model"]) <= set(FLASH)
    by_hand = sum(u.get("promptTokenCount", 0) * 0.75 + u.get("candidatesTokenCount", 0) * 3.75 for u in usage) / 1e6
    assert float(ledger["cost_usd"].sum()) == pytest.approx(by_hand, rel=1e-9)
    costs = read_partition(store, "daily_costs", DAY)
    assert float(costs["cost_usd"].sum()) == pytest.approx(by_hand, rel=1e-9)
    assert int(costs["calls"].sum()) == len(log) and int(costs["failed_calls"].sum()) == 2

    # Numeric metadata, so the UI plots cost and tokens over time.
    meta = result.asset_materializations_for_node("call_ledger")[0].metadata
    assert isinstance(meta["cost_usd"], dg.FloatMetadataValue) and meta["cost_usd"].value == pytest.approx(
        by_hand, rel=1e-9
    )
    assert isinstance(meta["input_tokens"], dg.IntMetadataValue) and meta["input_tokens"].value == int(
        ledger["input_tokens"].sum()
    )
    daily_meta = result.asset_materializations_for_node("daily_costs")[0].metadata
    assert isinstance(daily_meta["cost_per_item_usd"], dg.FloatMetadataValue)
    assert daily_meta["items"].value == int(costs["items"].sum())


def test_rerun_from_cache_keeps_the_calls_already_billed(store, tmp_path):
    seed_day(store, DAY, 8)
    first = materialize()
    calls = len(served(tmp_path))
    second = materialize()
    ledger = read_partition(store, "call_ledger", DAY)
    assert len(served(tmp_path)) == calls == len(ledger)  # no new call, no lost row
    assert set(ledger["run_id"]) == {first.run_id} != {second.run_id}
    meta = second.asset_materializations_for_node("call_ledger")[0].metadata
    assert meta["calls_this_run"].value == 0 and meta["calls"].value == calls


def _ledger_moved_to(store, day):
    """The real ledger of DAY, as if its calls had been made on ``day`` (billing days follow started_at)."""
    ledger = read_partition(store, "call_ledger", DAY)
    shifted = pd.Timestamp(day, tz="UTC") + (ledger["started_at"] - ledger["started_at"].dt.floor("D"))
    write_partition(store, "call_ledger", DAY, ledger.assign(started_at=shifted))
    return ledger


def _billing_export(store, ledger, factor=1.0, extra=""):
    lines = ["usage_date,service_description,sku_description,cost,currency"]
    for model, cost in ledger.groupby("model")["cost_usd"].sum().items():
        name = " ".join(part.capitalize() for part in model.split("-"))
        lines.append(f"{DAY},Generative Language API,{name} input tokens,{cost * 0.7 * factor!r},USD")
        lines.append(f"{DAY},Generative Language API,{name} output tokens,{cost * 0.3 * factor!r},USD")
    store.write_bytes("billing/gemini-2026-11.csv", ("\n".join(lines) + "\n" + extra).encode())


def _reconcile(raise_on_error=False, **config):
    run_config = {"ops": {"billing_reconciliation": {"config": config}}} if config else None
    result = materialize(["billing_reconciliation"], raise_on_error=raise_on_error, run_config=run_config)
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "billing_matches_ledger"]
    return result, evaluation


def test_reconciliation_passes_on_a_matching_export_and_catches_a_discrepancy(store):
    seed_day(store, DAY, 8)
    materialize()
    ledger = _ledger_moved_to(store, DAY)

    _, evaluation = _reconcile()
    assert evaluation.passed and "awaiting_billing" in str(
        read_partition(store, "billing_reconciliation", DAY)["status"].tolist()
    )

    _billing_export(store, ledger)
    result, evaluation = _reconcile(raise_on_error=True)
    assert evaluation.passed
    table = read_partition(store, "billing_reconciliation", DAY)
    assert table["status"].tolist() == ["match"] and table["billing_usd"].iloc[0] == pytest.approx(
        ledger["cost_usd"].sum()
    )
    assert result.asset_materializations_for_node("billing_reconciliation")[0].metadata["billing_usd"].value > 0

    _billing_export(store, ledger, factor=1.05)  # provider billed 5 % more than our books say
    result, evaluation = _reconcile(tolerance_abs_usd=0.0)
    assert not evaluation.passed and not result.success
    assert read_partition(store, "billing_reconciliation", DAY)["status"].tolist() == ["mismatch"]
    assert "mismatch" in evaluation.description

    # Within a 10 % tolerance the same export passes.
    _, evaluation = _reconcile(tolerance_pct=10.0, tolerance_abs_usd=0.0)
    assert evaluation.passed

    # A charge we never made (default tolerances) fails too.
    _billing_export(
        store, ledger, extra=f"{DAY},Generative Language API,Gemini 3.1 Pro Preview input tokens,2.00,USD\n"
    )
    _, evaluation = _reconcile()
    assert not evaluation.passed and "gemini-3.1-pro-preview: missing_in_ledger" in evaluation.description


def _budget_file(tmp_path, monkeypatch, usd):
    path = tmp_path / "budgets.yaml"
    path.write_text(f"tasks:\n  product_recognition: {usd!r}\n")
    monkeypatch.setenv("GEMINI_ASSETS_BUDGETS", str(path))


@pytest.mark.slow
def test_budget_sends_the_rest_to_review_without_calling(store, tmp_path, monkeypatch):
    from datetime import datetime

    from gemini_assets.core.contracts.tables import ValidatedMediaRow
    from gemini_assets.core.costs.budget import estimate_usage
    from gemini_assets.core.gateway.pricing import PriceBook
    from gemini_assets.core.privacy.filters import TextFilter
    from gemini_assets.core.storage.tables import rows_from
    from gemini_assets.core.tasks.catalog import TaskCatalog

    summary = seed_day(store, DAY, 12)
    materialize(["raw_media", "validated_media", "quarantined_media"])
    item = rows_from(read_partition(store, "validated_media", DAY), ValidatedMediaRow)[0]
    task = TaskCatalog().get(item.task)
    usage = estimate_usage(item, task, task.model, TextFilter())
    per_item = PriceBook().cost(task.model, datetime.now(UTC).date(), usage)[0]
    budget = per_item * 1.5
    _budget_file(tmp_path, monkeypatch, budget)

    materialize(concurrency=2)
    outputs = read_partition(store, "model_outputs", DAY)
    refused = outputs[outputs["status"] == "budget_exceeded"]
    called = outputs[outputs["status"] != "budget_exceeded"]
    assert len(called) >= 1 and len(refused) >= 1 and len(outputs) == summary.valid
    assert len(served(tmp_path)) == len(called)  # not one request for a refused item
    assert (refused["attempts"] == 0).all()
    review = read_partition(store, "review_queue", DAY)
    queued = set(review[review["reason_code"] == "budget_exceeded"]["media_id"])
    assert queued == set(refused["media_id"])
    assert all(
        "daily budget of product_recognition" in d
        for d in review[review["reason_code"] == "budget_exceeded"]["reason_detail"]
    )
    spent = float(read_partition(store, "call_ledger", DAY)["cost_usd"].sum())
    assert spent <= budget

    # Another day's partition processed today shares the same daily budget. With room for 0.9 of
    # an item left after today's earlier spend, nothing more is sent (ignoring that spend, it would be).
    _budget_file(tmp_path, monkeypatch, spent + 0.9 * per_item)
    calls = len(served(tmp_path))
    seed_day(store, "2026-11-21", 6)
    materialize(day="2026-11-21")
    assert len(served(tmp_path)) == calls
    later = read_partition(store, "model_outputs", "2026-11-21")
    assert set(later["status"]) == {"budget_exceeded"}
