"""Token accounting that mirrors the documented Gemini rules (the Gemini API docs on tokens).

Counts come from the measured media (media.py): images by size or media resolution, audio at
32 tokens per second, video at 258 tokens per frame sampled at 1 fps plus 32 per second for
its audio track (reported under AUDIO, as the API does), PDFs per page (258 on Gemini 2.x, the
media resolution's budget on Gemini 3+, MEDIUM = 560 by default).
"""

from __future__ import annotations

import math
from collections.abc import Callable

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
FLAT_MEDIA_TOKENS = 258  # a non-PDF document (plain text etc.): no page count to measure
AUDIO_TOKENS_PER_S = 32
VIDEO_FRAME_TOKENS = 258
VIDEO_FRAMES_PER_S = 1
PDF_PAGE_TOKENS_LEGACY = 258
DEFAULT_PDF_RESOLUTION = "MEDIA_RESOLUTION_MEDIUM"


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
        _normalize_resolution(item.resolution) or _normalize_resolution(default_resolution) or DEFAULT_IMAGE_RESOLUTION
    )
    return RESOLUTION_TOKENS[level]


def _audio_tokens(item: MediaItem, model: str, default_resolution: str | None) -> dict[str, int]:
    duration = item.stream.audio_s or item.stream.duration_s if item.stream else 0.0
    return {"AUDIO": math.ceil(duration * AUDIO_TOKENS_PER_S)}


def _video_tokens(item: MediaItem, model: str, default_resolution: str | None) -> dict[str, int]:
    facts = item.stream
    if facts is None:
        return {"VIDEO": VIDEO_FRAME_TOKENS}
    # One frame per second of the video track: frames at t = 0, 1, 2 for a 3.0 s clip.
    frames = max(1, math.ceil(round((facts.video_s or facts.duration_s) * VIDEO_FRAMES_PER_S, 3)))
    counts = {"VIDEO": frames * VIDEO_FRAME_TOKENS}
    if facts.has_audio:
        counts["AUDIO"] = math.ceil(facts.audio_s * AUDIO_TOKENS_PER_S)
    return counts


def _document_tokens(item: MediaItem, model: str, default_resolution: str | None) -> dict[str, int]:
    if item.document is None:
        return {"DOCUMENT": FLAT_MEDIA_TOKENS}
    if is_legacy_model(model):
        per_page = PDF_PAGE_TOKENS_LEGACY
    elif item.resolution_tokens:
        per_page = item.resolution_tokens
    else:
        level = (
            _normalize_resolution(item.resolution)
            or _normalize_resolution(default_resolution)
            or DEFAULT_PDF_RESOLUTION
        )
        per_page = RESOLUTION_TOKENS[level]
    return {"DOCUMENT": item.document.pages * per_page}


MediaCounter = Callable[[MediaItem, str, "str | None"], dict[str, int]]
COUNTERS: dict[str, MediaCounter] = {
    "image": lambda item, model, res: {"IMAGE": _image_tokens(item, model, res)},
    "video": _video_tokens,
    "audio": _audio_tokens,
    "document": _document_tokens,
}


def prompt_token_details(prompt: Prompt, model: str, media_resolution: str | None = None) -> list[dict]:
    """[{"modality": ..., "tokenCount": n}] for modalities present, in a fixed order."""
    totals: dict[str, int] = {}
    texts = prompt.system_texts + prompt.texts
    if texts:
        totals["TEXT"] = text_tokens("".join(texts))
    for item in prompt.media:
        for modality, count in COUNTERS[item.kind](item, model, media_resolution).items():
            totals[modality] = totals.get(modality, 0) + count
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
