"""task_quality from hand-built rows: every figure checked against a value worked out here."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner

from gemini_assets.cli import main
from gemini_assets.core.contracts.enums import ParseStatus, Provider, ReviewAction, Variant
from gemini_assets.core.contracts.reasons import ReviewReason
from gemini_assets.core.contracts.tables import ReviewQueueRow
from gemini_assets.core.costs.ledger import ledger_rows
from gemini_assets.core.gateway.pricing import PriceBook
from gemini_assets.core.review.decisions import Decision
from gemini_assets.core.stages.golden import GoldenItem
from gemini_assets.core.stages.intake import media_id_for
from gemini_assets.core.stages.quality import evaluations, golden_media, quality_day, quality_range
from gemini_assets.core.storage.tables import frame_of, write_partition
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_assets.core.tasks.releases import ReleasePlan, Releases
from gemini_assets_tests.rows import PRODUCT_ANSWER, attempt, media_item, output

TASK = "product_recognition"
DAY = "2026-11-20"
ANSWER = PRODUCT_ANSWER
LABEL = {"category": "kitchenware", "dominant_colors": ["red", "white"]}


def sha(name: str) -> str:
    return name.encode().hex().ljust(64, "0")


def golden_item(name: str, label: dict | None = None) -> GoldenItem:
    return GoldenItem(
        golden_id=sha(name)[:20],
        task=TASK,
        media_key=f"golden/{TASK}/media/{sha(name)}.png",
        sha256=sha(name),
        extension="png",
        media_kind="image",
        mime_type="image/png",
        size_bytes=1234,
        expected=label or LABEL,
        task_version="1.0.0",
        source="seeded",
        added_by="ana",
        added_at=datetime(2026, 11, 1, tzinfo=UTC),
        uploader="studio",
        consent=True,
        residency="global",
        context="a mug",
    )


def answered(media_id: str, answer: dict | None, attempts: int = 1, **extra):
    """A model_outputs-style row; ``answer`` None: the model's answer failed validation."""
    log = [attempt(n, purpose="generate" if n == 1 else "repair") for n in range(1, attempts + 1)]
    extra.setdefault("provider", Provider.GEMINI)
    return output(
        media_id,
        log,
        parse_status=ParseStatus.VALID if answer else ParseStatus.INVALID,
        parsed_json=json.dumps(answer) if answer else None,
        **extra,
    )


def golden_row(name: str, answer: dict | None, model: str = "gemini-3.8-flash"):
    return answered(f"g-{name}", answer, sha256=sha(name), variant=Variant.GOLDEN, model=model)


def queued(media_id: str, candidate: dict | None) -> ReviewQueueRow:
    return ReviewQueueRow(
        media_id=media_id,
        task=TASK,
        sha256="0" * 64,
        stage="validation",
        reason_code=ReviewReason.LOW_CONFIDENCE if candidate else ReviewReason.INVALID_OUTPUT,
        reason_detail="test",
        model="gemini-3.8-flash",
        task_version="1.0.0",
        candidate_json=json.dumps(candidate) if candidate else None,
        review_status="pending",
    )


def decided(media_id: str, action: ReviewAction, record: dict | None) -> Decision:
    return Decision(
        decision_id=f"d-{media_id}",
        day=DAY,
        media_id=media_id,
        task=TASK,
        action=action,
        reviewer="ana",
        decided_at="2026-11-21T09:00:00+00:00",
        note="",
        record=record,
        reason_code=ReviewReason.LOW_CONFIDENCE,
    )


