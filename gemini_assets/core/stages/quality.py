"""Step 6, quality: golden_outputs and task_quality, how right the day's answers are.

``golden_day`` (the golden_outputs asset) answers each task's golden set with every task version
and model that answered the day's items, along the very path of a live item (plan_delivery, then
produce_output): the sanitized copy only, the residency gate, validation with one repair, the
write-ahead journal (so call_ledger and daily_costs book the calls, with variant ``golden``) and
the response archive, so content answered before by the same task version and model is not sent
again. Its answers land in golden_outputs only: never a record, never a review item.

``quality_day`` (the task_quality asset) scores those answers against the labels
(core/output/accuracy.py, calibration.py) and puts the day's live figures beside them: valid and
review rates, reviewer decisions, ledger cost and latency. docs/quality.md says how to read it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from gemini_assets.core.audit.events import item_events
from gemini_assets.core.contracts.enums import CallMode, OutputStatus, ParseStatus, Provider, Variant
from gemini_assets.core.contracts.errors import UnknownTask
from gemini_assets.core.contracts.tables import (
    CallLedgerRow,
    ModelOutputRow,
    ReviewQueueRow,
    TaskQualityRow,
    ValidatedMediaRow,
)
from gemini_assets.core.gateway.routing import RouteDecision
from gemini_assets.core.output.accuracy import (
    RecordScore,
    ReviewOutcome,
    reviewer_agreement,
    score_record,
    summarise_accuracy,
)
from gemini_assets.core.output.calibration import Calibration, Point, calibrate, recommend_threshold
from gemini_assets.core.review.decisions import Decision, latest_decisions
from gemini_assets.core.stages.compare import ANSWERED, ItemCalls, calls_by_item
from gemini_assets.core.stages.context import DayContext
from gemini_assets.core.stages.golden import GOLDEN, PROBED, GoldenItem, load_golden_set
from gemini_assets.core.stages.intake import media_id_for
from gemini_assets.core.stages.models import ModelAccess
from gemini_assets.core.stages.side_calls import SideAnswers, SideCall, answer_side_calls
from gemini_assets.core.storage.checks import CheckOutcome
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.storage.tables import partition_key, read_partition, rows_from
from gemini_assets.core.tasks.catalog import TaskCatalog

MAX_DAYS = 3660
GOLDEN_ROUTE = "golden set"

Group = tuple[str, str, str]  # task, task version, model


# ---- golden_outputs ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    """One task version and model of the day, to be measured on its task's golden set."""

    task: str
    version: str
    model: str
    provider: Provider


@dataclass
class GoldenResult(SideAnswers):
    skipped: list[str] = field(default_factory=list)  # why a version and model of the day was not measured
    coverage: CheckOutcome | None = None


def golden_media(item: GoldenItem) -> ValidatedMediaRow:
    """A golden item as the answer step sees an accepted upload: intake accepted it when it was
    added, its original is kept at ``media_key``, its sidecar fields travel with it."""
    return ValidatedMediaRow(
        # Stable per task and content, like a landed object's id: a re-run finds the same calls.
        media_id=media_id_for(f"{GOLDEN}/{item.task}/{item.sha256}"),
        task=item.task,
        sha256=item.sha256,
        media_kind=item.media_kind,
        mime_type=item.mime_type,
        extension=item.extension,
        size_bytes=item.size_bytes,
        storage_key=item.media_key,
        uploader=item.uploader,
        consent=item.consent,
        residency=item.residency,
        context=item.context,
        validated_at=item.added_at,
        **{k: v for k, v in item.probe.items() if k in PROBED},
    )


