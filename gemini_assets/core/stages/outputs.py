"""One item's model_outputs row: from the archive, from its plan's verdict, or from calls.

Shared by the online and the batch flavour of the answer step (answer.py, answer_batch.py): a
batch line is handed in as the item's first answer and meets exactly the online validation.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from gemini_assets.core.audit.journal import CallJournal, ItemJournal
from gemini_assets.core.contracts.calls import Attempt, CallIdentity, GenerateResult, MediaRef, total_usage
from gemini_assets.core.contracts.enums import DeliveryMode, OutputStatus, ParseStatus
from gemini_assets.core.contracts.errors import CallAbandoned, CallCancelled, ModelUnavailable, QuotaExhausted
from gemini_assets.core.contracts.tables import DeliveryPlan, ModelOutputRow, ValidatedMediaRow
from gemini_assets.core.costs.budget import BudgetGuard
from gemini_assets.core.gateway.base import ModelGateway
from gemini_assets.core.output.cache import ArchivedAnswer, ResponseArchive
from gemini_assets.core.output.parse import invalid
from gemini_assets.core.output.process import ItemOutcome, finish_item, first_request, run_item
from gemini_assets.core.stages.archive import archive_key
from gemini_assets.core.stages.context import DayContext
from gemini_assets.core.stages.deliver import upload_item


def produce_output(
    ctx: DayContext,
    gateway: ModelGateway,
    archive: ResponseArchive,
    item: ValidatedMediaRow,
    plan: DeliveryPlan,
    budget: BudgetGuard | None = None,
    first_result: GenerateResult | None = None,
) -> ModelOutputRow:
    """The item's row: from the archive, from the plan's verdict, or from calls (``first_result``:
    the first answer came from elsewhere, a batch line)."""
    key = archive_key(ctx, gateway.backend, item, plan.model)
    if plan.delivery == DeliveryMode.CACHED:
        return from_archive(ctx, gateway, item, plan, archive.get(key))
    if plan.delivery == DeliveryMode.BLOCKED:
        status = plan.blocked_status or OutputStatus.SANITIZE_FAILED
        return output_row(ctx, gateway, item, plan, status=status, error_message=plan.error)
    if not plan.sendable:
        why = plan.error or f"file state {plan.remote_state}"
        return output_row(ctx, gateway, item, plan, status=OutputStatus.UPLOAD_FAILED, error_message=why)
    if archive.has(key):  # answered since the plan was made (another run of the day held the lease)
        return from_archive(ctx, gateway, item, plan, archive.get(key))
    ctx.check_leases()  # taken over (this run was presumed dead): stop before calling
    if budget and (refusal := budget.refusal(item, plan)):
        return output_row(ctx, gateway, item, plan, status=OutputStatus.BUDGET_EXCEEDED, error_message=refusal)
    row = call_model(ctx, gateway, item, plan, first_result)
    if row.status in (OutputStatus.OK, OutputStatus.BLOCKED):
        archive.put(key, ArchivedAnswer.model_validate(row.model_dump()))
    return row


def from_archive(
    ctx: DayContext, gateway: ModelGateway, item: ValidatedMediaRow, plan: DeliveryPlan, cached: ArchivedAnswer | None
) -> ModelOutputRow:
    if cached is None:  # the archive entry vanished between planning and now
        return output_row(
            ctx,
            gateway,
            item,
            plan,
            status=OutputStatus.API_ERROR,
            error_code="cache_miss",
            error_message="the archived answer is gone: re-run the partition to call the model",
        )
    values = cached.model_dump(
        include={"status", "finish_reason", "raw_text", "parsed_json", "parse_status", "parse_error", "response_id"}
    )
    return output_row(
        ctx,
        gateway,
        item,
        plan,
        **values,
        from_cache=True,
        backend=cached.backend or gateway.backend,
        provider=cached.provider or gateway.provider,
    )


def outbound_media(
    ctx: DayContext, item: ValidatedMediaRow, plan: DeliveryPlan, file_uri: str | None = None
) -> MediaRef:
    """What a request carries: a Files API URI, or the SANITIZED copy's bytes, never the original."""
    uri = file_uri or (plan.remote_uri if plan.delivery == DeliveryMode.FILES_API else None)
    media = MediaRef(item.mime_type, size_bytes=item.size_bytes, duration_s=item.duration_s, pages=item.pages)
    if uri:
        return replace(media, file_uri=uri)
    if not plan.sanitized_key:
        raise ValueError(f"{item.media_id}: no sanitized copy was planned, so nothing may be sent")
    return replace(media, data=ctx.store.read_bytes(plan.sanitized_key))


