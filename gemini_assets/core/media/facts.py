"""What a parser learned about an accepted file (the probe columns of validated_media)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gemini_assets.core.contracts.enums import MediaKind


@dataclass(frozen=True)
class MediaFacts:
    media_kind: MediaKind
    mime_type: str
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    duration_s: float | None = None
    codecs: str | None = None
    bitrate: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    pages: int | None = None

    def columns(self) -> dict[str, Any]:
        return asdict(self)