def evaluations(
    outputs: Iterable[ModelOutputRow], catalog: TaskCatalog, provider_of: Callable[[str], Provider]
) -> tuple[list[Evaluation], list[str]]:
    """The task versions and models that answered the day's items with a version the day runs,
    plus a running canary's candidate even when no live item fell in its share (it answers the
    whole golden set); the reasons for leaving others out (an unknown task, another version)."""
    found: dict[Group, Evaluation] = {}
    skipped: set[str] = set()
    for row in outputs:
        if row.task not in catalog.names():
            skipped.add(f"{row.task}: not in the task catalog")
        elif row.task_version not in (versions := catalog.versions_today(row.task)):
            skipped.add(f"{row.task} {row.task_version}: the day runs {' and '.join(versions)}")
        else:
            key = (row.task, row.task_version, row.model)
            found.setdefault(key, Evaluation(*key, row.provider or Provider.GEMINI))
    for task in sorted({key[0] for key in found}):
        canary = catalog.releases.active(task) if task not in catalog.pins else None  # a pinned run has none
        stable = [e for e in found.values() if e.task == task and e.version == catalog.get(task).version]
        if canary is not None and canary.version is not None:
            for e in stable:
                found.setdefault((task, canary.version, e.model), Evaluation(task, canary.version, e.model, e.provider))
        elif canary is not None and canary.model is not None:
            version = catalog.get(task).version
            found.setdefault(
                (task, version, canary.model), Evaluation(task, version, canary.model, provider_of(canary.model))
            )
    return [found[key] for key in sorted(found)], sorted(skipped)


def golden_day(ctx: DayContext, outputs: list[ModelOutputRow], access: ModelAccess) -> GoldenResult:
    """golden_outputs for the day: one row per golden item x task version x model that answered
    its task, a running canary's candidate included."""
    measured, skipped = evaluations(outputs, ctx.catalog, lambda model: access.routing.capabilities(model).provider)
    work: list[tuple[ValidatedMediaRow, list[Evaluation]]] = []
    for task in sorted({e.task for e in measured}):
        models = [e for e in measured if e.task == task]
        work += [(golden_media(item), models) for item in load_golden_set(ctx.store, task)]
    if not work:
        return GoldenResult(
            skipped=skipped, coverage=CheckOutcome(True, ["no golden set for the tasks of the day"], {"expected": 0})
        )
    # Each evaluation answers every item with its own version: the catalog pinned to it.
    catalogs = {e: ctx.catalog.pinned(e.task, e.version) for e in measured}
    calls = [[SideCall(item, _route(e), catalogs[e]) for e in models] for item, models in work]
    result = GoldenResult(**vars(answer_side_calls(ctx, access, calls, "golden outputs")), skipped=skipped)
    result.rows.sort(key=lambda row: (row.task, row.media_id, row.task_version, row.model))
    result.coverage = _coverage(work, result.rows)
    ctx.record(item_events("golden_decided", result.plans, "delivery", "model", "provider", "error"))
    return result


def _route(evaluation: Evaluation) -> RouteDecision:
    return RouteDecision(evaluation.model, Variant.GOLDEN, GOLDEN_ROUTE, CallMode.ONLINE, evaluation.provider)


def _coverage(work: list[tuple[ValidatedMediaRow, list[Evaluation]]], rows: list[ModelOutputRow]) -> CheckOutcome:
    expected = {(item.media_id, e.version, e.model) for item, models in work for e in models}
    found = [(row.media_id, row.task_version, row.model) for row in rows]
    ok = set(found) == expected and len(found) == len(expected)
    problems = [f"{len(found)} rows for {len(expected)} golden item x version x model triples"]
    if not ok:
        problems.append(f"missing: {sorted(expected - set(found))[:5]}")
    return CheckOutcome(ok, problems, {"expected": len(expected), "rows": len(found)})


# ---- task_quality ------------------------------------------------------------------------------
def answer_of(row: ModelOutputRow) -> dict[str, Any] | None:
    """The schema-valid answer of a row, or None (no answer, or one that failed validation)."""
    if row.status != OutputStatus.OK or row.parse_status not in (ParseStatus.VALID, ParseStatus.REPAIRED):
        return None
    value = json.loads(row.parsed_json) if row.parsed_json else None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class GoldenScores:
    scores: list[RecordScore]
    points: list[Point]  # (confidence, correct) of the scored answers that report a confidence


