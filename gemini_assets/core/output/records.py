"""Split model outputs into validated records and the review queue, each with a reason.

Order of judgement for one item: a person's decision wins; then the call's fate (upload, API,
breaker, budget); then the answer's finish/block reason; then JSON + schema; then the output
filters (PII, sensitive words); then the task's confidence threshold.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from gemini_assets.core.output.filters import filter_output
from gemini_assets.core.review.decisions import Decision
from gemini_assets.core.tasks.catalog import get_task


class ReviewReason(StrEnum):
    INVALID_OUTPUT = "invalid_output"
    MAX_TOKENS = "max_tokens"
    SAFETY_BLOCKED = "safety_blocked"
    PII_IN_OUTPUT = "pii_in_output"
    SENSITIVE_CONTENT = "sensitive_content"
    LOW_CONFIDENCE = "low_confidence"
    API_ERROR = "api_error"
    UPLOAD_FAILED = "upload_failed"
    MISSING_OUTPUT = "missing_output"
    MODEL_UNAVAILABLE = "model_unavailable"
    BUDGET_EXCEEDED = "budget_exceeded"
    RESIDENCY_BLOCKED = "residency_blocked"
    SANITIZE_FAILED = "sanitize_failed"


REVIEW_DOCS = {
    ReviewReason.INVALID_OUTPUT: "answer failed JSON/schema validation after the one repair retry",
    ReviewReason.MAX_TOKENS: "answer cut off at the output token limit (no retry: it would be cut again)",
    ReviewReason.SAFETY_BLOCKED: "prompt or answer blocked by the provider's safety filters, or no candidate",
    ReviewReason.PII_IN_OUTPUT: "the answer contains PII and the task's policy is to flag, not redact",
    ReviewReason.SENSITIVE_CONTENT: "the answer contains a configured sensitive word",
    ReviewReason.LOW_CONFIDENCE: "valid answer below the task's confidence threshold",
    ReviewReason.API_ERROR: "the API kept failing after bounded retries",
    ReviewReason.UPLOAD_FAILED: "the Files API upload failed",
    ReviewReason.MISSING_OUTPUT: "no model output row for an accepted item",
    ReviewReason.MODEL_UNAVAILABLE: "circuit breaker open after repeated API failures: not called",
    ReviewReason.BUDGET_EXCEEDED: "the task's daily budget would be exceeded: not called",
    ReviewReason.RESIDENCY_BLOCKED: "residency: restricted and no in-region route is configured: nothing sent",
    ReviewReason.SANITIZE_FAILED: "metadata could not be stripped losslessly: nothing sent",
}

_STAGE = {
    ReviewReason.UPLOAD_FAILED: "files",
    ReviewReason.API_ERROR: "model",
    ReviewReason.MISSING_OUTPUT: "model",
    ReviewReason.MODEL_UNAVAILABLE: "model",
    ReviewReason.BUDGET_EXCEEDED: "model",
    ReviewReason.RESIDENCY_BLOCKED: "files",
    ReviewReason.SANITIZE_FAILED: "files",
}
_BLOCKING_FINISH = {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION"}


def split_outputs(
    items: list[dict[str, Any]],
    outputs: dict[str, dict[str, Any]],
    decisions: dict[str, Decision] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    records, review = [], []
    now = datetime.now(timezone.utc)
    for item in items:
        output = outputs.get(item["media_id"])
        decision = (decisions or {}).get(item["media_id"])
        base = {"media_id": item["media_id"], "task": item["task"], "sha256": item["sha256"]}
        if decision is not None and decision.publishes:
            records.append({**base, **_reviewed_record(output, decision), "recorded_at": now})
            continue
        verdict = _judge(item, output)
        if isinstance(verdict, dict) and decision is None:
            records.append({**base, **verdict, "recorded_at": now})
            continue
        if isinstance(verdict, dict):  # rejected by a person although the model's answer passed
            verdict = (ReviewReason(decision.reason_code), "rejected by a reviewer", verdict.get("record_json"))
        reason, detail, candidate = verdict
        review.append(
            {
                **base,
                "stage": _STAGE.get(reason, "validation"),
                "reason_code": str(reason),
                "reason_detail": detail,
                "model": output.get("model") if output else None,
                "task_version": output.get("task_version") if output else None,
                "raw_text": output.get("raw_text") if output else None,
                "candidate_json": candidate,
                "review_status": "rejected" if decision is not None else "pending",
                "reviewed_by": decision.reviewer if decision is not None else None,
                "reviewed_at": datetime.fromisoformat(decision.decided_at) if decision is not None else None,
                "queued_at": now,
            }
        )
    return records, review


def _reviewed_record(output: dict[str, Any] | None, decision: Decision) -> dict[str, Any]:
    task = get_task(decision.task)
    return {
        "task_version": (output or {}).get("task_version") or task.version,
        "prompt_hash": (output or {}).get("prompt_hash") or task.prompt_hash,
        "model": (output or {}).get("model") or task.model,
        "variant": (output or {}).get("variant") or "primary",
        "confidence": (decision.record or {}).get("confidence"),
        "record_json": json.dumps(decision.record),
        "flags": f"review:{decision.action}",
        "source": "review",
        "reviewed_by": decision.reviewer,
    }


def _judge(item: dict[str, Any], output: dict[str, Any] | None) -> dict[str, Any] | tuple[ReviewReason, str, str | None]:
    if output is None:
        return ReviewReason.MISSING_OUTPUT, "model_outputs has no row for this item", None
    status = output["status"]
    fate = {
        "upload_failed": (ReviewReason.UPLOAD_FAILED, output.get("error_message") or "upload failed"),
        "model_unavailable": (ReviewReason.MODEL_UNAVAILABLE, output.get("error_message") or "circuit breaker open"),
        "budget_exceeded": (ReviewReason.BUDGET_EXCEEDED, output.get("error_message") or "daily budget exhausted"),
        "residency_blocked": (ReviewReason.RESIDENCY_BLOCKED, output.get("error_message") or "residency restricted"),
        "sanitize_failed": (ReviewReason.SANITIZE_FAILED, output.get("error_message") or "could not strip metadata"),
        "api_error": (ReviewReason.API_ERROR, f"{output.get('error_code')}: {output.get('error_message')}"),
    }
    if status in fate:
        return (*fate[status], None)
    if status == "blocked" or output.get("block_reason") or output.get("finish_reason") in _BLOCKING_FINISH:
        return ReviewReason.SAFETY_BLOCKED, output.get("block_reason") or output.get("finish_reason") or "no candidate", None
    if output.get("finish_reason") == "MAX_TOKENS":
        return ReviewReason.MAX_TOKENS, "answer truncated at max_output_tokens", None
    if not output.get("parsed_json"):
        return ReviewReason.INVALID_OUTPUT, output.get("parse_error") or "no valid answer", None
    task = get_task(item["task"], output.get("task_version"))
    filtered = filter_output(json.loads(output["parsed_json"]), task.output_policy)
    candidate = output["parsed_json"]
    if filtered.flagged:
        reason = ReviewReason.PII_IN_OUTPUT if filtered.flagged[0].startswith("pii:") else ReviewReason.SENSITIVE_CONTENT
        return reason, "found " + ", ".join(filtered.flagged[:5]), candidate
    record = filtered.value
    confidence = record.get("confidence")
    if confidence is not None and confidence < task.min_confidence:
        return ReviewReason.LOW_CONFIDENCE, f"confidence {confidence:.2f} < {task.min_confidence:.2f}", candidate
    return {
        "task_version": output["task_version"],
        "prompt_hash": output["prompt_hash"],
        "model": output["model"],
        "variant": output.get("variant") or "primary",
        "confidence": confidence,
        "record_json": json.dumps(record),
        "flags": filtered.flags,
        "source": "model",
        "reviewed_by": None,
    }
