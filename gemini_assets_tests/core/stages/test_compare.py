"""model_comparison from hand-built outputs: every figure checked against a value worked out here."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gemini_assets.cli import main
from gemini_assets.core.contracts.enums import OutputStatus, ParseStatus, Provider, Variant
from gemini_assets.core.costs.ledger import ledger_rows
from gemini_assets.core.gateway.pricing import PriceBook
from gemini_assets.core.privacy.filters import TextFilter
from gemini_assets.core.stages.compare import compare_day
from gemini_assets.core.storage.tables import frame_of, write_partition
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_assets_tests.rows import PRODUCT_ANSWER, attempt, media_item, output

ANSWER = PRODUCT_ANSWER


def champion(media_id, attempts=1, **extra):
    log = [attempt(n, purpose="generate" if n == 1 else "repair") for n in range(1, attempts + 1)]
    return output(media_id, log, parsed_json=json.dumps(ANSWER), provider=Provider.GEMINI, route="ab", **extra)


def challenger(media_id, status=OutputStatus.OK, answer=None, calls=1):
    valid = status == OutputStatus.OK and answer is not None
    return output(
        media_id,
        [attempt(n, offset_s=100) for n in range(1, calls + 1)],
        model="gpt-5.5",
        variant=Variant.CHALLENGER,
        provider=Provider.OPENAI,
        route="ab",
        status=status,
        parse_status=ParseStatus.VALID if valid else ParseStatus.INVALID if status == OutputStatus.OK else "none",
        parsed_json=json.dumps(answer) if valid else None,
    )


def test_a_days_comparison_adds_up_from_its_rows():
    champions = [champion("m1"), champion("m2", attempts=2), champion("m3"), champion("m4")]
    other = {**ANSWER, "dominant_colors": ["red"], "confidence": 0.7}
    shadows = [
        challenger("m1", answer=other),  # valid: agreement 0.875 (colours 1/2, the rest equal)
        challenger("m2", answer=None),  # answered but invalid: goes to review
        challenger("m3", status=OutputStatus.UNSUPPORTED_BY_MODEL, calls=0),  # not applicable
        challenger("m4", status=OutputStatus.BUDGET_EXCEEDED, calls=0),  # the challenger cap stopped it
    ]
    media = {f"m{i}": media_item(i) for i in range(1, 5)}
    ledger = ledger_rows(champions + shadows, media, PriceBook(), "run")
    (row,) = compare_day(champions, shadows, ledger, TaskCatalog(), TextFilter())

    assert (row.task, row.champion_model, row.challenger_model) == (
        "product_recognition",
        "gemini-3.8-flash",
        "gpt-5.5",
    )
    assert (row.champion_provider, row.challenger_provider, row.routes) == ("gemini", "openai", "ab")
    assert (row.items_in_share, row.items_compared, row.items_not_applicable, row.items_not_called) == (4, 2, 1, 1)
    assert (row.champion_valid_rate, row.challenger_valid_rate) == (1.0, 0.5)
    assert (row.champion_review_rate, row.challenger_review_rate) == (0.0, 0.5)
    assert row.items_agreement_measured == 1 and row.field_agreement == pytest.approx(0.875)
    assert json.loads(row.field_agreement_json)["dominant_colors"] == 0.5
    assert row.champion_mean_confidence == pytest.approx(0.9) and row.challenger_mean_confidence == pytest.approx(0.7)

    cost = {(r.media_id, r.model): 0.0 for r in ledger}
    for r in ledger:
        cost[(r.media_id, r.model)] += r.cost_usd
    champion_cost = cost[("m1", "gemini-3.8-flash")] + cost[("m2", "gemini-3.8-flash")]
    challenger_cost = cost[("m1", "gpt-5.5")] + cost[("m2", "gpt-5.5")]
    assert champion_cost > 0 and challenger_cost > 0
    assert row.champion_cost_usd == pytest.approx(champion_cost)
    assert row.champion_cost_per_valid_usd == pytest.approx(champion_cost / 2)
    assert row.challenger_cost_per_valid_usd == pytest.approx(challenger_cost / 1)
    # per-item latency is the sum of its attempts (12.5 ms each): m1 12.5, m2 25 (generate + repair)
    assert row.champion_latency_p50_ms == pytest.approx(18.75)
    assert row.champion_latency_p95_ms == pytest.approx(12.5 + 0.95 * 12.5)
    assert row.challenger_latency_p50_ms == pytest.approx(12.5)


def test_one_row_per_challenger_and_an_unpriced_model_stays_unknown():
    champions = [champion("m1")]
    shadows = [challenger("m1", answer=ANSWER), challenger("m1", answer=ANSWER).model_copy(update={"model": "mystery"})]
    ledger = ledger_rows(champions + shadows, {"m1": media_item(1, media_id="m1")}, PriceBook(), "run")
    rows = compare_day(champions, shadows, ledger, TaskCatalog(), TextFilter())
    assert [r.challenger_model for r in rows] == ["gpt-5.5", "mystery"]
    assert rows[0].field_agreement == 1.0
    assert rows[1].challenger_cost_usd is None and rows[1].challenger_cost_per_valid_usd is None


def test_the_compare_command_pools_the_days_and_charts_them(store, tmp_path):
    for day, ids in (("2026-11-20", ["a1", "a2"]), ("2026-11-21", ["b1"])):
        champions = [champion(i) for i in ids]
        shadows = [challenger(i, answer={**ANSWER, "category": "toy"}) for i in ids]
        ledger = ledger_rows(champions + shadows, {i: media_item(i, media_id=i) for i in ids}, PriceBook(), "r")
        for table, rows in (("model_outputs", champions), ("challenger_outputs", shadows), ("call_ledger", ledger)):
            write_partition(store, table, day, frame_of(table, rows))
    chart = tmp_path / "ab.png"
    result = CliRunner().invoke(main, ["compare", "--from", "2026-11-19", "--to", "2026-11-22", "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    (line,) = [row for row in result.output.splitlines() if "gpt-5.5" in row]
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[:4] == ["product_recognition", "gemini-3.8-flash", "gpt-5.5", "3"]  # both days pooled
    assert cells[10] == "0.75"  # category differs (0), the other three fields agree (1)
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    reversed_range = CliRunner().invoke(main, ["compare", "--from", "2026-11-22", "--to", "2026-11-20"])
    assert reversed_range.exit_code == 2 and "before" in reversed_range.output
