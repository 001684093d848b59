"""The audit events each pipeline step records, built from the rows it produced."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

AuditEvent = dict[str, Any]


def item_events(event: str, rows: Iterable[BaseModel], *fields: str) -> list[AuditEvent]:
    """One event per item with the named fields copied (only what an auditor needs, no content)."""
    events = []
    for row in rows:
        values = row.model_dump(mode="json", include={"media_id", *fields})
        events.append({"event": event, "media_id": values.get("media_id"), **{f: values.get(f) for f in fields}})
    return events
