"""Facts measured from the actual media, so emulated answers say something true."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field

from PIL import Image

from .errors import invalid

# Basic colour names and a representative RGB for each; nearest neighbour decides.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "orange": (245, 140, 20),
    "yellow": (240, 220, 40),
    "green": (40, 160, 60),
    "blue": (40, 80, 210),
    "purple": (130, 50, 170),
    "pink": (245, 150, 190),
    "brown": (130, 80, 40),
    "black": (15, 15, 15),
    "white": (245, 245, 245),
    "gray": (128, 128, 128),
}
_SAMPLE = 64  # pixels per side after downscaling; plenty for dominant colours
_MIN_SHARE = 0.05  # ignore anti-aliasing and specks


@dataclass(frozen=True)
class ImageFacts:
    width: int
    height: int
    format: str  # e.g. "PNG"
    orientation: str  # landscape | portrait | square
    brightness: str  # dark | medium | bright
    colors: list[str] = field(default_factory=list)  # up to 3, most dominant first

    def sentence(self) -> str:
        return (
            f"A {self.width}x{self.height} {self.orientation} {self.format} image, "
            f"mostly {join_words(self.colors)}, {self.brightness} brightness."
        )


@dataclass
class MediaItem:
    """One media part of a request, inline or by file reference."""

    source: str  # "inline" | "file"
    mime_type: str
    size: int
    sha256: str  # hex
    resolution: str | None = None  # per-part MEDIA_RESOLUTION_* override
    resolution_tokens: int | None = None  # per-part explicit num_tokens
    image: ImageFacts | None = None

    @property
    def kind(self) -> str:
        if self.mime_type.startswith("image/"):
            return "image"
        if self.mime_type.startswith("audio/"):
            return "audio"
        if self.mime_type.startswith("video/"):
            return "video"
        return "document"

    def sentence(self) -> str:
        if self.image is not None:
            return self.image.sentence()
        subtype = self.mime_type.split("/")[-1].upper()
        return f"A {self.size}-byte {subtype} {self.kind} file."

    def log_entry(self) -> dict:
        return {"source": self.source, "mime_type": self.mime_type, "bytes": self.size, "sha256": self.sha256}


def analyze_image(data: bytes) -> ImageFacts:
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        fmt = image.format or "UNKNOWN"
        # draft() lets JPEG decode at reduced scale; sizes above were captured before it.
        image.draft("RGB", (_SAMPLE * 2, _SAMPLE * 2))
        small = image.convert("RGB").resize((_SAMPLE, _SAMPLE), Image.Resampling.BOX)
    except Exception as exc:  # Pillow raises many types for corrupt input
        raise invalid(f"Unable to process input image. ({type(exc).__name__})") from None
    raw = small.tobytes()  # version-proof (getdata() is deprecated in Pillow 13)
    pixels = [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]
    return ImageFacts(
        width=width,
        height=height,
        format=fmt,
        orientation=_orientation(width, height),
        brightness=_brightness(pixels),
        colors=_dominant_colors(pixels),
    )


def _orientation(width: int, height: int) -> str:
    if width > height:
        return "landscape"
    if height > width:
        return "portrait"
    return "square"


def _brightness(pixels: list[tuple[int, int, int]]) -> str:
    luma = sum(0.299 * r + 0.587 * g + 0.114 * b for r, g, b in pixels) / max(len(pixels), 1)
    if luma < 70:  # saturated reds (luma ~80) read as medium, not dark
        return "dark"
    if luma > 180:
        return "bright"
    return "medium"


def nearest_color(rgb: tuple[int, int, int]) -> str:
    r, g, b = rgb
    return min(PALETTE, key=lambda n: (PALETTE[n][0] - r) ** 2 + (PALETTE[n][1] - g) ** 2 + (PALETTE[n][2] - b) ** 2)


def _dominant_colors(pixels: list[tuple[int, int, int]]) -> list[str]:
    counts = Counter(nearest_color(p) for p in pixels)
    order = list(PALETTE)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], order.index(item[0])))
    total = max(len(pixels), 1)
    names = [name for name, count in ranked if count / total >= _MIN_SHARE][:3]
    return names or [ranked[0][0]]


def join_words(words: list[str]) -> str:
    if not words:
        return "nothing"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]
