"""Input-token estimate reserved against TPM before a call, learnt from real usage as calls land.

Starts from the documented rates (tokens.py) and then follows an exponential average of the
measured tokens per media unit, so TPM is neither wasted nor overrun when the guess is off.
"""

from __future__ import annotations

import threading

from gemini_assets.core.contracts.calls import GenerateRequest
from gemini_assets.core.contracts.enums import MediaKind
from gemini_assets.core.gateway.tokens import RATE_PER_UNIT, text_tokens

# Media units assumed when the request does not say (an image, 5 minutes, 10 pages).
UNKNOWN_UNITS = {MediaKind.IMAGE: 1.0, MediaKind.AUDIO: 300.0, MediaKind.VIDEO: 300.0, MediaKind.DOCUMENT: 10.0}
SMOOTHING = 0.2


def media_kind(mime_type: str) -> MediaKind:
    top = mime_type.split("/", 1)[0]
    return MediaKind(top) if top in ("image", "audio", "video") else MediaKind.DOCUMENT


class TokenEstimator:
    def __init__(self) -> None:
        self._rate: dict[tuple[str, MediaKind], float] = {}
        self._lock = threading.Lock()

    def estimate(self, request: GenerateRequest) -> int:
        kind = media_kind(request.media.mime_type)
        with self._lock:
            rate = self._rate.get((request.model, kind), RATE_PER_UNIT[kind])
        return int(_text_tokens(request) + rate * _units(request, kind))

    def observe(self, request: GenerateRequest, input_tokens: int) -> None:
        kind = media_kind(request.media.mime_type)
        measured = max(0.0, input_tokens - _text_tokens(request)) / _units(request, kind)
        with self._lock:
            old = self._rate.get((request.model, kind))
            self._rate[(request.model, kind)] = measured if old is None else old + SMOOTHING * (measured - old)


def _text_tokens(request: GenerateRequest) -> float:
    chars = len(request.system_prompt) + len(request.user_text) + sum(len(text) for _, text in request.history)
    return text_tokens(chars)


def _units(request: GenerateRequest, kind: MediaKind) -> float:
    media = request.media
    if kind in (MediaKind.AUDIO, MediaKind.VIDEO) and media.duration_s:
        return max(1.0, float(media.duration_s))
    if kind == MediaKind.DOCUMENT and media.pages:
        return float(media.pages)
    return UNKNOWN_UNITS[kind]
