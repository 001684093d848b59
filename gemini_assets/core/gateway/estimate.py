"""Input-token estimate reserved against TPM before a call, learnt from real usage as calls land.

Starts from the documented rates (../shared/notes/gemini-api.md §2 "Tokens": Gemini 3 images at
HIGH 1,120, audio 32/s, video 263/s, PDF pages 560) and then follows an exponential average of
the measured tokens per media unit, so TPM is neither wasted nor overrun when the guess is off.
"""

from __future__ import annotations

import threading

from gemini_assets.core.gateway.base import GenerateRequest

START_RATE = {"image": 1120.0, "audio": 32.0, "video": 263.0, "document": 560.0}
UNKNOWN_UNITS = {"image": 1.0, "audio": 300.0, "video": 300.0, "document": 10.0}
CHARS_PER_TOKEN = 4
SMOOTHING = 0.2


def media_kind(mime_type: str) -> str:
    top = mime_type.split("/", 1)[0]
    return top if top in ("image", "audio", "video") else "document"


class TokenEstimator:
    def __init__(self) -> None:
        self._rate: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def estimate(self, request: GenerateRequest) -> int:
        kind = media_kind(request.media.mime_type)
        with self._lock:
            rate = self._rate.get((request.model, kind), START_RATE[kind])
        return int(_text_tokens(request) + rate * _units(request, kind))

    def observe(self, request: GenerateRequest, input_tokens: int) -> None:
        kind = media_kind(request.media.mime_type)
        measured = max(0.0, input_tokens - _text_tokens(request)) / _units(request, kind)
        with self._lock:
            old = self._rate.get((request.model, kind))
            self._rate[(request.model, kind)] = measured if old is None else old + SMOOTHING * (measured - old)


def _text_tokens(request: GenerateRequest) -> float:
    chars = len(request.system_prompt) + len(request.user_text) + sum(len(text) for _, text in request.history)
    return chars / CHARS_PER_TOKEN


def _units(request: GenerateRequest, kind: str) -> float:
    media = request.media
    if kind in ("audio", "video") and media.duration_s:
        return max(1.0, float(media.duration_s))
    if kind == "document" and media.pages:
        return float(media.pages)
    return UNKNOWN_UNITS[kind]