def test_a_days_quality_adds_up_from_its_rows():
    low = {**ANSWER, "confidence": 0.3}
    live = [answered("m1", ANSWER), answered("m2", ANSWER), answered("m3", low), answered("m4", None, attempts=2)]
    golden = [
        golden_row("g1", ANSWER),  # both labelled fields right: 1.0, correct
        golden_row("g2", {**ANSWER, "confidence": 0.95}),  # right, 0.95
        golden_row("g3", {**ANSWER, "category": "toy", "confidence": 0.95}),  # 0.5: wrong and over-confident
        golden_row("g4", {**ANSWER, "dominant_colors": ["red"], "confidence": 0.65}),  # colours 1/2: 0.75, wrong
        golden_row("g5", None),  # no valid answer: 0 on every field, no confidence to calibrate
    ]
    sets = {TASK: [golden_item(f"g{i}") for i in range(1, 6)]}
    review = [queued("m3", low), queued("m4", None)]
    edited = {**low, "category": "toy"}  # the reviewer changed one of four compared fields
    decisions = {"m3": decided("m3", ReviewAction.EDIT, edited), "m4": decided("m4", ReviewAction.REJECT, None)}
    media = {f"m{i}": media_item(i) for i in range(1, 5)}
    ledger = ledger_rows(live + golden, media, PriceBook(), "run")

    (row,) = quality_day(live, golden, sets, review, decisions, ledger, TaskCatalog({TASK: "1.0.0"}))

    assert (row.task, row.task_version, row.model, row.provider) == (TASK, "1.0.0", "gemini-3.8-flash", "gemini")
    assert (row.items, row.valid_output_rate, row.review_rate) == (4, 0.75, 0.5)
    # m4 had no answer to agree with; m3's edit keeps 3 of its 4 compared fields
    assert (row.reviewer_decisions, row.reviewer_agreement) == (1, pytest.approx(0.75))
    assert (row.golden_items, row.golden_correct, row.golden_accuracy) == (5, 2, 0.4)
    assert row.golden_mean_field_score == pytest.approx((1 + 1 + 0.5 + 0.75 + 0) / 5)
    assert json.loads(row.field_scores_json) == {"category": 0.6, "dominant_colors": 0.7}
    # buckets: [0.9, 1.0) holds 0.9 (right), 0.95 (right), 0.95 (wrong); [0.6, 0.7) holds 0.65 (wrong)
    top = (0.9 + 0.95 + 0.95) / 3
    assert row.calibrated_items == 4
    assert row.ece == pytest.approx((3 * abs(2 / 3 - top) + 1 * abs(0 - 0.65)) / 4)
    buckets = json.loads(row.calibration_json)
    assert [(b["low"], b["count"], b["accuracy"]) for b in buckets] == [(0.6, 1, 0.0), (0.9, 3, 0.6667)]
    assert buckets[1]["mean_confidence"] == pytest.approx(top, abs=1e-4)
    # live cost only (the golden calls are in the ledger but belong to no live item)
    live_cost = sum(r.cost_usd for r in ledger if r.media_id.startswith("m"))
    assert live_cost > 0 and row.cost_usd == pytest.approx(live_cost)
    assert row.cost_per_correct_record_usd == pytest.approx(live_cost / (4 * 0.4))
    # per-item latency sums its attempts (12.5 ms each): 12.5, 12.5, 12.5, 25
    assert row.latency_p50_ms == pytest.approx(12.5)
    assert row.latency_p95_ms == pytest.approx(12.5 + 0.85 * 12.5)
    # 4 calibrated answers are fewer than the 20 a threshold needs
    assert (row.target_precision, row.recommended_threshold, row.threshold_coverage) == (0.9, None, None)


def test_the_threshold_meeting_the_target_precision_is_recommended():
    right = [golden_row(f"r{i}", ANSWER) for i in range(18)]  # confidence 0.9, correct
    wrong_high = [golden_row(f"w{i}", {**ANSWER, "category": "toy", "confidence": 0.9}) for i in range(2)]
    wrong_low = [golden_row(f"l{i}", {**ANSWER, "category": "toy", "confidence": 0.6}) for i in range(5)]
    golden = right + wrong_high + wrong_low
    sets = {TASK: [golden_item(r.media_id.removeprefix("g-")) for r in golden]}
    (row,) = quality_day([answered("m1", ANSWER)], golden, sets, [], {}, [], TaskCatalog())
    # at 0.9: 20 answers, 18 right (precision 0.9 = the target), 20 of 25 covered; at 0.6 only 18/25
    assert (row.recommended_threshold, row.threshold_precision, row.threshold_coverage) == (0.9, 0.9, 0.8)
    assert row.golden_accuracy == pytest.approx(18 / 25)
    assert row.reviewer_agreement is None and row.cost_usd == 0 and row.latency_p50_ms is None


def test_rows_per_version_and_model_and_golden_rows_of_another_model_stay_apart():
    live = [answered("m1", ANSWER), answered("m2", ANSWER, model="gemini-challenger", variant=Variant.CHALLENGER)]
    golden = [golden_row("g1", ANSWER), golden_row("g1", {**ANSWER, "category": "toy"}, model="gemini-challenger")]
    golden.append(golden_row("stray", ANSWER))  # no longer in the set: not scored
    refused = golden_row("g1", None).model_copy(update={"model": "gemini-challenger", "status": "budget_exceeded"})
    golden.append(refused.model_copy(update={"media_id": "g-again"}))  # not asked: not scored either
    sets = {TASK: [golden_item("g1")]}
    rows = quality_day(live, golden, sets, [], {}, [], TaskCatalog({TASK: "1.0.0"}))
    assert [(r.model, r.items, r.golden_items, r.golden_accuracy) for r in rows] == [
        ("gemini-3.8-flash", 1, 1, 1.0),
        ("gemini-challenger", 1, 1, 0.0),
    ]
    assert rows[1].cost_per_correct_record_usd is None  # no right answer: no price for one


