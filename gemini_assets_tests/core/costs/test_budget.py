"""Budget configuration, pre-call estimates and the thread-safe guard."""

import threading
from datetime import UTC, datetime

import pytest

from gemini_assets.core.config import load_settings
from gemini_assets.core.costs.budget import BudgetConfig, BudgetConfigError, BudgetGuard, estimate_usage, load_budgets
from gemini_assets.core.costs.ledger import ledger_rows
from gemini_assets.core.gateway.pricing import PriceBook
from gemini_assets.core.privacy.filters import TextFilter
from gemini_assets.core.storage.tables import frame_of, write_partition
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_assets_tests.rows import attempt, delivery_plan, media_item, output, usage

TASK = "product_recognition"
TASKS = TaskCatalog().names()
FILTER = TextFilter()


def item(n=0, kind="image", **extra):
    return media_item(n, TASK, kind, **extra)


PLAN = delivery_plan(model="gemini-3.8-flash")


def guard(store, limit, **kwargs):
    return BudgetGuard(BudgetConfig(None, {TASK: limit}, "test"), store, TaskCatalog(), FILTER, **kwargs)


def estimate(model="gemini-3.8-flash"):
    usage_ = estimate_usage(item(), TaskCatalog().get(TASK), model, FILTER)
    return PriceBook().cost(model, datetime.now(UTC).date(), usage_)[0]


def test_shipped_file_and_env_override(tmp_path, monkeypatch):
    assert load_budgets(None, TASKS).limit(TASK) == 25.0
    path = tmp_path / "budgets.yaml"
    path.write_text("default_usd: 3\ntasks:\n  product_recognition: 0.5\n  audio_summary: null\n")
    monkeypatch.setenv("GEMINI_ASSETS_BUDGETS", str(path))
    config = load_budgets(load_settings().budgets_file, TASKS)
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
        load_budgets(str(path), TASKS)


def test_estimates_follow_the_documented_token_rates():
    task = TaskCatalog().get(TASK)

    def estimated(model="gemini-3.8-flash", **extra):
        return estimate_usage(item(**extra), task, model, FILTER)

    text = estimated().by_modality["text"]
    assert estimated().by_modality["image"] == 1120
    assert estimated("gemini-2.5-flash", width=1000, height=800).by_modality["image"] == 2 * 2 * 258
    assert estimated(kind="audio", duration_s=60.0).by_modality["audio"] == 60 * 32
    assert estimated(kind="video", duration_s=10.0).by_modality["video"] == 2630
    assert estimated(kind="document", pages=3).by_modality["document"] == 1680
    total = estimated()
    assert total.input_tokens == text + 1120 and total.output_tokens == task.max_output_tokens


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


def _answered_row(media_id, tokens):
    return output(media_id, [attempt(1, with_usage=tokens, started=datetime.now(UTC))], task=TASK)


def test_settling_replaces_the_estimate_with_the_real_cost(store):
    per_item = estimate()
    budget = guard(store, per_item * 1.5)
    assert budget.refusal(item(1), PLAN) is None
    assert "daily budget of product_recognition" in budget.refusal(item(2), PLAN)
    budget.settle(_answered_row("m1", usage(100, 10)))  # real cost far below the estimate
    assert budget.refusal(item(3), PLAN) is None


def test_spend_already_in_the_ledger_today_counts(store):
    row = _answered_row("earlier", usage(1_000_000, 0))
    ledger = ledger_rows([row], {"earlier": item(media_id="earlier")}, PriceBook(), "run-0")  # 0.75 USD today
    write_partition(store, "call_ledger", "2026-11-01", frame_of("call_ledger", ledger))
    assert guard(store, 0.75).refusal(item(), PLAN) is not None
    assert guard(store, 0.76).refusal(item(), PLAN) is None


def test_unpriced_model_is_refused_not_guessed(store):
    unknown = delivery_plan(model="gemini-99")
    assert "no price for model 'gemini-99'" in guard(store, 100.0).refusal(item(), unknown)
    assert guard(store, None).refusal(item(), unknown) is None  # no budget, nothing to project
