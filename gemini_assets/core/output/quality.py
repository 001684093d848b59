"""Per-partition quality metrics of the model's answers (materialization metadata)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any


def quality_metrics(outputs: list[dict[str, Any]], review: list[dict[str, Any]], items: int) -> dict[str, float | int]:
    """Rates over the items answered in this run (cached answers carry no attempt history)."""
    live = [o for o in outputs if not o.get("from_cache") and o.get("status") == "ok"]
    first_pass = repaired_ok = retried = 0
    tokens = {"generate": 0, "repair": 0}
    for output in live:
        attempts = json.loads(output.get("attempts_json") or "[]")
        purposes = {a.get("purpose", "generate") for a in attempts}
        for attempt in attempts:
            usage = attempt.get("usage") or {}
            tokens[attempt.get("purpose", "generate")] = tokens.get(attempt.get("purpose", "generate"), 0) + int(
                usage.get("input_tokens", 0) + usage.get("output_tokens", 0) + usage.get("thinking_tokens", 0)
            )
        valid = bool(output.get("parsed_json"))
        if "repair" in purposes:
            retried += 1
            repaired_ok += valid
        elif valid and output.get("parse_status") == "valid":
            first_pass += 1
    metrics: dict[str, float | int] = {
        "answered_live": len(live),
        "first_pass_valid_rate": round(first_pass / len(live), 4) if live else 0.0,
        "repair_retries": retried,
        "valid_after_retry_rate": round(repaired_ok / retried, 4) if retried else 0.0,
        "retry_token_overhead": round(tokens["repair"] / tokens["generate"], 4) if tokens["generate"] else 0.0,
        "review_rate": round(len(review) / items, 4) if items else 0.0,
    }
    for reason, count in Counter(r["reason_code"] for r in review).items():
        metrics[f"review_rate_{reason}"] = round(count / items, 4)
    return metrics
