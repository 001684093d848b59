"""The audit events each pipeline step records, built from the rows it produced."""

from __future__ import annotations

from typing import Any


def item_events(event: str, rows: list[dict[str, Any]], *fields: str) -> list[dict[str, Any]]:
    """One event per item with the named fields copied (only what an auditor needs, no content)."""
    return [{"event": event, "media_id": row.get("media_id"), **{f: row.get(f) for f in fields}} for row in rows]


def model_call_events(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One event per API attempt: who was called, how it went, what it cost in tokens."""
    import json

    events = []
    for output in outputs:
        for attempt in json.loads(output.get("attempts_json") or "[]"):
            usage = attempt.get("usage") or {}
            events.append(
                {
                    "event": "model_called",
                    "media_id": output["media_id"],
                    "model": output.get("model"),
                    "attempt": attempt.get("attempt"),
                    "purpose": attempt.get("purpose"),
                    "status_code": attempt.get("status_code"),
                    "response_id": attempt.get("response_id"),
                    "input_tokens": usage.get("input_tokens"),
                    "output_tokens": usage.get("output_tokens"),
                }
            )
    return events
