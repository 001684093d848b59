"""Step 3c, compare: model_comparison, the shadow A/B test of the day in numbers.

One row per task x champion x challenger. Both sides are judged by the same function that
decides records and review (core/output/judge.py), so "valid" and "review" mean here what they
mean in validated_records; cost and latency come from call_ledger (every call of the item and
model in the partition, repairs and retries included), so they add up to what the day cost.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pandas as pd

from gemini_assets.core.contracts.enums import OutputStatus, ParseStatus
from gemini_assets.core.contracts.tables import CallLedgerRow, ModelComparisonRow, ModelOutputRow
from gemini_assets.core.output.agreement import field_agreement, mean_agreement
from gemini_assets.core.output.judge import Rejected, judge
from gemini_assets.core.privacy.filters import TextFilter
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.storage.tables import partition_key, read_partition, rows_from
from gemini_assets.core.tasks.catalog import TaskCatalog

MAX_DAYS = 3660
RowT = TypeVar("RowT", ModelOutputRow, CallLedgerRow)

NOT_APPLICABLE = frozenset({OutputStatus.UNSUPPORTED_BY_MODEL, OutputStatus.RESIDENCY_BLOCKED})
# A side "answered" when the model was asked (or its answer was archived); an API error after the
# retries counts as answered-invalid: unreliability is part of what a comparison must show.
ANSWERED = frozenset({OutputStatus.OK, OutputStatus.BLOCKED, OutputStatus.API_ERROR})


@dataclass
class ItemCalls:
    """One item's calls to one model, summed from call_ledger (model_comparison, task_quality)."""

    cost_usd: float = 0.0
    unpriced: int = 0
    latency_ms: float = 0.0
    calls: int = 0


@dataclass
class _Pair:
    champion: ModelOutputRow
    challenger: ModelOutputRow


@dataclass
class _Group:
    routes: set[str] = field(default_factory=set)
    in_share: int = 0
    not_applicable: int = 0
    not_called: int = 0
    pairs: list[_Pair] = field(default_factory=list)


def compare_day(
    outputs: Iterable[ModelOutputRow],
    shadows: Iterable[ModelOutputRow],
    ledger: Iterable[CallLedgerRow],
    catalog: TaskCatalog,
    text_filter: TextFilter,
) -> list[ModelComparisonRow]:
    champions = {row.media_id: row for row in outputs}
    calls = calls_by_item(ledger)
    groups: dict[tuple[str, str, str], _Group] = defaultdict(_Group)
    providers: dict[str, Any] = {}
    for shadow in shadows:
        champion = champions.get(shadow.media_id)
        champion_model = champion.model if champion else "(no champion row)"
        group = groups[(shadow.task, champion_model, shadow.model)]
        group.in_share += 1
        group.routes.add(shadow.route or "")
        providers[shadow.model] = shadow.provider
        if champion:
            providers[champion.model] = champion.provider
        if shadow.status in NOT_APPLICABLE:
            group.not_applicable += 1
        elif champion is None or shadow.status not in ANSWERED or champion.status not in ANSWERED:
            group.not_called += 1
        else:
            group.pairs.append(_Pair(champion, shadow))
    now = datetime.now(UTC)
    return [
        _row(task, champion, challenger, group, calls, catalog, text_filter, providers, now)
        for (task, champion, challenger), group in sorted(groups.items())
    ]


