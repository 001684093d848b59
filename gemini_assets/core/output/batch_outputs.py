"""The batch flavour of the model_outputs stage: one Batch API job per model, half the price.

Per item, the same rules as online (outputs.py): a cached answer, a failed upload or a refused
budget never reaches the batch. The rest is submitted (all models first, so they run side by
side), recorded (batch_state.py) before any waiting, then polled with backoff up to
``max_wait_s``. Results are mapped back by key and go through exactly the online validation
(process.run_item: finish/block reasons, parse, schema, ONE repair retry) via a gateway that
answers the first call from the batch line.

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from google.genai import types

from gemini_assets.core.costs.budget import budget_guard
from gemini_assets.core.gateway import batch as batch_api
from gemini_assets.core.gateway.base import Attempt, GenerateRequest, GenerateResult
from gemini_assets.core.gateway.gemini import RETRYABLE_CODES, GeminiGateway
from gemini_assets.core.gateway.routing import load_routing, route_item
from gemini_assets.core.output.batch_state import BatchRecord, batch_key, display_name, load_record, retire
from gemini_assets.core.output.cache import ResponseArchive
from gemini_assets.core.gateway.base import MediaRef
from gemini_assets.core.output.outputs import Progress, output_row, outbound_media, produce_output, produce_outputs
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.tasks.catalog import get_task

log = logging.getLogger(__name__)
MODES = ("online", "batch")


@dataclass(frozen=True)
class BatchSettings:
    max_wait_s: float = 3600.0  # longest wait in one step; then BatchWaitExceeded (the batch stays submitted)
    poll_initial_s: float = 2.0
    poll_max_s: float = 60.0
    inline_limit_bytes: int = batch_api.INLINE_LIMIT_BYTES


def item_mode(item: dict[str, Any], override: str | None) -> str:
    if override:
        return override
    return route_item(load_routing(), item, get_task(item["task"]).model).mode


def produce_day_outputs(
    store: ObjectStore,
    gateway: GeminiGateway,
    items: list[dict[str, Any]],
    plans: dict[str, dict[str, Any]],
    day: str,
    mode: str | None = None,
    settings: BatchSettings | None = None,
    concurrency: int = 4,
    progress: Progress | None = None,
    run_id: str | None = None,
    in_region: Any = None,
) -> tuple[list[dict[str, Any]], list[BatchRecord]]:
    """model_outputs rows for the day's items, online and batch ones; plus the batches used."""
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {MODES} or unset (per route), not {mode!r}")
    # Items planned for an in-region endpoint (residency: restricted) stay online, on that endpoint.
    batched = [i for i in items if item_mode(i, mode) == "batch" and plans[i["media_id"]].get("endpoint") != "in_region"]
    batched_ids = {i["media_id"] for i in batched}
    online = [i for i in items if i["media_id"] not in batched_ids]
    extra = {"in_region": in_region} if in_region is not None else {}
    rows = produce_outputs(store, gateway, online, plans, concurrency, progress, **extra) if online else []
    records: list[BatchRecord] = []
    if batched:
        stage = BatchStage(store, gateway, plans, day, settings or BatchSettings(), run_id)
        rows += stage.run(batched, concurrency)
        records = stage.records
    return sorted(rows, key=lambda r: r["media_id"]), records


def _number(value: Any) -> float | None:
    return None if value is None or value != value else float(value)  # NaN (pandas) = unknown


def batch_media(store: ObjectStore, item: dict[str, Any], plan: dict[str, Any]) -> MediaRef:
    """The media part exactly as online: the plan's Files API URI, else the sanitized copy's bytes."""
    return outbound_media(store, item, plan["remote_uri"] if plan["delivery"] == "files_api" else None, plan.get("sanitized_key"))


