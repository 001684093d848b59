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

from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from gemini_assets.core.audit.events import item_events
from gemini_assets.core.contracts.enums import CallMode, Variant
from gemini_assets.core.contracts.tables import DeliveryPlan, ModelOutputRow, ValidatedMediaRow
from gemini_assets.core.costs.budget import BudgetGuard, budget_guard, load_budgets
from gemini_assets.core.gateway import stopping
from gemini_assets.core.gateway.remote_files import HandleRegistry, release_remote_files
from gemini_assets.core.gateway.routing import RouteDecision, ShadowDecision, shadow_decisions
from gemini_assets.core.output.cache import ResponseArchive
from gemini_assets.core.stages.context import DayContext, progress_logger
from gemini_assets.core.stages.deliver import plan_delivery
from gemini_assets.core.stages.models import ModelAccess
from gemini_assets.core.stages.outputs import produce_output
from gemini_assets.core.storage.checks import CheckOutcome

LOG_EVERY = 25


@dataclass
class ShadowResult:
    rows: list[ModelOutputRow] = field(default_factory=list)
    plans: list[DeliveryPlan] = field(default_factory=list)
    remote_files_deleted: int = 0
    budget_refused: int = 0
    coverage: CheckOutcome | None = None


def shadow_day(
    ctx: DayContext, items: list[ValidatedMediaRow], champions: list[DeliveryPlan], access: ModelAccess
) -> ShadowResult:
    """challenger_outputs for the day: one row per item x shadow challenger whose share holds it."""
    planned = {plan.media_id for plan in champions}
    work = [(item, shadow_decisions(access.routing, item)) for item in items if item.media_id in planned]
    work = [(item, decisions) for item, decisions in work if decisions]
    result = ShadowResult()
    if not work:
        result.coverage = CheckOutcome(True, ["no item is in a shadow challenger's share today"], {"expected": 0})
        return result
    budget = budget_guard(
        ctx.store, load_budgets(ctx.settings.budgets_file, ctx.catalog.names()), ctx.catalog, ctx.text_filter
    )
    archive, handles = ResponseArchive(ctx.store), access.handles(ctx.store)
    progress = progress_logger(ctx.log, "challenger outputs", LOG_EVERY)
    stopping.clear()
    with ctx.model_calls({item.task for item, _ in work}):
        # Planned one by one: not yet concurrent like gemini_files (deliver.plan_items).
        jobs = [(item, [_plan(ctx, access, archive, handles, item, d) for d in decisions]) for item, decisions in work]
        result.plans = [plan for _, plans in jobs for plan in plans]
        with ThreadPoolExecutor(max_workers=max(1, access.options.concurrency)) as pool:
            futures = [pool.submit(_answer, ctx, access, archive, item, plans, budget) for item, plans in jobs]
            with stopping.stop_on_interrupt(pool):
                for done, future in enumerate(as_completed(futures), start=1):
                    rows = future.result()
                    result.rows += rows
                    if budget:
                        for row in rows:
                            budget.settle(row)
                    progress(done, len(futures))
        if access.options.delete_remote_files:
            result.remote_files_deleted = release_remote_files(
                access.gateway, handles, result.plans, ctx.store, ctx.day
            )
    result.rows.sort(key=lambda row: (row.media_id, row.model))
    result.budget_refused = budget.refused if budget else 0
    result.coverage = _coverage(work, result.rows)
    ctx.record(item_events("shadow_decided", result.plans, "delivery", "model", "provider", "route", "error"))
    return result


def _plan(
    ctx: DayContext,
    access: ModelAccess,
    archive: ResponseArchive,
    handles: HandleRegistry,
    item: ValidatedMediaRow,
    decision: ShadowDecision,
) -> DeliveryPlan:
    route = RouteDecision(decision.model, Variant.CHALLENGER, decision.route, CallMode.ONLINE, decision.provider)
    plan = plan_delivery(ctx, item, access, archive, handles, route)
    return plan.model_copy(update={"mode": CallMode.ONLINE})


def _answer(
    ctx: DayContext,
    access: ModelAccess,
    archive: ResponseArchive,
    item: ValidatedMediaRow,
    plans: list[DeliveryPlan],
    budget: BudgetGuard | None,
) -> list[ModelOutputRow]:
    # One item's challengers in turn: two calls for one item never start in the same instant,
    # which keeps call ids (media id, attempt, start time) distinct.
    return [produce_output(ctx, access.for_plan(plan), archive, item, plan, budget) for plan in plans]


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