def call_model(
    ctx: DayContext,
    gateway: ModelGateway,
    item: ValidatedMediaRow,
    plan: DeliveryPlan,
    first_result: GenerateResult | None = None,
) -> ModelOutputRow:
    task = ctx.catalog.for_item(item.task, item.sha256)
    journal = item_journal(ctx, gateway, item, plan)
    media = outbound_media(ctx, item, plan)
    request = first_request(task, plan.model, media, item.context, ctx.text_filter, journal=journal)
    earlier: list[Attempt] = []
    try:
        if first_result is not None:  # a batch line: billed when the batch ran, journaled now
            for attempt in first_result.attempts:
                journal.finished(attempt)
        result = first_result if first_result is not None else gateway.generate(request)
        outcome = finish_item(gateway, task, request, result)
        if plan.delivery == DeliveryMode.FILES_API and _file_expired(outcome) and plan.sanitized_key:
            # The handle expired or was deleted between planning and the call: upload once more.
            earlier = outcome.attempts
            remote = upload_item(ctx, item, gateway, plan.sanitized_key)
            request = replace(request, media=outbound_media(ctx, item, plan, remote.uri))
            outcome = run_item(gateway, task, request, first_attempt=earlier[-1].attempt + 1)
            outcome.attempts = earlier + outcome.attempts
    except CallAbandoned as exc:
        status, code = _abandoned(exc)
        return failed_row(ctx, gateway, item, plan, status, earlier + exc.attempts, code, str(exc))
    except Exception as exc:  # noqa: BLE001 - an SDK surprise must not fail the whole day
        return failed_row(ctx, gateway, item, plan, OutputStatus.API_ERROR, earlier, type(exc).__name__, str(exc)[:300])
    return row_from_outcome(ctx, gateway, item, plan, outcome)


def _abandoned(exc: CallAbandoned) -> tuple[OutputStatus, str]:
    if isinstance(exc, ModelUnavailable):
        return OutputStatus.MODEL_UNAVAILABLE, "circuit_open"
    if isinstance(exc, QuotaExhausted):
        return OutputStatus.QUOTA_EXHAUSTED, "quota_exhausted"
    if isinstance(exc, CallCancelled):
        return OutputStatus.API_ERROR, "cancelled"
    return OutputStatus.API_ERROR, "quota_wait_exceeded"


def item_journal(ctx: DayContext, gateway: ModelGateway, item: ValidatedMediaRow, plan: DeliveryPlan) -> ItemJournal:
    """The item's write-ahead journal recorder (core/audit/journal.py)."""
    task = ctx.catalog.for_item(item.task, item.sha256)
    identity = CallIdentity(
        media_id=item.media_id,
        task=item.task,
        task_version=task.version,
        model=plan.model,
        variant=plan.variant,
        backend=gateway.backend,
        provider=gateway.provider,
        media_kind=str(item.media_kind),
        media_bytes=item.size_bytes,
        media_duration_s=item.duration_s,
    )
    return CallJournal(ctx.store, ctx.audit, ctx.day, ctx.run_id).for_item(identity)


def _file_expired(outcome: ItemOutcome) -> bool:
    last = outcome.attempts[-1] if outcome.attempts else None
    return outcome.status == OutputStatus.API_ERROR and last is not None and last.status_code == 403


def output_row(
    ctx: DayContext, gateway: ModelGateway, item: ValidatedMediaRow, plan: DeliveryPlan, **values: Any
) -> ModelOutputRow:
    """A model_outputs row with everything not given at its empty value."""
    task = ctx.catalog.for_item(item.task, item.sha256)
    attempts: list[Attempt] = values.pop("attempt_log", [])
    base: dict[str, Any] = {
        "media_id": item.media_id,
        "task": item.task,
        "sha256": item.sha256,
        "task_version": task.version,
        "prompt_hash": task.prompt_hash,
        "model": plan.model,
        "variant": plan.variant,
        "parse_status": ParseStatus.NONE,
        "attempts": len(attempts),
        "from_cache": False,
        **total_usage(attempts).as_columns(),
        "latency_ms": sum(a.latency_ms for a in attempts) if attempts else None,
        "attempt_log": attempts,
        "attempts_json": json.dumps([a.model_dump(mode="json") for a in attempts]),
        "completed_at": datetime.now(UTC),
        "backend": gateway.backend,
        "provider": gateway.provider,
        "mode": plan.mode,
        "route": plan.route,
    }
    return ModelOutputRow(**{**base, **values})


def row_from_outcome(
    ctx: DayContext, gateway: ModelGateway, item: ValidatedMediaRow, plan: DeliveryPlan, outcome: ItemOutcome
) -> ModelOutputRow:
    last = outcome.attempts[-1] if outcome.attempts else None
    answered = outcome.status == OutputStatus.OK
    response_ids = [a.response_id for a in outcome.attempts if a.response_id]
    return output_row(
        ctx,
        gateway,
        item,
        plan,
        status=outcome.status,
        finish_reason=outcome.finish_reason,
        block_reason=outcome.block_reason,
        raw_text=outcome.text,
        parsed_json=json.dumps(outcome.parsed.value) if outcome.parsed.value is not None else None,
        parse_status=outcome.parsed.status if answered else ParseStatus.NONE,
        parse_error=outcome.parsed.error if answered else None,
        error_code=last.error_code if last and not last.ok else None,
        error_message=last.error_message if last and not last.ok else None,
        response_id=response_ids[-1] if response_ids else None,
        attempt_log=outcome.attempts,
    )


def failed_row(
    ctx: DayContext,
    gateway: ModelGateway,
    item: ValidatedMediaRow,
    plan: DeliveryPlan,
    status: OutputStatus,
    attempts: list[Attempt],
    code: str,
    message: str,
) -> ModelOutputRow:
    outcome = ItemOutcome(status, None, None, None, invalid(message), list(attempts))
    row = row_from_outcome(ctx, gateway, item, plan, outcome)
    return row.model_copy(update={"error_code": code, "error_message": message, "parse_status": ParseStatus.NONE})
