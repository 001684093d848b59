"""Billing export parsing and the per-day, per-model comparison with the ledger."""

from datetime import date

import pandas as pd
import pytest

from gemini_assets.core.costs.billing import model_from_sku, read_billing
from gemini_assets.core.costs.reconcile import Tolerance, reconcile, verdict
from gemini_assets.core.gateway.pricing import PriceBook

DAY = date(2026, 11, 20)
MODELS = PriceBook().models()


def test_sku_descriptions_map_to_the_longest_catalog_model():
    assert model_from_sku("Gemini 2.5 Flash Lite Input token count", MODELS) == "gemini-2.5-flash-lite"
    assert model_from_sku("Gemini 2.5 Flash output tokens", MODELS) == "gemini-2.5-flash"
    assert model_from_sku("Gemini 3.1 Pro Preview Input long context", MODELS) == "gemini-3.1-pro-preview"
    assert model_from_sku("Imagen 4 generation", MODELS) is None


def test_bigquery_and_console_exports_are_both_read(store):
    store.write_bytes(
        "billing/2026-11/bq.csv",
        b"usage_start_time,service.description,sku.description,cost,currency,currency_conversion_rate,credits\n"
        b"2026-11-20T23:30:00Z,Generative Language API,Gemini 3.8 Flash Input tokens,0.50,USD,1,-0.10\n"
        b"2026-11-21T00:30:00+01:00,Generative Language API,Gemini 3.8 Flash Output tokens,0.25,USD,1,0\n"
        b"2026-11-20T10:00:00Z,Cloud Storage,Standard Storage,9.99,USD,1,0\n"
        b"2026-11-20T10:00:00Z,Generative Language API,Gemini 3.5 Flash Input tokens,1.80,EUR,0.9,0\n",
    )
    store.write_bytes(
        "billing/console.csv",
        b"Service description,SKU description,Usage start date,Unrounded Cost ($),Cost ($)\n"
        b"Gemini API,Gemini 3.8 Flash Input tokens,2026-11-20,0.1234567,0.12\n",
    )
    export = read_billing(store, MODELS)
    assert export.problems == []
    rows = export.on(DAY)
    by_model = rows.groupby("model")["cost_usd"].sum()
    # 23:30Z and 00:30+01:00 are both 20 Nov in UTC; storage is not Gemini; EUR converted at 0.9/USD.
    assert by_model["gemini-3.8-flash"] == pytest.approx(0.50 + 0.25 + 0.1234567)
    assert by_model["gemini-3.5-flash"] == pytest.approx(2.0)
    assert rows["credits_usd"].sum() == pytest.approx(-0.10)


def test_unreadable_rows_and_files_are_problems_not_silence(store):
    store.write_bytes(
        "billing/bad.csv",
        b"usage_date,sku_description,cost,currency\n"
        b"2026-11-20,Gemini 3.8 Flash,abc,USD\n"
        b"2026-11-20,Gemini 3.8 Flash,1,JPY\n",
    )
    store.write_bytes("billing/wrong.csv", b"when,what\n1,2\n")
    problems = read_billing(store, MODELS).problems
    assert any("bad.csv line 2: unreadable" in p for p in problems)
    assert any("line 3: cost in JPY without currency_conversion_rate" in p for p in problems)
    (wrong,) = [p for p in problems if p.startswith("billing/wrong.csv")]
    assert "header matches no billing format" in wrong and "Google Cloud Billing export" in wrong


def _calls(*pairs):
    return pd.DataFrame([{"model": m, "cost_usd": c} for m, c in pairs])


def _billing(store, body: str):
    store.write_bytes("billing/export.csv", ("usage_date,sku_description,cost,currency\n" + body).encode())
    return read_billing(store, MODELS)


def test_within_tolerance_matches_beyond_fails(store):
    calls = _calls(("gemini-3.8-flash", 0.60), ("gemini-3.8-flash", 0.40))
    ok = reconcile(calls, _billing(store, "2026-11-20,Gemini 3.8 Flash Input,1.009,USD\n"), DAY, Tolerance(1.0, 0.0))
    assert [r.status for r in ok] == ["match"] and verdict(ok, read_billing(store, MODELS)).passed
    bad = reconcile(calls, _billing(store, "2026-11-20,Gemini 3.8 Flash Input,1.02,USD\n"), DAY, Tolerance(1.0, 0.0))
    assert (
        bad[0].status == "mismatch" and bad[0].diff_usd == pytest.approx(0.02) and bad[0].diff_pct == pytest.approx(2.0)
    )
    assert not verdict(bad, read_billing(store, MODELS)).passed


def test_missing_sides_unpriced_calls_and_awaiting_billing(store):
    billing = _billing(store, "2026-11-20,Gemini 3.5 Flash Input,0.30,USD\n2026-11-20,Veo video,0.10,USD\n")
    rows = {
        r.model: r.status
        for r in reconcile(_calls(("gemini-3.8-flash", 0.5), ("gemini-99", None)), billing, DAY, Tolerance())
    }
    assert rows == {
        "gemini-3.8-flash": "missing_in_billing",
        "gemini-3.5-flash": "missing_in_ledger",
        "unmatched: Veo video": "missing_in_ledger",
        "gemini-99": "unpriced",
    }
    later = reconcile(_calls(("gemini-3.8-flash", 0.5)), billing, date(2026, 11, 21), Tolerance())
    assert [r.status for r in later] == ["awaiting_billing"]
    result = verdict(later, billing)
    assert result.passed and result.awaiting
