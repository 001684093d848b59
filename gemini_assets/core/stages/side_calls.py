"""Calls beside the day's records: shadow challengers (challenger_outputs) and golden sets
(golden_outputs) answer along a live item's very path, never becoming a record.

Each call is planned (``plan_delivery``: the sanitized copy only, the residency gate, the archive)
and answered (``produce_output``: validation with one repair, the write-ahead journal, the task
budgets) like a live item, online whatever the run's mode: these measurements want their answers
today. One item's calls run in turn, so two calls for one item never start in the same instant
and call ids (media id, attempt, start time) stay distinct.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace

from gemini_assets.core.contracts.enums import CallMode
from gemini_assets.core.contracts.tables import DeliveryPlan, ModelOutputRow, ValidatedMediaRow
from gemini_assets.core.costs.budget import BudgetGuard, budget_guard, load_budgets
from gemini_assets.core.gateway import stopping
from gemini_assets.core.gateway.remote_files import HandleRegistry, release_remote_files
from gemini_assets.core.gateway.routing import RouteDecision
from gemini_assets.core.output.cache import ResponseArchive
from gemini_assets.core.stages.context import DayContext, progress_logger
from gemini_assets.core.stages.deliver import plan_delivery
from gemini_assets.core.stages.models import ModelAccess
from gemini_assets.core.stages.outputs import produce_output
from gemini_assets.core.tasks.catalog import TaskCatalog

LOG_EVERY = 25


@dataclass(frozen=True)
class SideCall:
    """One answer to get: an item, the route to ask, and the catalog to ask with (None: the
    day's; a golden evaluation pins the version it measures)."""

    item: ValidatedMediaRow
    route: RouteDecision
    catalog: TaskCatalog | None = None


@dataclass
class SideAnswers:
    rows: list[ModelOutputRow] = field(default_factory=list)
    plans: list[DeliveryPlan] = field(default_factory=list)
    remote_files_deleted: int = 0
    budget_refused: int = 0


def answer_side_calls(ctx: DayContext, access: ModelAccess, work: list[list[SideCall]], label: str) -> SideAnswers:
    """Plan and answer each item's calls (one list per item); ``label`` names them in the progress log."""
    result = SideAnswers()
    budget = budget_guard(
        ctx.store, load_budgets(ctx.settings.budgets_file, ctx.catalog.names()), ctx.catalog, ctx.text_filter
    )
    archive, handles = ResponseArchive(ctx.store), access.handles(ctx.store)
    progress = progress_logger(ctx.log, label, LOG_EVERY)
    stopping.clear()
    with ctx.model_calls({call.item.task for calls in work for call in calls}):
        # Copies made while the leases are held share them: every call checks it still holds them.
        jobs = [[(_context(ctx, call), call) for call in calls] for calls in work]
        # Planned one by one: not yet concurrent like gemini_files (deliver.plan_items).
        planned = [[(c, call.item, _plan(c, access, archive, handles, call)) for c, call in job] for job in jobs]
        result.plans = [plan for job in planned for _, _, plan in job]
        with ThreadPoolExecutor(max_workers=max(1, access.options.concurrency)) as pool:
            futures = [pool.submit(_answer, access, archive, job, budget) for job in planned]
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
    result.budget_refused = budget.refused if budget else 0
    return result


def _context(ctx: DayContext, call: SideCall) -> DayContext:
    return ctx if call.catalog is None else replace(ctx, catalog=call.catalog)


def _plan(
    ctx: DayContext, access: ModelAccess, archive: ResponseArchive, handles: HandleRegistry, call: SideCall
) -> DeliveryPlan:
    plan = plan_delivery(ctx, call.item, access, archive, handles, call.route)
    return plan.model_copy(update={"mode": CallMode.ONLINE})


def _answer(
    access: ModelAccess,
    archive: ResponseArchive,
    job: list[tuple[DayContext, ValidatedMediaRow, DeliveryPlan]],
    budget: BudgetGuard | None,
) -> list[ModelOutputRow]:
    return [produce_output(ctx, access.for_plan(plan), archive, item, plan, budget) for ctx, item, plan in job]
