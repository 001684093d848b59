"""call_ledger (one row per API attempt) and daily_costs (the day's aggregates).

The ledger of a partition accumulates: a re-run that reuses cached answers makes no call, but
the calls of the earlier run were billed and stay in the books. Its rows come from the
write-ahead journal of every run of the day (core/audit/journal.py), so a killed run's calls
are there too; rows written before the journal existed are carried over. Rows are keyed by a
hash of (media_id, attempt, start time), so rebuilding the ledger never duplicates a row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from gemini_assets.core.contracts.calls import (
    OUTCOME_UNKNOWN,
    TOKEN_COLUMNS,
    Attempt,
    CallIdentity,
    JournaledCall,
    Usage,
    call_id,
)
from gemini_assets.core.contracts.enums import CallPurpose, CallStatus, ServiceTier
from gemini_assets.core.contracts.tables import CallLedgerRow, DailyCostsRow, ModelOutputRow, ValidatedMediaRow
from gemini_assets.core.gateway.pricing import PriceBook

DAILY_KEYS = ["model", "task", "media_kind"]


def attempt_cost(prices: PriceBook, model: str, attempt: Attempt) -> tuple[float | None, float | None, str | None]:
    """(cost, online cost, price id) of one attempt. Failed attempts are not billed: 0, not null."""
    if attempt.error_code == OUTCOME_UNKNOWN:
        return None, None, None  # maybe billed, tokens unknown: the day's cost says "unknown", not less
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
    """Ledger rows of the attempts in model_outputs (rows journaled before the journal existed)."""
    calls = []
    for output in outputs:
        item = media.get(output.media_id)
        identity = CallIdentity(
            media_id=output.media_id,
            task=output.task,
            task_version=output.task_version,
            model=output.model,
            variant=output.variant,
            backend=output.backend,
            provider=output.provider,
            media_kind=str(item.media_kind) if item else "unknown",
            media_bytes=item.size_bytes if item else None,
            media_duration_s=item.duration_s if item else None,
        )
        for attempt in output.attempt_log:
            started = attempt.started_at.isoformat()
            calls.append(
                JournaledCall(
                    call_id=call_id(output.media_id, attempt.attempt, started),
                    day="",
                    run_id=run_id,
                    identity=identity,
                    attempt=attempt,
                )
            )
    return journal_ledger_rows(calls, prices)


def journal_ledger_rows(calls: Iterable[JournaledCall], prices: PriceBook) -> list[CallLedgerRow]:
    """One ledger row per journaled attempt. An attempt is a retry when the attempt before it,
    of the same item, run and purpose, failed."""
    rows = []
    last: dict[tuple[str, str | None, str], Attempt] = {}
    for call in sorted(calls, key=lambda c: (c.identity.media_id, c.run_id or "", c.attempt.attempt)):
        identity, attempt = call.identity, call.booked
        thread = (identity.media_id, call.run_id, str(attempt.purpose))
        previous = last.get(thread)
        last[thread] = attempt
        cost, online_cost, price_id = attempt_cost(prices, identity.model, attempt)
        rows.append(
            CallLedgerRow(
                call_id=call.call_id,
                media_id=identity.media_id,
                task=identity.task,
                task_version=identity.task_version,
                model=identity.model,
                media_kind=identity.media_kind,
                media_bytes=identity.media_bytes,
                media_duration_s=identity.media_duration_s,
                variant=identity.variant,
                purpose=attempt.purpose,
                service_tier=attempt.service_tier,
                attempt=attempt.attempt,
                is_retry=previous is not None and not previous.ok,
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
                run_id=call.run_id,
                backend=identity.backend,
                provider=identity.provider,
            )
        )
    return sorted(rows, key=lambda r: (r.started_at, r.call_id))


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
