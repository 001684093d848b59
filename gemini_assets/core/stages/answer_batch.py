"""The batch flavour of the answer step: one Batch API job per model, half the price.

Per item, the same rules as online (answer.py): a cached answer, a failed upload or a refused
budget never reaches the batch. The rest is submitted (all models first, so they run side by
side), recorded (batch_records.py) before any waiting, then polled with backoff up to
``max_wait_s``. Results are mapped back by key and go through exactly the online validation
(finish/block reasons, parse, schema, ONE repair retry): the batch line is the first answer.

Everything goes through the ModelGateway interface (submit_batch, find_batch, get_batch,
batch_results): no provider type is visible here.

The repair retry and the retry of a failed line go **online** (standard price): both concern a
handful of items, and a follow-up batch would hold the whole partition for another batch
cycle (up to 24 h) to save cents. A line error with a retryable code (408/429/5xx) or a line
missing from the results is retried online with the gateway's bounded retries; any other code
ends as ``api_error`` in review, as online. A batch that FAILED, EXPIRED or was CANCELLED
answered nothing: its items go to review (``api_error``, error code = the batch state) and a
re-run submits a fresh batch; no silent full-price fallback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from gemini_assets.core.contracts.calls import Attempt, BatchJob, BatchLine, GenerateResult
from gemini_assets.core.contracts.enums import OutputStatus, ServiceTier
from gemini_assets.core.contracts.errors import BatchWaitExceeded
from gemini_assets.core.contracts.tables import DeliveryPlan, ModelOutputRow, ValidatedMediaRow
from gemini_assets.core.costs.budget import BudgetGuard
from gemini_assets.core.gateway.base import ModelGateway
from gemini_assets.core.gateway.calling import RETRYABLE_CODES
from gemini_assets.core.output.cache import ResponseArchive
from gemini_assets.core.output.process import first_request
from gemini_assets.core.stages.batch_records import BatchRecord, batch_key, display_name, load_record, retire
from gemini_assets.core.stages.context import DayContext
from gemini_assets.core.stages.models import ModelAccess
from gemini_assets.core.stages.outputs import outbound_media, output_row, produce_output

log = logging.getLogger(__name__)


class BatchStage:
    def __init__(
        self, ctx: DayContext, access: ModelAccess, plans: dict[str, DeliveryPlan], budget: BudgetGuard | None
    ):
        self.ctx, self.access, self.plans, self.budget = ctx, access, plans, budget
        self.gateway: ModelGateway = access.gateway
        self.settings = access.options.batch
        self.records: list[BatchRecord] = []

    def run(self, items: list[ValidatedMediaRow]) -> list[ModelOutputRow]:
        archive = ResponseArchive(self.ctx.store)
        rows: list[ModelOutputRow] = []
        by_model: dict[str, list[ValidatedMediaRow]] = {}
        for item in items:
            plan = self.plans[item.media_id]
            if not plan.sendable:  # produce_output answers these without any call (cached, blocked, upload_failed)
                rows.append(produce_output(self.ctx, self.gateway, archive, item, plan))
            elif self.budget and (refusal := self.budget.refusal(item, plan)):
                status = OutputStatus.BUDGET_EXCEEDED
                rows.append(output_row(self.ctx, self.gateway, item, plan, status=status, error_message=refusal))
            else:
                by_model.setdefault(plan.model, []).append(item)
        # Submit every model's batch before waiting for any: they run side by side.
        pending = [(self._submit_or_resume(model, group), group) for model, group in sorted(by_model.items())]
        answered = [(record, group, *self._await(record)) for record, group in pending]
        with ThreadPoolExecutor(max_workers=max(1, self.access.options.concurrency)) as pool:
            for record, group, job, lines in answered:
                futures = [
                    pool.submit(self._answer, archive, item, record, job, lines.get(item.media_id)) for item in group
                ]
                for future in futures:
                    rows.append(future.result())
                    if self.budget:
                        self.budget.settle(rows[-1])
        return rows

    def _answer(
        self,
        archive: ResponseArchive,
        item: ValidatedMediaRow,
        record: BatchRecord,
        job: BatchJob,
        line: BatchLine | None,
    ) -> ModelOutputRow:
        plan = self.plans[item.media_id]
        first = self._first_result(item, plan, record, job, line)
        return produce_output(self.ctx, self.gateway, archive, item, plan, first_result=first)

    def _first_result(
        self, item: ValidatedMediaRow, plan: DeliveryPlan, record: BatchRecord, job: BatchJob, line: BatchLine | None
    ) -> GenerateResult:
        """The batch line as the item's first answer; a retryable line error is retried online."""
        attempt = line_attempt(record, job, line, self.gateway.scrub)
        if attempt.ok and line is not None:
            return GenerateResult(line.text, line.finish_reason, line.block_reason, [attempt])
        if job.succeeded and (attempt.status_code in RETRYABLE_CODES or attempt.status_code == 0):
            task = self.ctx.catalog.for_item(item.task, item.sha256)
            media = outbound_media(self.ctx, item, plan)
            request = first_request(task, plan.model, media, item.context, self.ctx.text_filter)
            retry = self.gateway.generate(request, first_attempt=2)
            return GenerateResult(retry.text, retry.finish_reason, retry.block_reason, [attempt, *retry.attempts])
        return GenerateResult(None, None, None, [attempt])

    # ---- submit, or find what was submitted before --------------------------------------------
    def _submit_or_resume(self, model: str, group: list[ValidatedMediaRow]) -> BatchRecord:
        day, store = self.ctx.day, self.ctx.store
        hashes = {i.media_id: self.ctx.catalog.for_item(i.task, i.sha256).prompt_hash for i in group}
        key = batch_key(day, model, group, hashes)
        name = display_name(day, model, key)
        record = load_record(store, day, model, key)
        if record is not None and not record.failed and self.gateway.get_batch(record.batch_name) is None:
            log.warning("batch %s is gone from the provider (deleted?): submitting the items again", record.batch_name)
            record.state, record.failed_lines = "JOB_STATE_DELETED", 0
            retire(store, record)
            record = None
        if record is not None and record.failed:
            log.warning("batch %s ended %s: submitting the items again", record.batch_name, record.state)
            retire(store, record)
            record = None
        if record is None:
            record = self._find_or_submit(model, key, name, group)
        else:
            record.resumed += 1
            log.info(
                "resuming batch %s (%s) for %d items: not submitting again", record.batch_name, record.state, len(group)
            )
        record.save(store)  # before any waiting: a crash from here on resumes this batch
        self.records.append(record)
        return record

    def _find_or_submit(self, model: str, key: str, name: str, group: list[ValidatedMediaRow]) -> BatchRecord:
        found = self.gateway.find_batch(name)  # a crash between create and the record write
        if found is not None and not found.failed:
            record = self._record(model, key, name, group, found.name, "unknown", None, 0, found.created_at)
            record.resumed += 1
            return record
        requests = {}
        for item in group:
            plan, task = self.plans[item.media_id], self.ctx.catalog.for_item(item.task, item.sha256)
            media = outbound_media(self.ctx, item, plan)
            requests[item.media_id] = first_request(task, model, media, item.context, self.ctx.text_filter)
        sent = self.gateway.submit_batch(model, requests, name, self.settings.inline_limit_bytes)
        log.info(
            "submitted batch %s: %d items of %s (%s, %d B)",
            sent.name,
            len(group),
            model,
            sent.input_mode,
            sent.request_bytes,
        )
        return self._record(
            model, key, name, group, sent.name, sent.input_mode, sent.input_file, sent.request_bytes, sent.created_at
        )

    def _record(
        self,
        model: str,
        key: str,
        name: str,
        group: list[ValidatedMediaRow],
        batch_name: str,
        input_mode: str,
        input_file: str | None,
        size: int,
        created: datetime | None,
    ) -> BatchRecord:
        return BatchRecord(
            day=self.ctx.day,
            batch_key=key,
            model=model,
            batch_name=batch_name,
            display_name=name,
            media_ids=sorted(i.media_id for i in group),
            input_mode=input_mode,
            input_file=input_file,
            request_bytes=size,
            submitted_at=(created or datetime.now(UTC)).astimezone(UTC).isoformat(),
            run_id=self.ctx.run_id,
        )

    # ---- wait and collect ---------------------------------------------------------------------
    def _await(self, record: BatchRecord) -> tuple[BatchJob, dict[str, BatchLine]]:
        try:
            job = self._wait(record)
        finally:
            record.save(self.ctx.store)
        lines = self.gateway.batch_results(record.batch_name) if job.succeeded else {}
        record.completed_at = (job.ended_at or datetime.now(UTC)).astimezone(UTC).isoformat()
        record.succeeded_lines = sum(1 for k in record.media_ids if k in lines and lines[k].answered)
        record.failed_lines = sum(1 for k in record.media_ids if k in lines and not lines[k].answered)
        record.missing_lines = sum(1 for k in record.media_ids if k not in lines)
        record.save(self.ctx.store)
        return job, lines

    def _wait(self, record: BatchRecord) -> BatchJob:
        """Poll with exponential backoff until the batch is done; BatchWaitExceeded after max_wait_s."""
        s = self.settings
        started = time.monotonic()
        deadline, delay = started + s.max_wait_s, s.poll_initial_s
        while True:
            job = self.gateway.get_batch(record.batch_name)
            if job is None:
                job = BatchJob(record.batch_name, record.display_name, "JOB_STATE_DELETED")
            if record.observe(job.state):
                record.save(self.ctx.store)
            if job.done or job.state == "JOB_STATE_DELETED":
                return job
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BatchWaitExceeded(record.batch_name, job.state, time.monotonic() - started)
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, s.poll_max_s)


def line_attempt(record: BatchRecord, job: BatchJob, line: BatchLine | None, scrub: Callable[[str], str]) -> Attempt:
    """The batch line as one attempt (service tier batch) for the ledger."""
    started = datetime.fromisoformat(record.submitted_at)
    end = job.ended_at or datetime.now(UTC)
    latency = max((end - started).total_seconds() * 1000, 0.0)
    common = {"attempt": 1, "started_at": started, "latency_ms": latency, "service_tier": ServiceTier.BATCH}
    if not job.succeeded:
        state = job.state.replace("JOB_STATE", "BATCH_STATE")
        return Attempt(
            **common,
            status_code=0,
            error_code=state,
            error_message=f"batch {record.batch_name} ended {job.state}: no answer",
        )
    if line is None:
        return Attempt(
            **common,
            status_code=0,
            error_code="missing_line",
            error_message=f"batch {record.batch_name} returned no line for this key",
        )
    if not line.answered:
        return Attempt(
            **common,
            status_code=int(line.error_code or 0),
            error_code=line.error_status or "line_error",
            error_message=scrub(line.error_message or ""),
        )
    return Attempt(**common, status_code=200, usage=line.usage, response_id=line.response_id)
