"""The model_outputs stage: every planned item gets exactly one output row.

Items run concurrently (threads; the gateway's quota limiter and breaker are thread-safe). No
API error fails the partition: a failing model opens the circuit breaker and the remaining items
get `model_unavailable`; a quota that will not admit a call in time gives `api_error`; an
expired Files API handle is uploaded again once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any

from gemini_assets.core.costs.budget import BudgetGuard, budget_guard
from gemini_assets.core.gateway.base import Attempt, GenerateRequest, GenerateResult, MediaRef, ModelGateway, Usage
from gemini_assets.core.gateway.breaker import ModelUnavailable
from gemini_assets.core.gateway.delivery import upload_item
from gemini_assets.core.gateway.ratelimit import QuotaWaitExceeded
from gemini_assets.core.output.cache import ResponseArchive, response_key
from gemini_assets.core.output.parse import Parsed
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


def output_row(item: dict[str, Any], plan: dict[str, Any], **values: Any) -> dict[str, Any]:
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
    return output_row(
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


def outbound_media(store: ObjectStore, item: dict[str, Any], file_uri: str | None, key: str | None) -> MediaRef:
    """What a request carries: a Files API URI, or the SANITIZED copy's bytes, never the original."""
    if not file_uri and not key:
        raise ValueError(f"{item['media_id']}: no sanitized copy was planned, so nothing may be sent")
    facts = {
        "size_bytes": _int(item.get("size_bytes")),
        "duration_s": _float(item.get("duration_s")),
        "pages": _int(item.get("pages")),
    }
    if file_uri:
        return MediaRef(mime_type=item["mime_type"], file_uri=file_uri, **facts)
    return MediaRef(mime_type=item["mime_type"], data=store.read_bytes(key), **facts)


def _float(value: Any) -> float | None:
    return None if value is None or value != value else float(value)  # NaN (pandas) = unknown


def _int(value: Any) -> int | None:
    number = _float(value)
    return None if number is None else int(number)


class _NumberedAfter:
    """Continue attempt numbers after earlier attempts (call_id = media_id + attempt number)."""

    def __init__(self, gateway: ModelGateway, offset: int):
        self.gateway, self.offset = gateway, offset

    def generate(self, request: GenerateRequest, first_attempt: int = 1) -> GenerateResult:
        return self.gateway.generate(request, first_attempt + self.offset)


def _file_expired(outcome: ItemOutcome) -> bool:
    last = outcome.attempts[-1] if outcome.attempts else None
    return outcome.status == "api_error" and last is not None and last.status_code == 403


def _call_model(
    store: ObjectStore, gateway: ModelGateway, item: dict[str, Any], plan: dict[str, Any]
) -> dict[str, Any]:
    task = get_task(item["task"])
    files_api = plan["delivery"] == "files_api"
    media = outbound_media(store, item, plan["remote_uri"] if files_api else None, plan["sanitized_key"])
    earlier: list[Attempt] = []
    try:
        outcome = run_item(gateway, task, plan["model"], media, item.get("context"))
        if files_api and _file_expired(outcome):
            # The handle expired or was deleted between planning and the call: upload once more.
            earlier = outcome.attempts
            remote = upload_item(store, item, gateway, plan["sanitized_key"])
            media = outbound_media(store, item, remote.uri, plan["sanitized_key"])
            outcome = run_item(_NumberedAfter(gateway, len(earlier)), task, plan["model"], media, item.get("context"))  # type: ignore[arg-type]
            outcome.attempts = earlier + outcome.attempts
    except ModelUnavailable as exc:
        return _failed_row(item, plan, "model_unavailable", earlier + exc.attempts, "circuit_open", str(exc))
    except QuotaWaitExceeded as exc:
        attempts = earlier + getattr(exc, "attempts", [])
        return _failed_row(item, plan, "api_error", attempts, "quota_wait_exceeded", str(exc))
    except Exception as exc:  # noqa: BLE001 - an SDK surprise must not fail the whole day
        return _failed_row(item, plan, "api_error", earlier, type(exc).__name__, str(exc)[:300])
    return _from_outcome(item, plan, outcome)


def _failed_row(
    item: dict[str, Any], plan: dict[str, Any], status: str, attempts: list[Attempt], code: str, message: str
) -> dict[str, Any]:
    outcome = ItemOutcome(status, None, None, None, Parsed("invalid", None, message), list(attempts))
    return {**_from_outcome(item, plan, outcome), "error_code": code, "error_message": message, "parse_status": "none"}


def produce_output(
    store: ObjectStore,
    gateway: ModelGateway,
    archive: ResponseArchive,
    item: dict[str, Any],
    plan: dict[str, Any],
    budget: BudgetGuard | None = None,
) -> dict[str, Any]:
    task = get_task(item["task"])
    cache_key = response_key(task.name, task.version, plan["model"], item["sha256"], task.prompt_hash)
    if plan["delivery"] == "cached":
        cached = archive.get(cache_key) or {}
        return output_row(item, plan, **{k: cached.get(k) for k in ("status", "finish_reason", "raw_text", "parsed_json", "parse_status", "parse_error", "response_id")}, from_cache=True)
    if plan["delivery"] == "blocked":
        status, _, detail = (plan.get("error") or "sanitize_failed: blocked").partition(": ")
        return output_row(item, plan, status=status, error_message=detail)
    if plan["delivery"] == "files_api" and (not plan.get("remote_uri") or plan.get("remote_state") != "ACTIVE"):
        return output_row(item, plan, status="upload_failed", error_message=plan.get("error") or f"file state {plan.get('remote_state')}")
    if budget and (refusal := budget.refusal(item, plan)):
        return output_row(item, plan, status="budget_exceeded", error_message=refusal)
    row = _call_model(store, gateway, item, plan)
    if row["status"] in ("ok", "blocked"):
        archive.put(cache_key, {k: row[k] for k in ("status", "finish_reason", "raw_text", "parsed_json", "parse_status", "parse_error", "response_id", "model", "task_version", "prompt_hash", "sha256")})
    return row


def _endpoint(plan: dict[str, Any], gateway: ModelGateway, in_region: ModelGateway | None) -> ModelGateway:
    """Restricted items were planned for the in-region endpoint; they are called there or not at all."""
    if plan.get("endpoint") == "in_region":
        if in_region is None:
            raise RuntimeError(f"{plan['media_id']} was planned in-region but no in-region endpoint is configured now")
        return in_region
    return gateway


def produce_outputs(
    store: ObjectStore,
    gateway: ModelGateway,
    items: list[dict[str, Any]],
    plans: dict[str, dict[str, Any]],
    concurrency: int = 4,
    progress: Progress | None = None,
    in_region: ModelGateway | None = None,
) -> list[dict[str, Any]]:
    archive = ResponseArchive(store)
    budget = budget_guard(store)  # None when no task has a daily budget (core/costs/budgets.yaml)
    rows: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = [
            pool.submit(produce_output, store, _endpoint(plans[item["media_id"]], gateway, in_region), archive, item, plans[item["media_id"]], budget)
            for item in items
        ]
        for done, future in enumerate(as_completed(futures), start=1):
            rows.append(future.result())
            if budget:
                budget.settle(rows[-1])
            if progress:
                progress(done, len(futures))
    return sorted(rows, key=lambda r: r["media_id"])
