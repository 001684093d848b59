"""Step 3, answer: every planned item gets exactly one model_outputs row.

Items run concurrently (threads; the gateway's quota limiter and breaker are thread-safe). No
API error fails the partition: a failing model opens the circuit breaker and the remaining items
get `model_unavailable`; a quota that will not admit a call in time gives `api_error`; an
expired Files API handle is uploaded again once (outputs.py). Items planned for batch mode go
through answer_batch.py and meet exactly the same validation.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from gemini_assets.core.audit.journal import CallJournal
from gemini_assets.core.contracts.enums import CallMode, DeliveryMode, Endpoint
from gemini_assets.core.contracts.tables import DeliveryPlan, ModelOutputRow, ValidatedMediaRow
from gemini_assets.core.costs.budget import BudgetGuard, budget_guard, load_budgets
from gemini_assets.core.gateway import stopping
from gemini_assets.core.gateway.remote_files import release_remote_files
from gemini_assets.core.output.cache import ResponseArchive
from gemini_assets.core.stages.answer_batch import BatchStage
from gemini_assets.core.stages.batch_records import BatchRecord
from gemini_assets.core.stages.context import DayContext, progress_logger
from gemini_assets.core.stages.models import ModelAccess
from gemini_assets.core.stages.outputs import produce_output
from gemini_assets.core.storage.checks import CheckOutcome, check_partition

Progress = Callable[[int, int], None]
LOG_EVERY = 25


@dataclass
class AnswerResult:
    rows: list[ModelOutputRow] = field(default_factory=list)
    batches: list[BatchRecord] = field(default_factory=list)
    remote_files_deleted: int = 0
    breakers_opened: dict[str, int] = field(default_factory=dict)
    learned_limits: dict[str, int] = field(default_factory=dict)
    coverage: CheckOutcome | None = None


def answer_day(
    ctx: DayContext, items: list[ValidatedMediaRow], plans: list[DeliveryPlan], access: ModelAccess
) -> AnswerResult:
    """model_outputs for the day: online and batch items as planned, remote files released after."""
    by_id = {plan.media_id: plan.model_copy(update={"mode": call_mode(plan, access)}) for plan in plans}
    planned = [item for item in items if item.media_id in by_id]
    budget = budget_guard(
        ctx.store, load_budgets(ctx.settings.budgets_file, ctx.catalog.names()), ctx.catalog, ctx.text_filter
    )
    batched = [i for i in planned if by_id[i.media_id].mode == CallMode.BATCH]
    online = [i for i in planned if by_id[i.media_id].mode != CallMode.BATCH]
    progress = progress_logger(ctx.log, "model outputs", LOG_EVERY)
    tasks = {item.task for item in planned}
    stopping.clear()  # a stop requested for an earlier step of this process is not this step's
    with ctx.model_calls(tasks):
        recovered = CallJournal(ctx.store, ctx.audit, ctx.day, ctx.run_id).audit_missing_calls(tasks)
        if recovered:
            ctx.log(f"audit: {recovered} calls journaled by a run that stopped were audited now")
        result = AnswerResult(rows=produce_outputs(ctx, access, online, by_id, budget, progress))
        if batched:
            stage = BatchStage(ctx, access, by_id, budget)
            result.rows += stage.run(batched)
            result.batches = stage.records
        if access.options.delete_remote_files:
            handles = access.handles(ctx.store)
            result.remote_files_deleted = release_remote_files(access.gateway, handles, plans, ctx.store, ctx.day)
    result.rows.sort(key=lambda row: row.media_id)
    result.breakers_opened = access.breakers_opened()
    result.learned_limits = access.learned_limits()
    result.coverage = check_partition(
        {i.media_id for i in items}, {"model_outputs": {r.media_id for r in result.rows}}, "validated_media"
    )
    deleted = sorted({p.remote_name for p in plans if p.delivery == DeliveryMode.FILES_API and p.remote_name})
    release = [{"event": "remote_files_deleted", "count": result.remote_files_deleted, "names": deleted}]
    # model_called events were appended call by call (the write-ahead journal); this signs the end.
    ctx.record(release if result.remote_files_deleted else [])
    return result


def call_mode(plan: DeliveryPlan, access: ModelAccess) -> CallMode:
    """The plan's mode; a run-wide override (gemini.mode) wins, except in region: batches are global."""
    if plan.endpoint == Endpoint.IN_REGION:
        return CallMode.ONLINE
    return access.options.mode or plan.mode


def produce_outputs(
    ctx: DayContext,
    access: ModelAccess,
    items: list[ValidatedMediaRow],
    plans: dict[str, DeliveryPlan],
    budget: BudgetGuard | None = None,
    progress: Progress | None = None,
) -> list[ModelOutputRow]:
    archive = ResponseArchive(ctx.store)
    rows: list[ModelOutputRow] = []
    with ThreadPoolExecutor(max_workers=max(1, access.options.concurrency)) as pool:
        futures = [
            pool.submit(produce_output, ctx, access.for_plan(plans[i.media_id]), archive, i, plans[i.media_id], budget)
            for i in items
        ]
        with stopping.stop_on_interrupt(pool):
            for done, future in enumerate(as_completed(futures), start=1):
                rows.append(future.result())
                if budget:
                    budget.settle(rows[-1])
                if progress:
                    progress(done, len(futures))
    return rows
