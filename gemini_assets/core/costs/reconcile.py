"""Our books against the providers': per usage day, provider and model, within a tolerance.

A day/provider/model triple fails when |billing - ledger| exceeds both the relative tolerance
(default 1 % of the larger side) and the absolute one (default one cent, for exports rounded to
cents). Providers bill separately and their exports lag by different amounts, so "awaiting"
is decided per provider: while no export of provider X reaches the day, X's rows are
``awaiting_billing`` (reported, not failed) and the providers whose exports are in are compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from gemini_assets.core.contracts.enums import ReconciliationStatus as Status
from gemini_assets.core.contracts.tables import BillingReconciliationRow
from gemini_assets.core.costs.billing import BillingExport

FAILING = (Status.MISMATCH, Status.MISSING_IN_BILLING, Status.MISSING_IN_LEDGER, Status.UNPRICED)
# Ledger partitions written before the gateway spoke other APIs have no provider: they were Gemini calls.
LEGACY_PROVIDER = "gemini"


@dataclass(frozen=True)
class Tolerance:
    pct: float = 1.0
    abs_usd: float = 0.01

    def allows(self, ledger: float, billing: float) -> bool:
        return abs(billing - ledger) <= max(self.pct / 100 * max(abs(ledger), abs(billing)), self.abs_usd)


def _status(ledger: float | None, billing: float | None, unpriced: int, billed: bool, tolerance: Tolerance) -> Status:
    if not billed:
        return Status.AWAITING_BILLING
    if unpriced:
        return Status.UNPRICED
    if billing is None:
        return Status.MISSING_IN_BILLING if ledger else Status.MATCH
    if ledger is None:
        return Status.MISSING_IN_LEDGER if billing else Status.MATCH
    return Status.MATCH if tolerance.allows(ledger, billing) else Status.MISMATCH


def _with_provider(calls: pd.DataFrame) -> pd.DataFrame:
    if "provider" not in calls.columns:
        return calls.assign(provider=LEGACY_PROVIDER)
    known = calls["provider"].notna() & (calls["provider"].astype(str) != "")
    return calls.assign(provider=calls["provider"].astype(str).where(known, LEGACY_PROVIDER))


def reconcile(
    calls: pd.DataFrame, billing: BillingExport, day: date, tolerance: Tolerance
) -> list[BillingReconciliationRow]:
    """One row per (provider, model) seen in the ledger or the billing exports for ``day``."""
    billed = billing.on(day)
    billed_providers = billing.providers_on(day) | {str(p) for p in billed["provider"]}
    ledger_by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for (provider, model), group in _with_provider(calls).groupby(["provider", "model"]):
        unpriced = int(group["cost_usd"].isna().sum())
        ledger_by_key[(str(provider), str(model))] = {
            "usd": None if unpriced else float(group["cost_usd"].sum()),
            "calls": len(group),
            "unpriced": unpriced,
        }
    billing_by_key: dict[tuple[str, str], pd.DataFrame] = {}
    if len(billed):
        billing_by_key = {(str(p), str(m)): group for (p, m), group in billed.groupby(["provider", "model"])}
    now = datetime.now(UTC)
    rows = []
    for provider, model in sorted(set(ledger_by_key) | set(billing_by_key)):
        ledger = ledger_by_key.get((provider, model), {"usd": None, "calls": 0, "unpriced": 0})
        billed_rows = billing_by_key.get((provider, model))
        billing_usd = float(billed_rows["cost_usd"].sum()) if billed_rows is not None else None
        ledger_usd = ledger["usd"] if ledger["calls"] else None
        diff = billing_usd - ledger_usd if billing_usd is not None and ledger_usd is not None else None
        rows.append(
            BillingReconciliationRow(
                model=model,
                provider=provider,
                status=_status(ledger_usd, billing_usd, ledger["unpriced"], provider in billed_providers, tolerance),
                ledger_usd=ledger_usd,
                billing_usd=billing_usd,
                credits_usd=float(billed_rows["credits_usd"].sum()) if billed_rows is not None else None,
                diff_usd=diff,
                diff_pct=diff / ledger_usd * 100 if diff is not None and ledger_usd else None,
                tolerance_pct=tolerance.pct,
                tolerance_abs_usd=tolerance.abs_usd,
                ledger_calls=ledger["calls"],
                unpriced_calls=ledger["unpriced"],
                billing_rows=len(billed_rows) if billed_rows is not None else 0,
                billing_files=",".join(sorted(set(billed_rows["file"]))) if billed_rows is not None else None,
                checked_at=now,
            )
        )
    return rows


@dataclass
class Verdict:
    passed: bool
    problems: list[str]
    awaiting: bool  # every row awaits its bill: nothing could be compared yet
    awaiting_providers: list[str] = field(default_factory=list)


def verdict(rows: list[BillingReconciliationRow], billing: BillingExport) -> Verdict:
    problems = list(billing.problems)
    for row in rows:
        if row.status in FAILING:
            problems.append(
                f"{row.provider}/{row.model}: {row.status} (ledger {row.ledger_usd}, billing {row.billing_usd} USD)"
            )
    awaiting = bool(rows) and all(row.status == Status.AWAITING_BILLING for row in rows)
    waiting = sorted({str(row.provider) for row in rows if row.status == Status.AWAITING_BILLING})
    return Verdict(not problems, problems, awaiting, waiting)
