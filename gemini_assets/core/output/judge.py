"""The verdict on one item's model output: a record, or review with a reason.

Order of judgement: the call's fate (upload, API, breaker, budget, residency, sanitizing); then
the answer's finish/block reason; then JSON + schema; then the output filters (PII, sensitive
words); then the task's confidence threshold. A person's decision comes before all of this and
is applied by the caller (core/stages/validate.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gemini_assets.core.contracts.enums import OutputStatus
from gemini_assets.core.contracts.reasons import (
    BLOCKING_FINISH_REASONS,
    REVIEW_REASON_FOR_STATUS,
    TRUNCATED_FINISH_REASON,
    ReviewReason,
)
from gemini_assets.core.contracts.tables import ModelOutputRow
from gemini_assets.core.privacy.filters import TextFilter
from gemini_assets.core.tasks.catalog import TaskSpec


@dataclass(frozen=True)
class Accepted:
    record: dict[str, Any]
    confidence: float | None
    flags: str | None


@dataclass(frozen=True)
class Rejected:
    reason: ReviewReason
    detail: str
    candidate_json: str | None = None


def judge(output: ModelOutputRow | None, task: TaskSpec | None, text_filter: TextFilter) -> Accepted | Rejected:
    if output is None:
        return Rejected(ReviewReason.MISSING_OUTPUT, "model_outputs has no row for this item")
    if output.status in REVIEW_REASON_FOR_STATUS:
        return Rejected(REVIEW_REASON_FOR_STATUS[output.status], _fate_detail(output))
    if output.status == OutputStatus.BLOCKED or output.block_reason or output.finish_reason in BLOCKING_FINISH_REASONS:
        return Rejected(ReviewReason.SAFETY_BLOCKED, output.block_reason or output.finish_reason or "no candidate")
    if output.finish_reason == TRUNCATED_FINISH_REASON:
        return Rejected(ReviewReason.MAX_TOKENS, "answer truncated at max_output_tokens")
    if not output.parsed_json or task is None:
        return Rejected(ReviewReason.INVALID_OUTPUT, output.parse_error or "no valid answer")
    filtered = text_filter.filter_output(json.loads(output.parsed_json), task.output_policy)
    candidate = output.parsed_json
    if filtered.flagged:
        pii = filtered.flagged[0].startswith("pii:")
        reason = ReviewReason.PII_IN_OUTPUT if pii else ReviewReason.SENSITIVE_CONTENT
        return Rejected(reason, "found " + ", ".join(filtered.flagged[:5]), candidate)
    record: dict[str, Any] = filtered.value
    confidence = record.get("confidence")
    if confidence is not None and confidence < task.min_confidence:
        return Rejected(
            ReviewReason.LOW_CONFIDENCE, f"confidence {confidence:.2f} < {task.min_confidence:.2f}", candidate
        )
    return Accepted(record, confidence, filtered.flags)


def _fate_detail(output: ModelOutputRow) -> str:
    if output.status == OutputStatus.API_ERROR:
        return f"{output.error_code}: {output.error_message}"
    defaults = {
        OutputStatus.UPLOAD_FAILED: "upload failed",
        OutputStatus.MODEL_UNAVAILABLE: "circuit breaker open",
        OutputStatus.BUDGET_EXCEEDED: "daily budget exhausted",
        OutputStatus.RESIDENCY_BLOCKED: "residency restricted",
        OutputStatus.SANITIZE_FAILED: "could not strip metadata",
        OutputStatus.UNSUPPORTED_BY_MODEL: "the routed model cannot take this media",
        OutputStatus.QUOTA_EXHAUSTED: "the model's daily request quota is spent",
    }
    return output.error_message or defaults.get(output.status, str(output.status))
