"""call_ledger (one row per API attempt) and daily_costs (the day's aggregates).

The ledger of a partition accumulates: a re-run that reuses cached answers makes no call, but
the calls of the earlier run were billed and stay in the books. Rows are keyed by a hash of
(media_id, attempt, start time), so rebuilding the ledger from the same model_outputs never
duplicates a row.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from gemini_assets.core.contracts.calls import TOKEN_COLUMNS, Attempt, Usage
from gemini_assets.core.contracts.enums import CallPurpose, CallStatus, ServiceTier
from gemini_assets.core.contracts.tables import CallLedgerRow, DailyCostsRow, ModelOutputRow, ValidatedMediaRow
from gemini_assets.core.gateway.pricing import PriceBook

DAILY_KEYS = ["model", "task", "media_kind"]


def call_id(media_id: str, attempt: int, started_at: str) -> str:
    digest = hashlib.sha256(f"{media_id}|{attempt}|{started_at}".encode()).hexdigest()[:10]
    return f"{media_id}-a{attempt}-{digest}"


def attempt_cost(prices: PriceBook, model: str, attempt: Attempt) -> tuple[float | None, float | None, str | None]:
    """(cost, online cost, price id) of one attempt. Failed attempts are not billed: 0, not null."""
    if attempt.usage is None:
        return 0.0, 0.0, None
    day = attempt.started_at.date()
    cost, price_id = prices.cost(model, day, attempt.usage, attempt.service_tier)
    # What the same answer costs at the standard tier: daily_costs shows the batch saving.
    online = cost if attempt.service_tier == ServiceTier.STANDARD else prices.cost(model, day, attempt.usage)[0]
    return cost, online, price_id


def ledger_rows(
    outputs: Iterable[ModelOutputRow], media: Mapping[str, ValidatedMediaRow], prices: PriceBook, run_id: str | None
) -> list[CallLedgerRow]:
    rows = []
    for output in outputs:
        item = media.get(output.media_id)
        previous: Attempt | None = None
        for attempt in output.attempt_log:
            cost, online_cost, price_id = attempt_cost(prices, output.model, attempt)
            rows.append(
                CallLedgerRow(
                    call_id=call_id(output.media_id, attempt.attempt, attempt.started_at.isoformat()),
                    media_id=output.media_id,
                    task=output.task,
                    task_version=output.task_version,
                    model=output.model,
                    media_kind=str(item.media_kind) if item else "unknown",
                    media_bytes=item.size_bytes if item else None,
                    media_duration_s=item.duration_s if item else None,
                    variant=output.variant,
                    purpose=attempt.purpose,
                    service_tier=attempt.service_tier,
                    attempt=attempt.attempt,
                    is_retry=previous is not None and not previous.ok and previous.purpose == attempt.purpose,
                    status_code=attempt.status_code,
                    status=CallStatus.OK if attempt.ok else CallStatus.ERROR,
                    error_code=attempt.error_code,
                    **(attempt.usage or Usage()).as_columns(),
                    latency_ms=attempt.latency_ms,
                    started_at=attempt.started_at,
                    rpm_used=attempt.rpm_used,
                    tpm_used=attempt.tpm_used,
                    rpd_used=attempt.rpd_used,
                    cost_usd=cost,
                    online_cost_usd=online_cost,
                    price_id=price_id,
                    run_id=run_id,
                    backend=output.backend,
                    provider=output.provider,
                )
            )
            previous = attempt
    return rows


def merge_ledger(earlier: Iterable[dict[str, Any]], current: list[CallLedgerRow]) -> list[CallLedgerRow]:
    """Earlier rows of the partition (as read, any release) plus this run's, one row per call_id.

    A call already in the ledger keeps the run id that made it; its cost is recomputed so that
    a corrected price table reaches old rows when the ledger is rebuilt.
    """
    upgraded = [upgrade_row(row) for row in earlier]
    known = {row.call_id: row for row in upgraded}
    current_ids = {row.call_id for row in current}
    merged = [row for row in upgraded if row.call_id not in current_ids]
    for row in current:
        if row.call_id in known:
            row = row.model_copy(update={"run_id": known[row.call_id].run_id})
        merged.append(row)
    return sorted(merged, key=lambda r: (r.started_at, r.call_id))


def upgrade_row(row: dict[str, Any]) -> CallLedgerRow:
    """A row written by any release: same key rule, defaults for columns added since."""
    tier = row.get("service_tier") or ServiceTier.STANDARD
    started: datetime = row["started_at"]
    online = row.get("online_cost_usd")
    if online is None and tier == ServiceTier.STANDARD:  # rows from before the column: all standard calls
        online = row.get("cost_usd")
    known = set(CallLedgerRow.model_fields)
    return CallLedgerRow.model_validate(
        {
            **{k: v for k, v in row.items() if k in known},
            "call_id": call_id(row["media_id"], row["attempt"], started.isoformat()),
            "service_tier": tier,
            "online_cost_usd": online,
            "is_retry": bool(row.get("is_retry")),
            "purpose": row.get("purpose") or CallPurpose.GENERATE,
        }
    )


def daily_costs(ledger: Iterable[CallLedgerRow]) -> list[DailyCostsRow]:
    """Calls, items, tokens and cost per model x task x media kind. Any unpriced attempt makes
    the group's cost null: a partial sum presented as the whole is how spend goes missing."""
    groups: dict[tuple[str, str, str], list[CallLedgerRow]] = defaultdict(list)
    for row in ledger:
        groups[(row.model, row.task, row.media_kind)].append(row)
    result = []
    for (model, task, kind), rows in sorted(groups.items()):
        unpriced = sum(row.cost_usd is None for row in rows)
        cost = None if unpriced else sum(row.cost_usd or 0.0 for row in rows)
        online = None if unpriced else sum(_online(row) for row in rows)
        items = len({row.media_id for row in rows})
        tokens = {name: sum(getattr(row, name) or 0 for row in rows) for name in TOKEN_COLUMNS}
        result.append(
            DailyCostsRow(
                model=model,
                task=task,
                media_kind=kind,
                calls=len(rows),
                failed_calls=sum(row.status_code != 200 for row in rows),
                batch_calls=sum(row.service_tier == ServiceTier.BATCH for row in rows),
                items=items,
                **tokens,
                cost_usd=cost,
                cost_per_item_usd=cost / items if cost is not None and items else None,
                unpriced_calls=unpriced,
                online_cost_usd=online,
                saving_usd=online - cost if online is not None and cost is not None else None,
            )
        )
    return result


def _online(row: CallLedgerRow) -> float:
    return row.online_cost_usd if row.online_cost_usd is not None else row.cost_usd or 0.0
