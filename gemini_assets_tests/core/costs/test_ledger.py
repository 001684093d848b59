"""Ledger rows from model_outputs attempts, accumulation across runs, daily aggregation."""

import json
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from gemini_assets.core.costs.ledger import daily_costs, ledger_rows, merge_ledger
from gemini_assets.core.gateway.pricing import PriceBook

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)


def attempt(n, status=200, purpose="generate", usage=None, tier=None, offset_s=0):
    record = {
        "attempt": n,
        "started_at": (T0 + timedelta(seconds=offset_s + n)).isoformat(),
        "latency_ms": 12.5,
        "status_code": status,
        "error_code": None if status == 200 else "UNAVAILABLE",
        "usage": usage if status == 200 else None,
        "purpose": purpose,
    }
    if tier:
        record["service_tier"] = tier
    return record


def output(media_id, attempts, task="product_recognition", model="gemini-3.8-flash"):
    return {
        "media_id": media_id, "task": task, "task_version": "1.0.0", "model": model, "variant": "primary",
        "attempts_json": json.dumps(attempts),
    }


USAGE = {"input_tokens": 1_000, "output_tokens": 100, "thinking_tokens": 0, "cached_tokens": 0, "by_modality": {"text": 100, "image": 900}}


def test_every_attempt_is_a_row_with_retry_flags_and_costs():
    attempts = [attempt(1, 503), attempt(2, 200, usage=USAGE), attempt(3, 200, "repair", USAGE)]
    media = {"m1": {"media_kind": "image", "size_bytes": 1234, "duration_s": None}}
    rows = ledger_rows([output("m1", attempts)], media, PriceBook(), "run-1")
    assert [r["attempt"] for r in rows] == [1, 2, 3]
    assert [r["is_retry"] for r in rows] == [False, True, False]  # the repair is a new request, not a retry
    assert [r["status"] for r in rows] == ["error", "ok", "ok"]
    assert rows[0]["cost_usd"] == 0.0 and rows[0]["input_tokens"] == 0  # failed: not billed
    assert rows[1]["cost_usd"] == pytest.approx((1_000 * 0.75 + 100 * 3.75) / 1e6, rel=1e-12)
    assert rows[1]["image_input_tokens"] == 900 and rows[1]["media_bytes"] == 1234
    assert {r["service_tier"] for r in rows} == {"standard"} and {r["run_id"] for r in rows} == {"run-1"}
    assert len({r["call_id"] for r in rows}) == 3


def test_batch_tier_from_the_attempt_is_priced_at_half():
    rows = ledger_rows([output("m1", [attempt(1, 200, usage=USAGE, tier="batch")])], {}, PriceBook(), None)
    assert rows[0]["service_tier"] == "batch" and rows[0]["price_id"].endswith("/batch")
    assert rows[0]["cost_usd"] == pytest.approx((1_000 * 0.75 + 100 * 3.75) / 2e6, rel=1e-12)


def test_rebuilding_keeps_earlier_calls_once_and_their_run_id():
    first = ledger_rows([output("m1", [attempt(1, 200, usage=USAGE)])], {}, PriceBook(), "run-1")
    # Run 2 reused the cached answer for m1 (no attempt) and called m2.
    second = ledger_rows([output("m2", [attempt(1, 200, usage=USAGE, offset_s=60)])], {}, PriceBook(), "run-2")
    merged = merge_ledger(first, second)
    assert [(r["media_id"], r["run_id"]) for r in merged] == [("m1", "run-1"), ("m2", "run-2")]
    # Re-materializing the ledger alone from the same outputs adds nothing and keeps run-2 as the caller.
    again = merge_ledger(merged, ledger_rows([output("m2", [attempt(1, 200, usage=USAGE, offset_s=60)])], {}, PriceBook(), "run-3"))
    assert [(r["media_id"], r["run_id"]) for r in again] == [("m1", "run-1"), ("m2", "run-2")]


def test_daily_costs_aggregates_and_keeps_unpriced_days_null():
    rows = ledger_rows(
        [
            output("m1", [attempt(1, 503), attempt(2, 200, usage=USAGE)]),
            output("m2", [attempt(1, 200, usage=USAGE)]),
            output("m3", [attempt(1, 200, usage=USAGE)], model="gemini-99-unknown"),
        ],
        {"m1": {"media_kind": "image"}, "m2": {"media_kind": "image"}, "m3": {"media_kind": "image"}},
        PriceBook(),
        None,
    )
    costs = daily_costs(pd.DataFrame(rows)).set_index("model")
    flash = costs.loc["gemini-3.8-flash"]
    assert (flash["calls"], flash["failed_calls"], flash["items"], flash["input_tokens"]) == (3, 1, 2, 2_000)
    assert flash["cost_usd"] == pytest.approx(2 * (1_000 * 0.75 + 100 * 3.75) / 1e6, rel=1e-12)
    assert flash["cost_per_item_usd"] == pytest.approx(flash["cost_usd"] / 2)
    unknown = costs.loc["gemini-99-unknown"]
    assert pd.isna(unknown["cost_usd"]) and unknown["unpriced_calls"] == 1
