"""Typed rows for unit tests: valid defaults, override what the test is about."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from gemini_assets.core.contracts.calls import Attempt, Usage
from gemini_assets.core.contracts.enums import DeliveryMode, Endpoint, OutputStatus, ParseStatus, Variant
from gemini_assets.core.contracts.tables import DeliveryPlan, ModelOutputRow, ValidatedMediaRow

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
MIME = {"image": "image/png", "audio": "audio/mp3", "video": "video/mp4", "document": "application/pdf"}
EXTENSION = {"image": "png", "audio": "mp3", "video": "mp4", "document": "pdf"}


def media_item(
    n: int | str = 0, task: str = "product_recognition", kind: str = "image", **extra: Any
) -> ValidatedMediaRow:
    media_id = extra.pop("media_id", f"m{n}")
    values: dict[str, Any] = {
        "media_id": media_id,
        "task": task,
        "sha256": extra.pop("sha256", f"{abs(hash(media_id)):064x}"[:64]),
        "media_kind": kind,
        "mime_type": MIME[kind],
        "extension": EXTENSION[kind],
        "size_bytes": 50_000,
        "storage_key": f"media/{media_id}.{EXTENSION[kind]}",
        **extra,
    }
    return ValidatedMediaRow(**values)


def delivery_plan(item: ValidatedMediaRow | None = None, model: str = "gemini-3.8-flash", **extra: Any) -> DeliveryPlan:
    item = item or media_item()
    values: dict[str, Any] = {
        "media_id": item.media_id,
        "task": item.task,
        "sha256": item.sha256,
        "model": model,
        "variant": Variant.PRIMARY,
        "delivery": DeliveryMode.INLINE,
        "endpoint": Endpoint.GLOBAL,
        "decision_reason": "test",
        **extra,
    }
    return DeliveryPlan(**values)


def usage(input_tokens: int = 1_000, output_tokens: int = 100, **modalities: int) -> Usage:
    return Usage(input_tokens=input_tokens, output_tokens=output_tokens, by_modality=modalities)


def attempt(
    n: int,
    status: int = 200,
    purpose: str = "generate",
    with_usage: Usage | None = None,
    tier: str = "standard",
    offset_s: float = 0,
    started: datetime | None = None,
) -> Attempt:
    return Attempt(
        attempt=n,
        started_at=started or T0 + timedelta(seconds=offset_s + n),
        latency_ms=12.5,
        status_code=status,
        error_code=None if status == 200 else "UNAVAILABLE",
        usage=(with_usage or usage()) if status == 200 else None,
        purpose=purpose,
        service_tier=tier,
    )


def output(
    media_id: str,
    attempts: list[Attempt],
    task: str = "product_recognition",
    model: str = "gemini-3.8-flash",
    **extra: Any,
) -> ModelOutputRow:
    values: dict[str, Any] = {
        "media_id": media_id,
        "task": task,
        "sha256": "0" * 64,
        "task_version": "1.0.0",
        "prompt_hash": "p" * 16,
        "model": model,
        "variant": Variant.PRIMARY,
        "status": OutputStatus.OK,
        "parse_status": ParseStatus.VALID,
        "attempts": len(attempts),
        "from_cache": False,
        "attempt_log": attempts,
        "attempts_json": json.dumps([a.model_dump(mode="json") for a in attempts]),
        **extra,
    }
    return ModelOutputRow(**values)


# A valid product_recognition answer, as the emulator gives it for a red mug.
PRODUCT_ANSWER = {
    "product_name": "Red ceramic mug",
    "category": "kitchenware",
    "dominant_colors": ["red", "white"],
    "description": "A red mug.",
    "confidence": 0.9,
}
