"""Per-partition quality metrics of the model's answers (materialization metadata)."""

from __future__ import annotations

from collections import Counter

from gemini_assets.core.contracts.enums import CallPurpose, OutputStatus, ParseStatus
from gemini_assets.core.contracts.tables import ModelOutputRow, ReviewQueueRow


def quality_metrics(outputs: list[ModelOutputRow], review: list[ReviewQueueRow], items: int) -> dict[str, float | int]:
    """Rates over the items answered in this run (cached answers carry no attempt history)."""
    live = [o for o in outputs if not o.from_cache and o.status == OutputStatus.OK]
    first_pass = repaired_ok = retried = 0
    tokens = {CallPurpose.GENERATE: 0, CallPurpose.REPAIR: 0}
    for output in live:
        for attempt in output.attempt_log:
            usage = attempt.usage
            if usage is not None:
                tokens[attempt.purpose] += usage.input_tokens + usage.output_tokens + usage.thinking_tokens
        valid = bool(output.parsed_json)
        if any(a.purpose == CallPurpose.REPAIR for a in output.attempt_log):
            retried += 1
            repaired_ok += valid
        elif valid and output.parse_status == ParseStatus.VALID:
            first_pass += 1
    generate_tokens = tokens[CallPurpose.GENERATE]
    metrics: dict[str, float | int] = {
        "answered_live": len(live),
        "first_pass_valid_rate": round(first_pass / len(live), 4) if live else 0.0,
        "repair_retries": retried,
        "valid_after_retry_rate": round(repaired_ok / retried, 4) if retried else 0.0,
        "retry_token_overhead": round(tokens[CallPurpose.REPAIR] / generate_tokens, 4) if generate_tokens else 0.0,
        "review_rate": round(len(review) / items, 4) if items else 0.0,
    }
    for reason, count in Counter(r.reason_code for r in review).items():
        metrics[f"review_rate_{reason}"] = round(count / items, 4)
    return metrics
