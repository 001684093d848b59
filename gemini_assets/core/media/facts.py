"""What a parser learned about an accepted file, and how it says no."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from gemini_assets.core.media.policy import ReasonCode


@dataclass(frozen=True)
class MediaFacts:
    """Technical metadata of an accepted file; the fields are validated_media columns."""

    media_kind: str
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

    def columns(self) -> dict:
        return asdict(self)


class MediaRejected(Exception):
    def __init__(self, reason: ReasonCode, detail: str, sniffed_mime: str | None = None):
        super().__init__(f"{reason}: {detail}")
        self.reason = ReasonCode(reason)
        self.detail = detail
        self.sniffed_mime = sniffed_mime

    def __reduce__(self):  # crosses the process boundary from the probe child
        return (MediaRejected, (str(self.reason), self.detail, self.sniffed_mime))