def first_request(store: ObjectStore, item: dict[str, Any], plan: dict[str, Any]) -> GenerateRequest:
    """The request process.run_item makes first for this item (same media, prompt, schema)."""
    task = get_task(item["task"])
    return GenerateRequest(
        model=plan["model"],
        system_prompt=task.system_prompt,
        user_text=task.user_text(item.get("context")),
        media=batch_media(store, item, plan),
        response_schema=task.response_schema,
        max_output_tokens=task.max_output_tokens,
    )


class BatchStage:
    def __init__(self, store: ObjectStore, gateway: GeminiGateway, plans: dict[str, dict[str, Any]], day: str,
                 settings: BatchSettings, run_id: str | None):
        self.store, self.gateway, self.plans, self.day = store, gateway, plans, day
        self.settings, self.run_id = settings, run_id
        self.client = gateway.client
        self.records: list[BatchRecord] = []

    def run(self, items: list[dict[str, Any]], concurrency: int) -> list[dict[str, Any]]:
        archive, budget = ResponseArchive(self.store), budget_guard(self.store)
        rows, by_model = [], {}
        for item in items:
            plan = self.plans[item["media_id"]]
            not_sendable = plan["delivery"] in ("cached", "blocked") or (
                plan["delivery"] == "files_api" and (not plan.get("remote_uri") or plan.get("remote_state") != "ACTIVE"))
            if not_sendable:  # produce_output answers these without any call (cached / upload_failed)
                rows.append(produce_output(self.store, self.gateway, archive, item, plan))
            elif budget and (refusal := budget.refusal(item, plan)):
                rows.append(output_row(item, plan, status="budget_exceeded", error_message=refusal))
            else:
                by_model.setdefault(plan["model"], []).append(item)
        # Submit every model's batch before waiting for any: they run side by side.
        pending = [(self._submit_or_resume(model, group), group) for model, group in sorted(by_model.items())]
        answered = [(record, group, self._await(record)) for record, group in pending]
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            for record, group, (job, lines) in answered:
                futures = [
                    pool.submit(produce_output, self.store, _BatchLineGateway(self.gateway, record, job, lines.get(i["media_id"])),
                                archive, i, self.plans[i["media_id"]])
                    for i in group
                ]
                for future in futures:
                    rows.append(future.result())
                    if budget:
                        budget.settle(rows[-1])
        return rows

    # ---- submit, or find what was submitted before --------------------------------------------
    def _submit_or_resume(self, model: str, group: list[dict[str, Any]]) -> BatchRecord:
        hashes = {i["media_id"]: get_task(i["task"]).prompt_hash for i in group}
        key = batch_key(self.day, model, group, hashes)
        name = display_name(self.day, model, key)
        record = load_record(self.store, self.day, model, key)
        if record is not None and not record.failed and not batch_api.exists(self.client, record.batch_name):
            log.warning("batch %s is gone from the provider (deleted?): submitting the items again", record.batch_name)
            record.state = "JOB_STATE_DELETED"
            record.failed_lines = 0
            retire(self.store, record)
            record = None
        if record is not None and record.failed:
            log.warning("batch %s ended %s: submitting the items again", record.batch_name, record.state)
            retire(self.store, record)
            record = None
        if record is None:
            found = batch_api.find(self.client, name)  # a crash between create and the record write
            if found is not None and batch_api.state_name(found) not in ("JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"):
                record = self._record(model, key, name, group, found.name or "", "unknown", None, 0,
                                      found.create_time or datetime.now(timezone.utc))
                record.resumed += 1
            else:
                keyed = {i["media_id"]: first_request(self.store, i, self.plans[i["media_id"]]) for i in group}
                sent = batch_api.submit(self.client, model, keyed, name, self.settings.inline_limit_bytes)
                record = self._record(model, key, name, group, sent.name, sent.input_mode, sent.input_file,
                                      sent.request_bytes, sent.created_at)
                log.info("submitted batch %s: %d items of %s (%s, %d B)", sent.name, len(group), model,
                         sent.input_mode, sent.request_bytes)
        else:
            record.resumed += 1
            log.info("resuming batch %s (%s) for %d items: not submitting again", record.batch_name, record.state, len(group))
        record.save(self.store)  # before any waiting: a crash from here on resumes this batch
        self.records.append(record)
        return record

    def _record(self, model, key, name, group, batch_name, input_mode, input_file, size, created) -> BatchRecord:
        return BatchRecord(
            day=self.day, batch_key=key, model=model, batch_name=batch_name, display_name=name,
            media_ids=sorted(i["media_id"] for i in group), input_mode=input_mode, input_file=input_file,
            request_bytes=size, submitted_at=created.astimezone(timezone.utc).isoformat(), run_id=self.run_id,
        )

    # ---- wait and collect ---------------------------------------------------------------------
    def _await(self, record: BatchRecord) -> tuple[types.BatchJob, dict[str, batch_api.LineResult]]:
        def polled(job: types.BatchJob) -> None:
            if record.observe(batch_api.state_name(job)):
                record.save(self.store)

        s = self.settings
        try:
            job = batch_api.wait(self.client, record.batch_name, s.max_wait_s, s.poll_initial_s, s.poll_max_s, polled)
        finally:
            record.save(self.store)
        lines = batch_api.results(self.client, job) if batch_api.state_name(job) == "JOB_STATE_SUCCEEDED" else {}
        record.completed_at = (job.end_time or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat()
        record.succeeded_lines = sum(1 for k in record.media_ids if k in lines and lines[k].response is not None)
        record.failed_lines = sum(1 for k in record.media_ids if k in lines and lines[k].response is None)
        record.missing_lines = sum(1 for k in record.media_ids if k not in lines)
        record.save(self.store)
        return job, lines


class _BatchLineGateway:
    """Answers an item's first call from its batch line; the repair and any retry go online."""

    def __init__(self, online: GeminiGateway, record: BatchRecord, job: types.BatchJob, line: batch_api.LineResult | None):
        self.online, self.record, self.job, self.line = online, record, job, line

    def __getattr__(self, name: str) -> Any:  # upload/get_file/delete_file for an expired handle
        return getattr(self.online, name)

    def generate(self, request: GenerateRequest, first_attempt: int = 1) -> GenerateResult:
        if first_attempt != 1 or request.history:
            return self.online.generate(request, first_attempt)
        attempt = self._attempt()
        if attempt.ok:
            response = self.line.response  # type: ignore[union-attr]
            return GenerateResult(response.text, batch_api.wire.finish_reason(response),
                                  batch_api.wire.block_reason(response), [attempt])
        batch_state = batch_api.state_name(self.job)
        if batch_state == "JOB_STATE_SUCCEEDED" and (attempt.status_code in RETRYABLE_CODES or attempt.status_code == 0):
            retry = self.online.generate(request, first_attempt=2)
            return GenerateResult(retry.text, retry.finish_reason, retry.block_reason, [attempt, *retry.attempts])
        return GenerateResult(None, None, None, [attempt])

    def _attempt(self) -> Attempt:
        started = datetime.fromisoformat(self.record.submitted_at)
        latency = batch_api.line_latency_ms(self.job, started)
        line, state = self.line, batch_api.state_name(self.job)
        if state != "JOB_STATE_SUCCEEDED":
            return Attempt(1, started, latency, 0, state.replace("JOB_STATE", "BATCH_STATE"),
                           f"batch {self.record.batch_name} ended {state}: no answer", service_tier="batch")
        if line is None:
            return Attempt(1, started, latency, 0, "missing_line",
                           f"batch {self.record.batch_name} returned no line for this key", service_tier="batch")
        if line.response is None:
            return Attempt(1, started, latency, int(line.error_code or 0), line.error_status or "line_error",
                           self.online.scrub(line.error_message or ""), service_tier="batch")
        return Attempt(1, started, latency, 200, usage=batch_api.usage_of(line),
                       response_id=line.response.response_id, service_tier="batch")

