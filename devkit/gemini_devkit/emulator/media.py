"""Facts measured from the actual media, so emulated answers say something true."""

from __future__ import annotations

import io
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import av
from PIL import Image
from pypdf import PdfReader

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


@dataclass(frozen=True)
class StreamFacts:
    """Audio/video facts measured with PyAV (container header, then packet timestamps)."""

    duration_s: float
    container: str  # demuxer: the one the MIME type picked (e.g. "mov"), else what FFmpeg probed
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    audio_codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    video_s: float = 0.0  # per-stream lengths: frames are sampled over the video track only
    audio_s: float = 0.0

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    def sentence(self) -> str:
        if self.video_codec:
            sound = f"{self.audio_codec} audio at {self.sample_rate} Hz" if self.has_audio else "no audio track"
            return (
                f"A {self.duration_s:.1f}-second {self.width}x{self.height} {self.video_codec} video "
                f"at {self.fps:.0f} fps with {sound}."
            )
        return (
            f"A {self.duration_s:.1f}-second {self.audio_codec} audio recording, "
            f"{self.sample_rate} Hz, {_channel_word(self.channels)}."
        )


@dataclass(frozen=True)
class DocumentFacts:
    pages: int
    title: str
    first_line: str
    # "Label: value" lines of the first page, in order: what a document's labelled fields are.
    fields: tuple[tuple[str, str], ...] = ()

    def sentence(self) -> str:
        pages = f"{self.pages} page" + ("s" if self.pages != 1 else "")
        title = f" titled '{self.title}'" if self.title else ""
        start = f", starting '{self.first_line}'" if self.first_line else ""
        return f"A {pages} PDF document{title}{start}."


def _channel_word(channels: int | None) -> str:
    return {1: "mono", 2: "stereo"}.get(channels or 0, f"{channels} channels")


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
    stream: StreamFacts | None = None  # audio / video
    document: DocumentFacts | None = None

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
        for facts in (self.image, self.stream, self.document):
            if facts is not None:
                return facts.sentence()
        subtype = self.mime_type.split("/")[-1].upper()
        return f"A {self.size}-byte {subtype} {self.kind} file."

    def log_entry(self) -> dict:
        return {"source": self.source, "mime_type": self.mime_type, "bytes": self.size, "sha256": self.sha256}


# The real API knows every file's type from the upload or the part and never sniffs, so the
# declared MIME type picks FFmpeg's demuxer. Probing (a guess from the first bytes) is kept for
# types not listed; e.g. video/mpeg may be a program or a transport stream.
DEMUXERS: dict[str, str] = {
    "audio/mp3": "mp3",
    "audio/mpeg": "mp3",
    "audio/mpeg3": "mp3",
    "audio/x-mp3": "mp3",
    "audio/x-mpeg": "mp3",
    "audio/wav": "wav",
    "audio/wave": "wav",
    "audio/x-wav": "wav",
    "audio/vnd.wave": "wav",
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "application/ogg": "ogg",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/aac": "aac",  # ADTS
    "audio/x-aac": "aac",
    "audio/aiff": "aiff",
    "audio/x-aiff": "aiff",
    "audio/mp4": "mov",  # FFmpeg's "mov,mp4,m4a,3gp,3g2,mj2" demuxer
    "audio/m4a": "mov",
    "audio/x-m4a": "mov",
    "video/mp4": "mov",
    "video/mov": "mov",
    "video/quicktime": "mov",
    "video/3gpp": "mov",
    "audio/webm": "matroska",  # "matroska,webm"
    "video/webm": "matroska",
    "video/x-matroska": "matroska",
    "video/avi": "avi",
    "video/x-msvideo": "avi",
    "video/x-flv": "flv",
    "video/wmv": "asf",
    "video/x-ms-wmv": "asf",
}


def demuxer_for(mime_type: str | None) -> str | None:
    """FFmpeg demuxer for a declared MIME type (parameters and case ignored); None means probe."""
    if not mime_type:
        return None
    return DEMUXERS.get(mime_type.split(";", 1)[0].strip().lower())


def attach_facts(item: MediaItem, source: bytes | Path, format_mime: str | None = None) -> None:
    """Measure the item's media (bytes inline, a path for uploaded files) and attach the facts.

    ``format_mime`` is the type the bytes were declared with (an uploaded file's recorded type);
    it picks the FFmpeg demuxer, else the part's own ``item.mime_type`` does (see DEMUXERS).
    """
    if item.kind == "image":
        item.image = analyze_image(source.read_bytes() if isinstance(source, Path) else source)
    elif item.kind in ("audio", "video"):
        declared = format_mime if demuxer_for(format_mime) else item.mime_type
        item.stream = analyze_stream(source, item.kind, declared)
    elif item.mime_type == "application/pdf":
        item.document = analyze_pdf(source)


