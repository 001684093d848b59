"""The audit events each pipeline step records, built from the rows it produced."""

from __future__ import annotations

from typing import Any


def item_events(event: str, rows: list[dict[str, Any]], *fields: str) -> list[dict[str, Any]]:
    """One event per item with the named fields copied (only what an auditor needs, no content)."""
    return [{"event": event, "media_id": row.get("media_id"), **{f: row.get(f) for f in fields}} for row in rows]