def score_golden(
    rows: Iterable[ModelOutputRow], labels: Mapping[str, GoldenItem], schema: dict[str, Any]
) -> GoldenScores:
    """Each golden answer against its item's label (by content). Left out: rows without a label,
    and items the model was not asked (it cannot take the media, residency, the budget, an open
    breaker): they say nothing about how right it is. An API error after the retries counts as a
    wrong answer, as in model_comparison: unreliability is part of quality."""
    properties = schema.get("properties", {})
    scores: list[RecordScore] = []
    points: list[Point] = []
    for row in rows:
        item = labels.get(row.sha256) if row.status in ANSWERED else None
        expected = {k: v for k, v in item.expected.items() if k in properties} if item else {}
        if not expected:  # not in the set any more, or labelled on fields this version lacks
            continue
        answer = answer_of(row)
        score = score_record(answer, expected, schema)
        scores.append(score)
        confidence = answer.get("confidence") if answer else None
        if isinstance(confidence, int | float) and 0.0 <= confidence <= 1.0:
            points.append((float(confidence), score.correct))
    return GoldenScores(scores, points)


def calibration_buckets(calibration: Calibration) -> list[dict[str, Any]]:
    return [
        {
            "low": round(b.low, 4),
            "high": round(b.high, 4),
            "count": b.count,
            "mean_confidence": round(b.mean_confidence or 0.0, 4),
            "accuracy": round(b.accuracy or 0.0, 4),
        }
        for b in calibration.buckets
        if b.count
    ]


@dataclass
class _Live:
    provider: Provider | None = None
    rows: list[ModelOutputRow] = field(default_factory=list)


def quality_day(
    outputs: Iterable[ModelOutputRow],
    golden: Iterable[ModelOutputRow],
    golden_sets: Mapping[str, list[GoldenItem]],
    review: Iterable[ReviewQueueRow],
    decisions: Mapping[str, Decision],
    ledger: Iterable[CallLedgerRow],
    catalog: TaskCatalog,
) -> list[TaskQualityRow]:
    """One row per task x task version x model of the day's model_outputs."""
    live: dict[Group, _Live] = defaultdict(_Live)
    for row in outputs:
        group = live[(row.task, row.task_version, row.model)]
        group.rows.append(row)
        group.provider = group.provider or row.provider
    answered: dict[Group, list[ModelOutputRow]] = defaultdict(list)
    for row in golden:
        answered[(row.task, row.task_version, row.model)].append(row)
    queued = {row.media_id: row for row in review}
    calls = calls_by_item(ledger)
    now = datetime.now(UTC)
    result = []
    for key in sorted(set(live) | set(answered)):  # a canary may have golden answers and no live item
        group = live[key]
        labels = {item.sha256: item for item in golden_sets.get(key[0], [])}
        values = _live_figures(group.rows, queued, decisions, calls, _schema(catalog, key))
        values |= _golden_figures(answered.get(key, []), labels, catalog, key, values["cost_usd"], len(group.rows))
        result.append(
            TaskQualityRow(
                task=key[0],
                task_version=key[1],
                model=key[2],
                provider=group.provider or next((r.provider for r in answered.get(key, [])), None),
                measured_at=now,
                **values,
            )
        )
    return result


def measure_day(
    ctx: DayContext,
    outputs: list[ModelOutputRow],
    golden: list[ModelOutputRow],
    review: list[ReviewQueueRow],
    ledger: list[CallLedgerRow],
) -> list[TaskQualityRow]:
    """task_quality for the day: the golden sets and review decisions as they stand now."""
    sets = {task: load_golden_set(ctx.store, task) for task in sorted({row.task for row in golden})}
    decisions = latest_decisions(ctx.store, ctx.day)
    return quality_day(outputs, golden, sets, review, decisions, ledger, ctx.catalog)