def _open(source: bytes | Path):
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")


class _Unnamed:
    """A read-only file without a ``name``.

    PyAV hands a file object's name to FFmpeg, whose probe weighs the extension, and an upload is
    stored as ``<id>.bin`` (".bin" is FFmpeg's binary-text demuxer): that name says nothing true.
    """

    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed by __exit__
        self.read, self.seek, self.tell = self._file.read, self._file.seek, self._file.tell

    def __enter__(self) -> _Unnamed:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._file.close()


def _open_stream(source: bytes | Path) -> io.BytesIO | _Unnamed:
    return io.BytesIO(source) if isinstance(source, bytes) else _Unnamed(source)


def analyze_stream(source: bytes | Path, kind: str, mime_type: str | None = None) -> StreamFacts:
    """Measure with the demuxer the declared ``mime_type`` names; FFmpeg probes only unknown types."""
    demuxer = demuxer_for(mime_type)
    try:
        with (
            _open_stream(source) as handle,
            av.open(handle, format=demuxer, metadata_errors="ignore") as container,
        ):
            # Cover art (ID3 APIC, MP4 covr) is an attached picture, not a video track.
            video = next(
                (s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic), None
            )
            audio = next(iter(container.streams.audio), None)
            spans: dict[str, list[float]] = {}
            for packet in container.demux(*(s for s in (video, audio) if s is not None)):
                if packet.pts is None or packet.time_base is None:
                    continue
                begin = float(packet.pts * packet.time_base)
                span = spans.setdefault(packet.stream.type, [begin, begin])
                span[0] = min(span[0], begin)
                span[1] = max(span[1], begin + float((packet.duration or 0) * packet.time_base))
            lengths = {kind_: end - begin for kind_, (begin, end) in spans.items()}
            duration = max(lengths.values(), default=0.0)
            if duration <= 0 and container.duration:
                duration = container.duration / 1_000_000
            facts = StreamFacts(
                duration_s=round(duration, 3),
                container=container.format.name,
                video_codec=video.codec_context.codec.canonical_name if video else None,
                width=video.codec_context.width if video else None,
                height=video.codec_context.height if video else None,
                fps=float(video.average_rate or video.guessed_rate or 0) if video else None,
                audio_codec=audio.codec_context.codec.canonical_name if audio else None,
                sample_rate=audio.codec_context.sample_rate if audio else None,
                channels=audio.codec_context.layout.nb_channels if audio else None,
                video_s=round(lengths.get("video", 0.0), 3),
                audio_s=round(lengths.get("audio", 0.0), 3),
            )
    except Exception as exc:  # noqa: BLE001 - FFmpeg raises many types for corrupt input
        raise invalid(f"Unable to process input {kind}. ({type(exc).__name__})") from None
    if (kind == "video" and facts.video_codec is None) or (kind == "audio" and facts.audio_codec is None):
        raise invalid(f"Unable to process input {kind}: no {kind} stream.")
    return facts


def analyze_pdf(source: bytes | Path) -> DocumentFacts:
    try:
        with _open(source) as handle:
            reader = PdfReader(handle)
            pages = len(reader.pages)
            title = str((reader.metadata or {}).get("/Title") or "").strip()
            text = reader.pages[0].extract_text() if pages else ""
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types for corrupt input
        raise invalid(f"Unable to process input document. ({type(exc).__name__})") from None
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return DocumentFacts(pages=pages, title=title[:80], first_line=first_line[:80], fields=labelled_lines(text))


_LABELLED = re.compile(r"^\s*([A-Za-z][^:]{0,59}?)\s*:\s+(\S.*?)\s*$")
MAX_FIELDS = 50


def labelled_lines(text: str) -> tuple[tuple[str, str], ...]:
    """``Label: value`` lines (a short label starting with a letter, then a colon and a space)."""
    found = (_LABELLED.match(line) for line in text.splitlines())
    return tuple((match.group(1), match.group(2)) for match in found if match)[:MAX_FIELDS]


def analyze_image(data: bytes) -> ImageFacts:
    try:
        with warnings.catch_warnings():
            # Pillow's notes on a file's flaws (a malformed MPO index, palette transparency) are not
            # the API's business: it answers or it refuses.
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            fmt = image.format or "UNKNOWN"
            # draft() lets JPEG decode at reduced scale; sizes above were captured before it.
            image.draft("RGB", (_SAMPLE * 2, _SAMPLE * 2))
            small = image.convert("RGB").resize((_SAMPLE, _SAMPLE), Image.Resampling.BOX)
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for corrupt input
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
