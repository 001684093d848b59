"""Step 5, account: call_ledger (one row per API attempt), daily_costs, billing_reconciliation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from gemini_assets.core.audit.journal import CallJournal
from gemini_assets.core.contracts.calls import call_id
from gemini_assets.core.contracts.tables import (
    BillingReconciliationRow,
    CallLedgerRow,
    DailyCostsRow,
    ModelOutputRow,
    ValidatedMediaRow,
)
from gemini_assets.core.costs.billing import read_billing
from gemini_assets.core.costs.history import calls_on
from gemini_assets.core.costs.ledger import daily_costs, journal_ledger_rows, ledger_rows, merge_ledger
from gemini_assets.core.costs.reconcile import Tolerance, reconcile, verdict
from gemini_assets.core.gateway.pricing import PriceBook
from gemini_assets.core.stages.context import DayContext
from gemini_assets.core.storage.checks import CheckOutcome
from gemini_assets.core.storage.tables import partition_key, read_partition, rows_of

__all__ = ["LedgerResult", "ReconciliationResult", "Tolerance", "costs_day", "ledger_day", "reconcile_day"]


@dataclass
class LedgerResult:
    rows: list[CallLedgerRow] = field(default_factory=list)
    this_run: int = 0
    matches_outputs: CheckOutcome | None = None


def ledger_day(
    ctx: DayContext, outputs: list[ModelOutputRow], items: list[ValidatedMediaRow], prices: PriceBook | None = None
) -> LedgerResult:
    """The partition's ledger: every journaled attempt of every run of the day (a killed run's
    too), plus rows of earlier releases carried over."""
    media = {item.media_id: item for item in items}
    journal = CallJournal(ctx.store, ctx.audit, ctx.day, ctx.run_id)
    current = journal_ledger_rows(journal.entries(), prices or PriceBook())
    journaled = {row.call_id for row in current}
    # Attempts in model_outputs that predate the journal (tables written by an earlier release).
    current += [
        row for row in ledger_rows(outputs, media, prices or PriceBook(), ctx.run_id) if row.call_id not in journaled
    ]
    earlier = []
    if ctx.store.exists(partition_key("call_ledger", ctx.day)):
        earlier = rows_of(read_partition(ctx.store, "call_ledger", ctx.day))
    merged = merge_ledger(earlier, current)
    expected = {
        call_id(output.media_id, attempt.attempt, attempt.started_at.isoformat())
        for output in outputs
        for attempt in output.attempt_log
    }
    missing = expected - {row.call_id for row in merged}
    matches = CheckOutcome(
        not missing,
        [f"{len(expected) - len(missing)} of the {len(expected)} attempts in model_outputs are in the ledger"],
        {"attempts": len(expected), "journaled": len(journaled), "other_runs": len(merged) - len(expected)},
    )
    this_run = sum(1 for row in current if row.run_id == ctx.run_id)
    return LedgerResult(merged, this_run, matches)


def costs_day(ledger: list[CallLedgerRow]) -> list[DailyCostsRow]:
    return daily_costs(ledger)


@dataclass
class ReconciliationResult:
    rows: list[BillingReconciliationRow]
    check: CheckOutcome
    awaiting: bool
    billing_problems: int


def reconcile_day(ctx: DayContext, tolerance: Tolerance, prices: PriceBook | None = None) -> ReconciliationResult:
    """The providers' billing exports under billing/ against the ledger's calls started that day."""
    day = date.fromisoformat(ctx.day)
    billing = read_billing(ctx.store, (prices or PriceBook()).models())
    rows = reconcile(calls_on(ctx.store, day), billing, day, tolerance)
    result = verdict(rows, billing)
    if result.awaiting:
        ctx.log(f"no billing export rows for {day} under billing/ yet: nothing to compare")
    elif result.awaiting_providers:
        ctx.log(f"no billing export of {', '.join(result.awaiting_providers)} for {day} yet: the others compared")
    check = CheckOutcome(
        result.passed,
        result.problems,
        {
            "models": len(rows),
            "billing_files": len(billing.files),
            "awaiting_billing": str(result.awaiting),
            "awaiting_providers": ", ".join(result.awaiting_providers) or "none",
        },
    )
    return ReconciliationResult(rows, check, result.awaiting, len(billing.problems))