def _schema(catalog: TaskCatalog, key: Group) -> dict[str, Any] | None:
    try:
        return catalog.get(key[0], key[1]).response_schema
    except UnknownTask:
        return None


def _live_figures(
    rows: list[ModelOutputRow],
    queued: Mapping[str, ReviewQueueRow],
    decisions: Mapping[str, Decision],
    calls: Mapping[tuple[str, str], ItemCalls],
    schema: dict[str, Any] | None,
) -> dict[str, Any]:
    items = len(rows)
    in_review = [queued[r.media_id] for r in rows if r.media_id in queued]
    outcomes = [
        ReviewOutcome(decision.action, json.loads(q.candidate_json) if q.candidate_json else None, decision.record)
        for q in in_review
        if (decision := decisions.get(q.media_id)) is not None
    ]
    agreement = reviewer_agreement(outcomes, schema or {})
    item_calls = [calls.get((r.media_id, r.model), ItemCalls()) for r in rows]
    cost = None if any(c.unpriced for c in item_calls) else sum(c.cost_usd for c in item_calls)
    latencies = pd.Series([c.latency_ms for c in item_calls if c.calls], dtype="float64")
    return {
        "items": items,
        "valid_output_rate": _rate(sum(answer_of(r) is not None for r in rows), items),
        "review_rate": _rate(len(in_review), items),
        "reviewer_agreement": agreement.agreement,
        "reviewer_decisions": agreement.decided,
        "cost_usd": cost,
        "latency_p50_ms": float(latencies.quantile(0.5)) if len(latencies) else None,
        "latency_p95_ms": float(latencies.quantile(0.95)) if len(latencies) else None,
    }


def _golden_figures(
    rows: list[ModelOutputRow],
    labels: Mapping[str, GoldenItem],
    catalog: TaskCatalog,
    key: Group,
    cost: float | None,
    items: int,
) -> dict[str, Any]:
    try:
        spec = catalog.get(key[0], key[1])
    except UnknownTask:
        return {"golden_items": 0}
    scored = score_golden(rows, labels, spec.response_schema)
    summary = summarise_accuracy(scored.scores)
    calibration = calibrate(scored.points)
    choice = recommend_threshold(scored.points, spec.target_precision, spec.threshold_min_answers)
    accuracy = summary.accuracy
    return {
        "golden_items": summary.items,
        "golden_correct": summary.correct,
        "golden_accuracy": accuracy,
        "golden_mean_field_score": summary.mean_score,
        "field_scores_json": _json({k: round(v, 4) for k, v in summary.field_accuracy.items()}),
        # The cost of one right answer: the day's spend over the answers the golden set says are right.
        "cost_per_correct_record_usd": cost / (items * accuracy) if cost is not None and items and accuracy else None,
        "calibrated_items": calibration.items,
        "ece": calibration.ece,
        "calibration_json": _json(calibration_buckets(calibration)),
        "target_precision": spec.target_precision,
        "recommended_threshold": choice.threshold if choice else None,
        "threshold_precision": choice.precision if choice else None,
        "threshold_coverage": choice.coverage if choice else None,
    }


def _json(value: dict[str, Any] | list[Any]) -> str | None:
    return json.dumps(value) if value else None


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def quality_range(store: ObjectStore, start: date, end: date) -> list[tuple[str, TaskQualityRow]]:
    """The task_quality rows of the days in ``start..end`` that have a partition, day by day (a
    day's golden evaluation belongs to that day's versions and labels: it is read, not redone)."""
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    if (end - start).days >= MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days at once")
    found: list[tuple[str, TaskQualityRow]] = []
    day = start
    while day <= end:
        key = day.isoformat()
        if store.exists(partition_key("task_quality", key)):
            found += [(key, row) for row in rows_from(read_partition(store, "task_quality", key), TaskQualityRow)]
        day += timedelta(days=1)
    return found
