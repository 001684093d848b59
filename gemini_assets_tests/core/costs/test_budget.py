"""Budget configuration, pre-call estimates and the thread-safe guard."""

import json
import threading
from datetime import datetime, timezone

import pytest

from gemini_assets.core.costs.budget import BudgetConfig, BudgetConfigError, BudgetGuard, estimate_usage, load_budgets
from gemini_assets.core.costs.ledger import ledger_rows
from gemini_assets.core.gateway.pricing import PriceBook
from gemini_assets.core.storage.tables import write_partition
from gemini_assets.core.tasks.catalog import get_task
from gemini_assets.defs.tables import frame_for

TASK = "product_recognition"


def item(n=0, kind="image", **extra):
    return {"media_id": f"m{n}", "task": TASK, "media_kind": kind, "size_bytes": 50_000, "context": None, **extra}


PLAN = {"model": "gemini-3.8-flash"}


def guard(store, limit, **kwargs):
    return BudgetGuard(BudgetConfig(None, {TASK: limit}, "test"), store, **kwargs)


def estimate(model="gemini-3.8-flash"):
    return PriceBook().cost(model, datetime.now(timezone.utc).date(), estimate_usage(item(), get_task(TASK), model))[0]


def test_shipped_file_and_env_override(tmp_path, monkeypatch):
    assert load_budgets().limit(TASK) == 25.0
    path = tmp_path / "budgets.yaml"
    path.write_text("default_usd: 3\ntasks:\n  product_recognition: 0.5\n  audio_summary: null\n")
    monkeypatch.setenv("GEMINI_ASSETS_BUDGETS", str(path))
    config = load_budgets()
    assert (config.limit(TASK), config.limit("audio_summary"), config.limit("video_summary")) == (0.5, None, 3.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tasks:\n  product_recognition: -1\n", "expected a number of USD >= 0"),
        ("tasks:\n  no_such_task: 1\n", "unknown tasks ['no_such_task']"),
        ("tasks: [1, 2]\n", "tasks must map task names"),
        ("budget: 5\n", "expected a mapping with keys default_usd and tasks"),
        ("tasks: {a: [\n", "not valid YAML"),
    ],
)
def test_bad_configuration_fails_fast_with_what_to_fix(tmp_path, text, message):
    path = tmp_path / "budgets.yaml"
    path.write_text(text)
    with pytest.raises(BudgetConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_budgets(str(path))


def test_estimates_follow_the_documented_token_rates():
    task = get_task(TASK)
    text = estimate_usage(item(), task, "gemini-3.8-flash").by_modality["text"]
    assert estimate_usage(item(), task, "gemini-3.8-flash").by_modality["image"] == 1120
    assert estimate_usage(item(width=1000, height=800), task, "gemini-2.5-flash").by_modality["image"] == 2 * 2 * 258
    assert estimate_usage(item(kind="audio", duration_s=60.0), task, "gemini-3.8-flash").by_modality["audio"] == 60 * 32
    assert estimate_usage(item(kind="video", duration_s=10.0), task, "gemini-3.8-flash").by_modality["video"] == 2630
    assert estimate_usage(item(kind="document", pages=3), task, "gemini-3.8-flash").by_modality["document"] == 1680
    usage = estimate_usage(item(), task, "gemini-3.8-flash")
    assert usage.input_tokens == text + 1120 and usage.output_tokens == task.max_output_tokens


def test_concurrent_admissions_never_exceed_the_budget(store):
    per_item = estimate()
    budget = guard(store, per_item * 7.5)
    admitted = []

    def worker(offset):
        for n in range(50):
            if budget.refusal(item(offset * 100 + n), PLAN) is None:
                admitted.append(n)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 7 and budget.refused == 8 * 50 - 7


def _answered_row(media_id, usage):
    record = {"attempt": 1, "started_at": datetime.now(timezone.utc).isoformat(), "latency_ms": 1.0, "status_code": 200, "usage": usage}
    return {"media_id": media_id, "task": TASK, "task_version": "1.0.0", "model": "gemini-3.8-flash", "attempts_json": json.dumps([record])}


def test_settling_replaces_the_estimate_with_the_real_cost(store):
    per_item = estimate()
    budget = guard(store, per_item * 1.5)
    assert budget.refusal(item(1), PLAN) is None
    assert "daily budget of product_recognition" in budget.refusal(item(2), PLAN)
    small = {"input_tokens": 100, "output_tokens": 10, "thinking_tokens": 0, "cached_tokens": 0, "by_modality": {}}
    budget.settle(_answered_row("m1", small))  # real cost far below the estimate
    assert budget.refusal(item(3), PLAN) is None


def test_spend_already_in_the_ledger_today_counts(store):
    row = _answered_row("earlier", {"input_tokens": 1_000_000, "output_tokens": 0, "thinking_tokens": 0, "cached_tokens": 0, "by_modality": {}})
    ledger = ledger_rows([row], {"earlier": {"media_kind": "image"}}, PriceBook(), "run-0")  # 0.75 USD today
    write_partition(store, "call_ledger", "2026-11-01", frame_for("call_ledger", ledger))
    assert guard(store, 0.75).refusal(item(), PLAN) is not None
    assert guard(store, 0.76).refusal(item(), PLAN) is None


def test_unpriced_model_is_refused_not_guessed(store):
    assert "no price for model 'gemini-99'" in guard(store, 100.0).refusal(item(), {"model": "gemini-99"})
    assert guard(store, None).refusal(item(), {"model": "gemini-99"}) is None  # no budget, nothing to project
