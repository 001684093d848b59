"""Step 4, validate: model_outputs → validated_records | review_queue, with people's decisions.

A person's decision wins (approve/edit publish the reviewed record, reject keeps the item in
review for good); otherwise the output's verdict (core/output/judge.py) decides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gemini_assets.core.audit.events import item_events
from gemini_assets.core.audit.verify import Verification
from gemini_assets.core.contracts.enums import RecordSource, ReviewStatus, Variant
from gemini_assets.core.contracts.reasons import ReviewReason
from gemini_assets.core.contracts.tables import ModelOutputRow, ReviewQueueRow, ValidatedMediaRow, ValidatedRecordRow
from gemini_assets.core.output.judge import Accepted, Rejected, judge
from gemini_assets.core.output.quality import quality_metrics
from gemini_assets.core.review.decisions import Decision, latest_decisions
from gemini_assets.core.stages.context import DayContext
from gemini_assets.core.storage.checks import CheckOutcome, check_partition
from gemini_assets.core.tasks.catalog import TaskCatalog


@dataclass
class RecordsResult:
    records: list[ValidatedRecordRow] = field(default_factory=list)
    review: list[ReviewQueueRow] = field(default_factory=list)
    decisions_applied: int = 0
    quality: dict[str, float | int] = field(default_factory=dict)
    conservation: CheckOutcome | None = None
    audit: CheckOutcome | None = None


def validate_outputs(ctx: DayContext, items: list[ValidatedMediaRow], outputs: list[ModelOutputRow]) -> RecordsResult:
    decisions = latest_decisions(ctx.store, ctx.day)
    by_id = {output.media_id: output for output in outputs}
    result = RecordsResult(decisions_applied=len(decisions))
    now = datetime.now(UTC)
    for item in items:
        record, queued = split_item(ctx, item, by_id.get(item.media_id), decisions.get(item.media_id), now)
        if record is not None:
            result.records.append(record)
        if queued is not None:
            result.review.append(queued)
    result.conservation = check_partition(
        {i.media_id for i in items},
        {
            "validated_records": {r.media_id for r in result.records},
            "review_queue": {r.media_id for r in result.review},
        },
        "validated_media",
    )
    ctx.record(
        item_events("output_validated", result.records, "task", "task_version", "model", "source", "flags")
        + item_events("queued_for_review", result.review, "task", "reason_code", "review_status")
    )
    verified = ctx.audit.verify(ctx.day)
    result.audit = audit_outcome(verified)
    result.quality = quality_metrics(outputs, result.review, len(items))
    ctx.log(f"{len(result.records)} records, {len(result.review)} for review, {len(decisions)} decisions applied")
    return result


def audit_outcome(verified: Verification) -> CheckOutcome:
    return CheckOutcome(
        verified.ok, verified.problems, {"events": verified.events, "checkpoints": verified.checkpoints}
    )


def split_item(
    ctx: DayContext,
    item: ValidatedMediaRow,
    output: ModelOutputRow | None,
    decision: Decision | None,
    now: datetime,
) -> tuple[ValidatedRecordRow | None, ReviewQueueRow | None]:
    common = {"media_id": item.media_id, "task": item.task, "sha256": item.sha256}
    if decision is not None and decision.publishes:
        return reviewed_record(ctx.catalog, common, output, decision, now), None
    task = ctx.catalog.get(item.task, output.task_version) if output is not None else None
    verdict = judge(output, task, ctx.text_filter)
    if isinstance(verdict, Accepted) and output is not None and decision is None:
        record = ValidatedRecordRow(
            **common,
            task_version=output.task_version,
            prompt_hash=output.prompt_hash,
            model=output.model,
            variant=output.variant,
            confidence=verdict.confidence,
            record_json=json.dumps(verdict.record),
            flags=verdict.flags,
            source=RecordSource.MODEL,
            recorded_at=now,
        )
        return record, None
    if isinstance(verdict, Accepted):  # rejected by a person although the model's answer passed
        reason = decision.reason_code if decision is not None else ReviewReason.INVALID_OUTPUT
        verdict = Rejected(reason, "rejected by a reviewer", output.parsed_json if output else None)
    queued = ReviewQueueRow(
        **common,
        stage=verdict.reason.stage,
        reason_code=verdict.reason,
        reason_detail=verdict.detail,
        model=output.model if output else None,
        task_version=output.task_version if output else None,
        raw_text=output.raw_text if output else None,
        candidate_json=verdict.candidate_json,
        review_status=ReviewStatus.REJECTED if decision is not None else ReviewStatus.PENDING,
        reviewed_by=decision.reviewer if decision is not None else None,
        reviewed_at=datetime.fromisoformat(decision.decided_at) if decision is not None else None,
        queued_at=now,
    )
    return None, queued


def reviewed_record(
    catalog: TaskCatalog, common: dict[str, str], output: ModelOutputRow | None, decision: Decision, now: datetime
) -> ValidatedRecordRow:
    task = catalog.get(decision.task)
    record = decision.record or {}
    return ValidatedRecordRow(
        **common,
        task_version=output.task_version if output else task.version,
        prompt_hash=output.prompt_hash if output else task.prompt_hash,
        model=output.model if output else task.model,
        variant=output.variant if output else Variant.PRIMARY,
        confidence=record.get("confidence"),
        record_json=json.dumps(decision.record),
        # what the output filters found in the reviewed record (masked, or signed off by the reviewer)
        flags=",".join(filter(None, [f"review:{decision.action}", decision.flags])),
        source=RecordSource.REVIEW,
        reviewed_by=decision.reviewer,
        recorded_at=now,
    )
