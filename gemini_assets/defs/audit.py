"""Every step appends what it did to the day's audit trail (core/audit/log.py)."""

import dagster as dg

from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.storage.objectstore import ObjectStore


def record(context: dg.AssetExecutionContext, store: ObjectStore, events: list[dict]) -> None:
    count = AuditLog(store).append(context.partition_key, events, run_id=context.run.run_id)
    context.log.info("audit: %d events appended for %s", count, context.partition_key)
