"""Token accounting that mirrors the documented Gemini rules (notes §2 "Tokens").

Per-kind counters live in one table so duration-based audio/video/PDF counts can be
added later without touching the callers.
"""

from __future__ import annotations

import math
from typing import Callable

from .media import MediaItem
from .prompt import Prompt

MODALITY_ORDER = ("TEXT", "IMAGE", "VIDEO", "AUDIO", "DOCUMENT")
MODALITY_BY_KIND = {"image": "IMAGE", "video": "VIDEO", "audio": "AUDIO", "document": "DOCUMENT"}

# Gemini 3+ per-image budget by media resolution.
RESOLUTION_TOKENS = {
    "MEDIA_RESOLUTION_LOW": 280,
    "MEDIA_RESOLUTION_MEDIUM": 560,
    "MEDIA_RESOLUTION_HIGH": 1120,
    "MEDIA_RESOLUTION_ULTRA_HIGH": 2240,
}
DEFAULT_IMAGE_RESOLUTION = "MEDIA_RESOLUTION_HIGH"
LEGACY_TILE = 768
LEGACY_SMALL_SIDE = 384
LEGACY_TILE_TOKENS = 258
FLAT_MEDIA_TOKENS = 258  # placeholder for audio/video/pdf until durations/pages are measured


def text_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def is_legacy_model(model: str) -> bool:
    name = model.removeprefix("models/").removeprefix("tunedModels/")
    return name.startswith(("gemini-1", "gemini-2"))


def _normalize_resolution(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    upper = value.upper()
    if not upper.startswith("MEDIA_RESOLUTION_"):
        upper = "MEDIA_RESOLUTION_" + upper
    return upper if upper in RESOLUTION_TOKENS else None


def _image_tokens(item: MediaItem, model: str, default_resolution: str | None) -> int:
    if is_legacy_model(model):
        image = item.image
        if image is None or (image.width <= LEGACY_SMALL_SIDE and image.height <= LEGACY_SMALL_SIDE):
            return LEGACY_TILE_TOKENS
        return math.ceil(image.width / LEGACY_TILE) * math.ceil(image.height / LEGACY_TILE) * LEGACY_TILE_TOKENS
    if item.resolution_tokens:
        return item.resolution_tokens
    level = (
        _normalize_resolution(item.resolution)
        or _normalize_resolution(default_resolution)
        or DEFAULT_IMAGE_RESOLUTION
    )
    return RESOLUTION_TOKENS[level]


def _flat_tokens(item: MediaItem, model: str, default_resolution: str | None) -> int:
    return FLAT_MEDIA_TOKENS


MediaCounter = Callable[[MediaItem, str, "str | None"], int]
COUNTERS: dict[str, MediaCounter] = {
    "image": _image_tokens,
    "video": _flat_tokens,
    "audio": _flat_tokens,
    "document": _flat_tokens,
}


def prompt_token_details(prompt: Prompt, model: str, media_resolution: str | None = None) -> list[dict]:
    """[{"modality": ..., "tokenCount": n}] for modalities present, in a fixed order."""
    totals: dict[str, int] = {}
    texts = prompt.system_texts + prompt.texts
    if texts:
        totals["TEXT"] = text_tokens("".join(texts))
    for item in prompt.media:
        modality = MODALITY_BY_KIND[item.kind]
        totals[modality] = totals.get(modality, 0) + COUNTERS[item.kind](item, model, media_resolution)
    return [{"modality": m, "tokenCount": totals[m]} for m in MODALITY_ORDER if m in totals]


def usage_metadata(prompt_details: list[dict], answer: str) -> dict:
    prompt_total = sum(d["tokenCount"] for d in prompt_details)
    candidates = text_tokens(answer)
    return {
        "promptTokenCount": prompt_total,
        "candidatesTokenCount": candidates,
        "thoughtsTokenCount": 0,
        "totalTokenCount": prompt_total + candidates,
        "promptTokensDetails": prompt_details,
        "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": candidates}],
    }
