"""Documented Gemini token rates per media unit, the one source for every estimate.

Gemini 3 defaults: an image at HIGH media resolution 1,120 tokens; audio 32 tokens per second;
video 263 tokens per second (258 per frame at 1 fps plus audio); a PDF page at MEDIUM 560.
Gemini 1.x/2.x count images in 768 px tiles of 258 tokens and PDF pages at 258. Real counts come
back in each answer's usage; these only size reservations (TPM, budgets) before a call.
"""

from __future__ import annotations

import math

from gemini_assets.core.contracts.enums import MediaKind

IMAGE_TOKENS = 1120
AUDIO_TOKENS_PER_S = 32
VIDEO_TOKENS_PER_S = 263
PDF_PAGE_TOKENS = 560
LEGACY_TILE_TOKENS, LEGACY_TILE_PX = 258, 768
LEGACY_PDF_PAGE_TOKENS = 258
CHARS_PER_TOKEN = 4

# Tokens per media unit (an image, a second, a page) for the current models.
RATE_PER_UNIT: dict[MediaKind, float] = {
    MediaKind.IMAGE: IMAGE_TOKENS,
    MediaKind.AUDIO: AUDIO_TOKENS_PER_S,
    MediaKind.VIDEO: VIDEO_TOKENS_PER_S,
    MediaKind.DOCUMENT: PDF_PAGE_TOKENS,
}


def is_legacy(model: str) -> bool:
    return model.startswith(("gemini-1", "gemini-2"))


def legacy_image_tokens(width: int, height: int) -> int:
    return math.ceil(width / LEGACY_TILE_PX) * math.ceil(height / LEGACY_TILE_PX) * LEGACY_TILE_TOKENS


def text_tokens(text_chars: int) -> float:
    return text_chars / CHARS_PER_TOKEN
