"""The answer stage on the in-memory FakeGateway: every fate of an item, no HTTP, no Dagster."""

from __future__ import annotations

import pytest

from gemini_assets.core.config import load_settings
from gemini_assets.core.contracts.enums import CallMode
from gemini_assets.core.gateway.routing import load_routing
from gemini_assets.core.stages.answer import answer_day
from gemini_assets.core.stages.context import DayContext
from gemini_assets.core.stages.models import CallOptions, ModelAccess
from gemini_assets_tests.rows import delivery_plan, media_item
from gemini_devkit.fake_gateway import FakeAnswer, FakeGateway
from gemini_devkit.samples.media import make_png

DAY = "2026-11-23"
NOT_JSON = FakeAnswer("this is not JSON")


@pytest.fixture
def ctx(store) -> DayContext:
    return DayContext(store, DAY, load_settings())


def day_of(ctx: DayContext, count: int = 1, mode: CallMode = CallMode.ONLINE):
    items, plans = [], []
    for n in range(count):
        item = media_item(n, context="red mug")
        key = f"sanitized/{item.sha256}.png"
        ctx.store.write_bytes(key, make_png((64, 48)))
        items.append(item)
        plans.append(delivery_plan(item, sanitized_key=key, mode=mode))
    return items, plans


def answer(ctx: DayContext, gateway: FakeGateway, items, plans):
    return answer_day(ctx, items, plans, ModelAccess(gateway, load_routing(), CallOptions(concurrency=1), scope="fake"))


def test_a_valid_answer_is_parsed_archived_and_not_asked_for_again(ctx):
    items, plans = day_of(ctx)
    gateway = FakeGateway()
    (row,) = answer(ctx, gateway, items, plans).rows
    assert (row.status, row.parse_status, row.attempts, row.from_cache) == ("ok", "valid", 1, False)
    assert row.backend == "emulator" and row.provider == "gemini" and row.attempt_log[0].usage.input_tokens > 0
    assert "Context: red mug" in gateway.requests[0].user_text
    cached = [p.model_copy(update={"delivery": "cached"}) for p in plans]
    (again,) = answer(ctx, FakeGateway(), items, cached).rows
    assert again.from_cache and again.attempts == 0 and again.parsed_json == row.parsed_json


def test_an_item_answered_after_its_plan_was_made_is_not_called_again(ctx):
    """Guards: two runs of one day planned the same items, and both called the model for them."""
    items, plans = day_of(ctx)
    answer(ctx, FakeGateway(), items, plans)  # the first run, which held the day's lease
    second_run = FakeGateway()
    (row,) = answer(ctx, second_run, items, plans).rows  # planned before the first run answered
    assert second_run.requests == [] and row.from_cache and row.attempts == 0


def test_one_repair_retry_after_an_invalid_answer_then_review(ctx):
    items, plans = day_of(ctx)
    (repaired,) = answer(ctx, FakeGateway([NOT_JSON]), items, plans).rows
    assert repaired.parse_status == "repaired" and [a.purpose for a in repaired.attempt_log] == ["generate", "repair"]
    items, plans = day_of(ctx, count=2)  # another item: the first one's answer is archived now
    (still_bad,) = answer(ctx, FakeGateway([NOT_JSON, NOT_JSON]), items[1:], plans[1:]).rows
    assert still_bad.parse_status == "invalid" and still_bad.attempts == 2 and "not JSON" in still_bad.parse_error


def test_retryable_errors_are_attempts_in_the_log_and_blocks_are_not_repaired(ctx):
    items, plans = day_of(ctx, count=2)
    (row,) = answer(ctx, FakeGateway([503, 429]), items[:1], plans[:1]).rows
    assert row.status == "ok" and [a.status_code for a in row.attempt_log] == [503, 429, 200]
    (blocked,) = answer(ctx, FakeGateway([FakeAnswer(None, "SAFETY")]), items[1:], plans[1:]).rows
    assert blocked.status == "blocked" and blocked.attempts == 1


def test_an_open_breaker_keeps_the_attempts_already_made(ctx):
    items, plans = day_of(ctx, 2)
    rows = answer(ctx, FakeGateway(unavailable=True), items, plans).rows
    assert {r.status for r in rows} == {"model_unavailable"} and {r.error_code for r in rows} == {"circuit_open"}


def test_batch_mode_goes_through_the_gateway_interface(ctx):
    items, plans = day_of(ctx, 3, CallMode.BATCH)
    gateway = FakeGateway()
    result = answer(ctx, gateway, items, plans)
    assert len(gateway.batches) == 1 and not gateway.requests  # one batch, no online call
    assert {r.status for r in result.rows} == {"ok"} and {r.mode for r in result.rows} == {"batch"}
    assert {r.attempt_log[0].service_tier for r in result.rows} == {"batch"}
    (record,) = result.batches
    assert record.succeeded_lines == 3 and record.state == "JOB_STATE_SUCCEEDED"
