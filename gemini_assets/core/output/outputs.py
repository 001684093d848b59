"""The model_outputs stage: every planned item gets exactly one output row."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any

from gemini_assets.core.gateway.base import Attempt, MediaRef, ModelGateway, Usage
from gemini_assets.core.output.cache import ResponseArchive, response_key
from gemini_assets.core.output.process import ItemOutcome, run_item
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.tasks.catalog import get_task

Progress = Callable[[int, int], None]


def attempt_record(attempt: Attempt) -> dict[str, Any]:
    record = asdict(attempt)
    record["started_at"] = attempt.started_at.isoformat()
    return record


def _summed_usage(attempts: list[Attempt]) -> Usage:
    total = Usage()
    for attempt in attempts:
        if attempt.usage is None:
            continue
        total.input_tokens += attempt.usage.input_tokens
        total.output_tokens += attempt.usage.output_tokens
        total.thinking_tokens += attempt.usage.thinking_tokens
        total.cached_tokens += attempt.usage.cached_tokens
        for modality, count in attempt.usage.by_modality.items():
            total.by_modality[modality] = total.by_modality.get(modality, 0) + count
    return total


def _row(item: dict[str, Any], plan: dict[str, Any], **values: Any) -> dict[str, Any]:
    task = get_task(item["task"])
    base = {
        "media_id": item["media_id"],
        "task": item["task"],
        "sha256": item["sha256"],
        "task_version": task.version,
        "prompt_hash": task.prompt_hash,
        "model": plan["model"],
        "variant": plan.get("variant") or "primary",
        "finish_reason": None,
        "block_reason": None,
        "raw_text": None,
        "parsed_json": None,
        "parse_status": "none",
        "parse_error": None,
        "error_code": None,
        "error_message": None,
        "attempts": 0,
        "from_cache": False,
        **Usage().as_columns(),
        "latency_ms": None,
        "response_id": None,
        "attempts_json": "[]",
        "completed_at": datetime.now(timezone.utc),
    }
    base.update(values)
    return base


def _from_outcome(item: dict[str, Any], plan: dict[str, Any], outcome: ItemOutcome) -> dict[str, Any]:
    last = outcome.attempts[-1] if outcome.attempts else None
    ok_ids = [a.response_id for a in outcome.attempts if a.response_id]
    return _row(
        item,
        plan,
        status=outcome.status,
        finish_reason=outcome.finish_reason,
        block_reason=outcome.block_reason,
        raw_text=outcome.text,
        parsed_json=json.dumps(outcome.parsed.value) if outcome.parsed.value is not None else None,
        parse_status=outcome.parsed.status if outcome.status == "ok" else "none",
        parse_error=outcome.parsed.error if outcome.status == "ok" else None,
        error_code=last.error_code if last and not last.ok else None,
        error_message=last.error_message if last and not last.ok else None,
        attempts=len(outcome.attempts),
        **_summed_usage(outcome.attempts).as_columns(),
        latency_ms=sum(a.latency_ms for a in outcome.attempts),
        response_id=ok_ids[-1] if ok_ids else None,
        attempts_json=json.dumps([attempt_record(a) for a in outcome.attempts]),
    )


def produce_output(
    store: ObjectStore, gateway: ModelGateway, archive: ResponseArchive, item: dict[str, Any], plan: dict[str, Any]
) -> dict[str, Any]:
    task = get_task(item["task"])
    cache_key = response_key(task.name, task.version, plan["model"], item["sha256"], task.prompt_hash)
    if plan["delivery"] == "cached":
        cached = archive.get(cache_key) or {}
        return _row(item, plan, **{k: cached.get(k) for k in ("status", "finish_reason", "raw_text", "parsed_json", "parse_status", "parse_error", "response_id")}, from_cache=True)
    if plan["delivery"] == "files_api" and not plan.get("remote_uri"):
        return _row(item, plan, status="upload_failed", error_message=plan.get("error"))
    if plan["delivery"] == "files_api":
        media = MediaRef(mime_type=item["mime_type"], file_uri=plan["remote_uri"])
    else:
        media = MediaRef(mime_type=item["mime_type"], data=store.read_bytes(item["storage_key"]))
    try:
        outcome = run_item(gateway, task, plan["model"], media, item.get("context"))
    except Exception as exc:  # noqa: BLE001 - an SDK surprise must not fail the whole day
        return _row(item, plan, status="api_error", error_code=type(exc).__name__, error_message=str(exc)[:300])
    row = _from_outcome(item, plan, outcome)
    if row["status"] in ("ok", "blocked"):
        archive.put(cache_key, {k: row[k] for k in ("status", "finish_reason", "raw_text", "parsed_json", "parse_status", "parse_error", "response_id", "model", "task_version", "prompt_hash", "sha256")})
    return row


def produce_outputs(
    store: ObjectStore,
    gateway: ModelGateway,
    items: list[dict[str, Any]],
    plans: dict[str, dict[str, Any]],
    concurrency: int = 4,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    archive = ResponseArchive(store)
    rows: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = [pool.submit(produce_output, store, gateway, archive, item, plans[item["media_id"]]) for item in items]
        for done, future in enumerate(as_completed(futures), start=1):
            rows.append(future.result())
            if progress:
                progress(done, len(futures))
    return sorted(rows, key=lambda r: r["media_id"])
