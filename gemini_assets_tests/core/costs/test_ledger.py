"""Ledger rows from model_outputs attempts, accumulation across runs, daily aggregation."""

import pytest

from gemini_assets.core.costs.ledger import daily_costs, ledger_rows, merge_ledger
from gemini_assets.core.gateway.pricing import PriceBook
from gemini_assets_tests.rows import attempt, media_item, output, usage

USAGE = usage(1_000, 100, text=100, image=900)


def test_every_attempt_is_a_row_with_retry_flags_and_costs():
    attempts = [attempt(1, 503), attempt(2, 200, with_usage=USAGE), attempt(3, 200, "repair", USAGE)]
    media = {"m1": media_item(1, size_bytes=1234)}
    rows = ledger_rows([output("m1", attempts)], media, PriceBook(), "run-1")
    assert [r.attempt for r in rows] == [1, 2, 3]
    assert [r.is_retry for r in rows] == [False, True, False]  # the repair is a new request, not a retry
    assert [r.status for r in rows] == ["error", "ok", "ok"]
    assert rows[0].cost_usd == 0.0 and rows[0].input_tokens == 0  # failed: not billed
    assert rows[1].cost_usd == pytest.approx((1_000 * 0.75 + 100 * 3.75) / 1e6, rel=1e-12)
    assert rows[1].image_input_tokens == 900 and rows[1].media_bytes == 1234
    assert {r.service_tier for r in rows} == {"standard"} and {r.run_id for r in rows} == {"run-1"}
    assert len({r.call_id for r in rows}) == 3


def test_batch_tier_from_the_attempt_is_priced_at_half():
    rows = ledger_rows([output("m1", [attempt(1, 200, with_usage=USAGE, tier="batch")])], {}, PriceBook(), None)
    assert rows[0].service_tier == "batch" and rows[0].price_id.endswith("/batch")
    assert rows[0].cost_usd == pytest.approx((1_000 * 0.75 + 100 * 3.75) / 2e6, rel=1e-12)


def _as_read(rows):
    """Ledger rows as read back from Parquet (plain values)."""
    return [row.model_dump() for row in rows]


def test_rebuilding_keeps_earlier_calls_once_and_their_run_id():
    first = ledger_rows([output("m1", [attempt(1, 200, with_usage=USAGE)])], {}, PriceBook(), "run-1")
    # Run 2 reused the cached answer for m1 (no attempt) and called m2.
    second = ledger_rows([output("m2", [attempt(1, 200, with_usage=USAGE, offset_s=60)])], {}, PriceBook(), "run-2")
    merged = merge_ledger(_as_read(first), second)
    assert [(r.media_id, r.run_id) for r in merged] == [("m1", "run-1"), ("m2", "run-2")]
    # Re-materializing the ledger alone from the same outputs adds nothing and keeps run-2 as the caller.
    again_rows = ledger_rows([output("m2", [attempt(1, 200, with_usage=USAGE, offset_s=60)])], {}, PriceBook(), "run-3")
    again = merge_ledger(_as_read(merged), again_rows)
    assert [(r.media_id, r.run_id) for r in again] == [("m1", "run-1"), ("m2", "run-2")]


def test_rows_of_an_older_release_are_upgraded():
    old = _as_read(ledger_rows([output("m1", [attempt(1, 200, with_usage=USAGE)])], {}, PriceBook(), "run-1"))[0]
    for column in ("service_tier", "online_cost_usd", "backend", "provider", "is_retry"):
        old.pop(column)
    (upgraded,) = merge_ledger([old], [])
    assert upgraded.service_tier == "standard" and upgraded.online_cost_usd == upgraded.cost_usd
    assert upgraded.backend is None and upgraded.is_retry is False


def test_daily_costs_aggregates_and_keeps_unpriced_days_null():
    rows = ledger_rows(
        [
            output("m1", [attempt(1, 503), attempt(2, 200, with_usage=USAGE)]),
            output("m2", [attempt(1, 200, with_usage=USAGE)]),
            output("m3", [attempt(1, 200, with_usage=USAGE)], model="gemini-99-unknown"),
        ],
        {name: media_item(media_id=name) for name in ("m1", "m2", "m3")},
        PriceBook(),
        None,
    )
    costs = {row.model: row for row in daily_costs(rows)}
    flash = costs["gemini-3.8-flash"]
    assert (flash.calls, flash.failed_calls, flash.items, flash.input_tokens) == (3, 1, 2, 2_000)
    assert flash.cost_usd == pytest.approx(2 * (1_000 * 0.75 + 100 * 3.75) / 1e6, rel=1e-12)
    assert flash.cost_per_item_usd == pytest.approx(flash.cost_usd / 2)
    unknown = costs["gemini-99-unknown"]
    assert unknown.cost_usd is None and unknown.unpriced_calls == 1
