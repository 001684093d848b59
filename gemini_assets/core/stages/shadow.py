"""Step 3b, shadow A/B: a route's challengers answer their share of the day too, beside the champion.

Their answers land in challenger_outputs only; the record stays the champion's (a challenger
marked ``promote: true`` is a live split instead and is answered in model_outputs). Each shadow
call meets the champion's rules: the sanitized copy only, the consent and residency gates, the
same validation with one repair, the write-ahead journal (so call_ledger books it with variant
challenger), the task budgets and the day's challenger cap. An item a challenger cannot take gets
a row ``unsupported_by_model`` and no call: model_comparison counts it as not applicable.
Shadow calls are online: their share is small and the comparison wants the answers today.
"""

from __future__ import annotations

from dataclasses import dataclass

from gemini_assets.core.audit.events import item_events
from gemini_assets.core.contracts.enums import CallMode, Variant
from gemini_assets.core.contracts.tables import DeliveryPlan, ModelOutputRow, ValidatedMediaRow
from gemini_assets.core.gateway.routing import RouteDecision, ShadowDecision, shadow_decisions
from gemini_assets.core.stages.context import DayContext
from gemini_assets.core.stages.models import ModelAccess
from gemini_assets.core.stages.side_calls import SideAnswers, SideCall, answer_side_calls
from gemini_assets.core.storage.checks import CheckOutcome


@dataclass
class ShadowResult(SideAnswers):
    coverage: CheckOutcome | None = None


def shadow_day(
    ctx: DayContext, items: list[ValidatedMediaRow], champions: list[DeliveryPlan], access: ModelAccess
) -> ShadowResult:
    """challenger_outputs for the day: one row per item x shadow challenger whose share holds it."""
    planned = {plan.media_id for plan in champions}
    work = [(item, shadow_decisions(access.routing, item)) for item in items if item.media_id in planned]
    work = [(item, decisions) for item, decisions in work if decisions]
    if not work:
        return ShadowResult(
            coverage=CheckOutcome(True, ["no item is in a shadow challenger's share today"], {"expected": 0})
        )
    calls = [
        [
            SideCall(item, RouteDecision(d.model, Variant.CHALLENGER, d.route, CallMode.ONLINE, d.provider))
            for d in decisions
        ]
        for item, decisions in work
    ]
    result = ShadowResult(**vars(answer_side_calls(ctx, access, calls, "challenger outputs")))
    result.rows.sort(key=lambda row: (row.media_id, row.model))
    result.coverage = _coverage(work, result.rows)
    ctx.record(item_events("shadow_decided", result.plans, "delivery", "model", "provider", "route", "error"))
    return result


def _coverage(work: list[tuple[ValidatedMediaRow, list[ShadowDecision]]], rows: list[ModelOutputRow]) -> CheckOutcome:
    expected = {(item.media_id, d.model) for item, decisions in work for d in decisions}
    found = [(row.media_id, row.model) for row in rows]
    missing, extra = expected - set(found), set(found) - expected
    problems = [f"{len(found)} rows for {len(expected)} item x challenger pairs in a shadow share"]
    if missing:
        problems.append(f"missing: {sorted(missing)[:5]}")
    if extra or len(found) != len(set(found)):
        problems.append(f"unexpected or repeated: {sorted(extra)[:5]}")
    ok = not missing and not extra and len(found) == len(set(found))
    return CheckOutcome(ok, problems, {"expected": len(expected), "rows": len(found)})
