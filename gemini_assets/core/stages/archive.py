"""Where an item's archived answer lives: the same key when planning and when answering."""

from __future__ import annotations

from gemini_assets.core.contracts.calls import MediaRef
from gemini_assets.core.contracts.enums import Backend
from gemini_assets.core.contracts.tables import ValidatedMediaRow
from gemini_assets.core.output.cache import request_fingerprint, response_key
from gemini_assets.core.output.process import first_request
from gemini_assets.core.stages.context import DayContext


def archive_key(ctx: DayContext, backend: Backend, item: ValidatedMediaRow, model: str) -> str:
    """The answer key of the item's first request as it would be sent (media aside)."""
    task = ctx.catalog.for_item(item.task, item.sha256)
    request = first_request(task, model, MediaRef(item.mime_type), item.context, ctx.text_filter)
    return response_key(backend, task.name, task.version, model, item.sha256, request_fingerprint(request))