def test_a_golden_item_is_answered_like_an_accepted_upload_of_its_task():
    item = golden_item("g1")
    media = golden_media(item)
    assert media.media_id == media_id_for(f"golden/{TASK}/{item.sha256}") and len(media.media_id) == 20
    assert (media.storage_key, media.sha256, media.mime_type) == (item.media_key, item.sha256, "image/png")
    assert (media.consent, media.residency, media.context) == (True, "global", "a mug")


PROVIDERS = {"gemini-3.8-flash": Provider.GEMINI, "gpt-5.5": Provider.OPENAI}


def test_evaluations_are_the_days_models_at_the_version_the_day_runs():
    live = [
        answered("m1", ANSWER),
        answered("m2", ANSWER),
        answered("m3", ANSWER, model="gpt-5.5", provider=Provider.OPENAI),
        answered("m4", ANSWER, task_version="1.1.0"),
        answered("m5", ANSWER, task="no_such_task"),
    ]
    found, skipped = evaluations(live, TaskCatalog({TASK: "1.0.0"}), PROVIDERS.get)
    assert [(e.task, e.version, e.model, e.provider) for e in found] == [
        (TASK, "1.0.0", "gemini-3.8-flash", "gemini"),
        (TASK, "1.0.0", "gpt-5.5", "openai"),
    ]
    assert skipped == ["no_such_task: not in the task catalog", f"{TASK} 1.1.0: the day runs 1.0.0"]


def _canary(**canary) -> TaskCatalog:
    return TaskCatalog(releases=Releases(ReleasePlan.model_validate({"canaries": {TASK: canary}})))


def test_a_running_canary_answers_the_golden_set_even_without_live_items():
    live = [answered("m1", ANSWER, task_version="1.0.0"), answered("m2", ANSWER, model="gpt-5.5", task_version="1.0.0")]
    found, skipped = evaluations(live, _canary(version="1.1.0", share=0.0), PROVIDERS.get)
    assert [(e.version, e.model) for e in found] == [
        ("1.0.0", "gemini-3.8-flash"),
        ("1.0.0", "gpt-5.5"),
        ("1.1.0", "gemini-3.8-flash"),  # the candidate version, with each model of the day
        ("1.1.0", "gpt-5.5"),
    ]
    assert skipped == []
    current = [answered("m1", ANSWER, task_version="1.1.0")]
    found, _ = evaluations(current, _canary(model="gpt-5.5", share=0.0), PROVIDERS.get)
    assert [(e.version, e.model, e.provider) for e in found] == [
        ("1.1.0", "gemini-3.8-flash", "gemini"),  # no baseline named: the current version
        ("1.1.0", "gpt-5.5", "openai"),
    ]
    # a run pinned to a version (a re-run, a rollback) runs no canary
    pinned = TaskCatalog({TASK: "1.0.0"}, _canary(version="1.1.0").releases)
    found, _ = evaluations(live[:1], pinned, PROVIDERS.get)
    assert [(e.version, e.model) for e in found] == [("1.0.0", "gemini-3.8-flash")]


def test_the_quality_command_prints_the_days_and_charts_them(store, tmp_path):
    for day, accuracy in (("2026-11-20", 1.0), ("2026-11-21", 0.0)):
        label = {"category": "kitchenware"} if accuracy else {"category": "toy"}
        golden = [golden_row("g1", {**ANSWER, "confidence": 0.95})]
        sets = {TASK: [golden_item("g1", label)]}
        live = [answered("m1", ANSWER)]
        ledger = ledger_rows(live, {"m1": media_item(1, media_id="m1")}, PriceBook(), "r")
        rows = quality_day(live, golden, sets, [], {}, ledger, TaskCatalog({TASK: "1.0.0"}))
        write_partition(store, "task_quality", day, frame_of("task_quality", rows))
    chart = tmp_path / "quality.png"
    result = CliRunner().invoke(main, ["quality", "--from", "2026-11-19", "--to", "2026-11-22", "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    lines = [row for row in result.output.splitlines() if TASK in row]
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    assert [c[:4] for c in cells] == [[day, TASK, "1.0.0", "gemini-3.8-flash"] for day in ("2026-11-20", "2026-11-21")]
    assert [c[8] for c in cells] == ["1", "0"]  # golden accuracy
    assert [c[14] for c in cells] == ["0.05", "0.95"]  # ECE: one answer at 0.95, right then wrong
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(quality_range(store, date(2026, 11, 20), date(2026, 11, 20))) == 1
    reversed_range = CliRunner().invoke(main, ["quality", "--from", "2026-11-22", "--to", "2026-11-20"])
    assert reversed_range.exit_code == 2 and "before" in reversed_range.output