def _row(
    task: str,
    champion: str,
    challenger: str,
    group: _Group,
    calls: dict[tuple[str, str], ItemCalls],
    catalog: TaskCatalog,
    text_filter: TextFilter,
    providers: dict[str, Any],
    now: datetime,
) -> ModelComparisonRow:
    spec = catalog.get(task) if task in catalog.names() else None
    schema = spec.response_schema if spec else {}
    sides = {"champion": [p.champion for p in group.pairs], "challenger": [p.challenger for p in group.pairs]}
    values: dict[str, Any] = {}
    for side, rows in sides.items():
        valid = [r for r in rows if _valid(r)]
        reviewed = sum(isinstance(judge(r, spec, text_filter), Rejected) for r in rows)
        item_calls = [calls.get((r.media_id, r.model), ItemCalls()) for r in rows]
        cost = None if any(c.unpriced for c in item_calls) else sum(c.cost_usd for c in item_calls)
        latencies = pd.Series([c.latency_ms for c in item_calls if c.calls], dtype="float64")
        confidences = [c for r in valid if (c := _answer(r).get("confidence")) is not None]
        values |= {
            f"{side}_valid_rate": _rate(len(valid), len(rows)),
            f"{side}_review_rate": _rate(reviewed, len(rows)),
            f"{side}_mean_confidence": sum(confidences) / len(confidences) if confidences else None,
            f"{side}_cost_usd": cost if rows else None,
            f"{side}_cost_per_valid_usd": cost / len(valid) if cost is not None and valid else None,
            f"{side}_latency_p50_ms": float(latencies.quantile(0.5)) if len(latencies) else None,
            f"{side}_latency_p95_ms": float(latencies.quantile(0.95)) if len(latencies) else None,
        }
    per_field = [
        field_agreement(_answer(p.champion), _answer(p.challenger), schema)
        for p in group.pairs
        if _valid(p.champion) and _valid(p.challenger)
    ]
    by_field = {name: sum(f[name] for f in per_field) / len(per_field) for name in (per_field[0] if per_field else {})}
    items = [score for f in per_field if (score := mean_agreement(f)) is not None]
    return ModelComparisonRow(
        task=task,
        champion_model=champion,
        champion_provider=providers.get(champion),
        challenger_model=challenger,
        challenger_provider=providers.get(challenger),
        routes=",".join(sorted(r for r in group.routes if r)),
        items_in_share=group.in_share,
        items_compared=len(group.pairs),
        items_not_applicable=group.not_applicable,
        items_not_called=group.not_called,
        items_agreement_measured=len(per_field),
        field_agreement=sum(items) / len(items) if items else None,
        field_agreement_json=json.dumps({k: round(v, 4) for k, v in by_field.items()}) if by_field else None,
        compared_at=now,
        **values,
    )


def _valid(row: ModelOutputRow) -> bool:
    return (
        row.status == OutputStatus.OK
        and row.parse_status in (ParseStatus.VALID, ParseStatus.REPAIRED)
        and bool(row.parsed_json)
    )


def _answer(row: ModelOutputRow) -> dict[str, Any]:
    value = json.loads(row.parsed_json) if row.parsed_json else {}
    return value if isinstance(value, dict) else {}


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def calls_by_item(ledger: Iterable[CallLedgerRow]) -> dict[tuple[str, str], ItemCalls]:
    found: dict[tuple[str, str], ItemCalls] = defaultdict(ItemCalls)
    for row in ledger:
        item = found[(row.media_id, row.model)]
        item.calls += 1
        item.latency_ms += row.latency_ms or 0.0
        if row.cost_usd is None:
            item.unpriced += 1
        else:
            item.cost_usd += row.cost_usd
    return found


def compare_range(
    store: ObjectStore, start: date, end: date, catalog: TaskCatalog, text_filter: TextFilter
) -> list[ModelComparisonRow]:
    """The comparison over several days, computed from their rows (not by averaging daily rates,
    which cannot give a percentile or a weighted agreement back)."""
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    if (end - start).days >= MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days per comparison")
    outputs: list[ModelOutputRow] = []
    shadows: list[ModelOutputRow] = []
    ledger: list[CallLedgerRow] = []
    day = start
    while day <= end:
        key = day.isoformat()
        if store.exists(partition_key("challenger_outputs", key)):
            shadows += _rows(store, "challenger_outputs", key, ModelOutputRow)
            outputs += _rows(store, "model_outputs", key, ModelOutputRow)
            ledger += _rows(store, "call_ledger", key, CallLedgerRow)
        day += timedelta(days=1)
    return compare_day(outputs, shadows, ledger, catalog, text_filter)


def _rows(store: ObjectStore, table: str, day: str, row: type[RowT]) -> list[RowT]:
    return rows_from(read_partition(store, table, day), row) if store.exists(partition_key(table, day)) else []
