"""Split model outputs into validated records and the review queue, each with a reason."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from gemini_assets.core.tasks.catalog import get_task


class ReviewReason(StrEnum):
    INVALID_OUTPUT = "invalid_output"
    MAX_TOKENS = "max_tokens"
    SAFETY_BLOCKED = "safety_blocked"
    LOW_CONFIDENCE = "low_confidence"
    API_ERROR = "api_error"
    UPLOAD_FAILED = "upload_failed"
    MISSING_OUTPUT = "missing_output"
    MODEL_UNAVAILABLE = "model_unavailable"
    BUDGET_EXCEEDED = "budget_exceeded"


REVIEW_DOCS = {
    ReviewReason.INVALID_OUTPUT: "answer failed JSON/schema validation after the one repair retry",
    ReviewReason.MAX_TOKENS: "answer cut off at the output token limit",
    ReviewReason.SAFETY_BLOCKED: "prompt or answer blocked by the provider's safety filters",
    ReviewReason.LOW_CONFIDENCE: "valid answer below the task's confidence threshold",
    ReviewReason.API_ERROR: "the API kept failing after bounded retries",
    ReviewReason.UPLOAD_FAILED: "the Files API upload failed",
    ReviewReason.MISSING_OUTPUT: "no model output row for an accepted item",
    ReviewReason.MODEL_UNAVAILABLE: "circuit breaker open after repeated API failures: not called",
    ReviewReason.BUDGET_EXCEEDED: "the task's daily budget would be exceeded: not called",
}


def split_outputs(
    items: list[dict[str, Any]], outputs: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    records, review = [], []
    now = datetime.now(timezone.utc)
    for item in items:
        output = outputs.get(item["media_id"])
        decision = _decide(item, output)
        base = {"media_id": item["media_id"], "task": item["task"], "sha256": item["sha256"]}
        if isinstance(decision, dict):
            records.append({**base, **decision, "recorded_at": now})
            continue
        reason, detail = decision
        review.append(
            {
                **base,
                "stage": "files" if reason == ReviewReason.UPLOAD_FAILED else "model" if reason in (ReviewReason.API_ERROR, ReviewReason.MISSING_OUTPUT) else "validation",
                "reason_code": str(reason),
                "reason_detail": detail,
                "model": output.get("model") if output else None,
                "task_version": output.get("task_version") if output else None,
                "raw_text": output.get("raw_text") if output else None,
                "queued_at": now,
            }
        )
    return records, review


def _decide(item: dict[str, Any], output: dict[str, Any] | None) -> dict[str, Any] | tuple[ReviewReason, str]:
    if output is None:
        return ReviewReason.MISSING_OUTPUT, "model_outputs has no row for this item"
    status = output["status"]
    if status == "upload_failed":
        return ReviewReason.UPLOAD_FAILED, output.get("error_message") or "upload failed"
    if status == "model_unavailable":
        return ReviewReason.MODEL_UNAVAILABLE, output.get("error_message") or "circuit breaker open"
    if status == "budget_exceeded":
        return ReviewReason.BUDGET_EXCEEDED, output.get("error_message") or "daily budget exhausted"
    if status == "api_error":
        return ReviewReason.API_ERROR, f"{output.get('error_code')}: {output.get('error_message')}"
    if status == "blocked":
        return ReviewReason.SAFETY_BLOCKED, output.get("block_reason") or output.get("finish_reason") or "blocked"
    if not output.get("parsed_json"):
        if output.get("finish_reason") == "MAX_TOKENS":
            return ReviewReason.MAX_TOKENS, "answer truncated at max_output_tokens"
        return ReviewReason.INVALID_OUTPUT, output.get("parse_error") or "no valid answer"
    record = json.loads(output["parsed_json"])
    confidence = record.get("confidence")
    threshold = get_task(item["task"]).min_confidence
    if confidence is not None and confidence < threshold:
        return ReviewReason.LOW_CONFIDENCE, f"confidence {confidence:.2f} < {threshold:.2f}"
    return {
        "task_version": output["task_version"],
        "prompt_hash": output["prompt_hash"],
        "model": output["model"],
        "variant": output.get("variant") or "primary",
        "confidence": confidence,
        "record_json": output["parsed_json"],
        "source": "model",
    }
