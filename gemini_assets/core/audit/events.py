"""The audit events each pipeline step records, built from the rows it produced."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from gemini_assets.core.contracts.tables import ModelOutputRow

AuditEvent = dict[str, Any]


def item_events(event: str, rows: Iterable[BaseModel], *fields: str) -> list[AuditEvent]:
    """One event per item with the named fields copied (only what an auditor needs, no content)."""
    events = []
    for row in rows:
        values = row.model_dump(mode="json", include={"media_id", *fields})
        events.append({"event": event, "media_id": values.get("media_id"), **{f: values.get(f) for f in fields}})
    return events


def model_call_events(outputs: Iterable[ModelOutputRow]) -> list[AuditEvent]:
    """One event per API attempt: who was called, how it went, what it cost in tokens."""
    return [
        {
            "event": "model_called",
            "media_id": output.media_id,
            "model": output.model,
            "backend": output.backend,
            "attempt": attempt.attempt,
            "purpose": attempt.purpose,
            "status_code": attempt.status_code,
            "response_id": attempt.response_id,
            "input_tokens": attempt.usage.input_tokens if attempt.usage else None,
            "output_tokens": attempt.usage.output_tokens if attempt.usage else None,
        }
        for output in outputs
        for attempt in output.attempt_log
    ]
