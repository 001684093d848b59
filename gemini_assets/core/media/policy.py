"""The media policy: every acceptance limit in one place.

Defaults follow Gemini's documented limits:
accepted MIME types per kind (the names Gemini documents, e.g. ``audio/mp3``, ``video/mov``),
Files API / inline sizes, PDF ≤ 1000 pages, audio ≤ 9.5 h per prompt, video ≈ 1 h at default
resolution. Tasks pick which kinds they accept (core/tasks); this module decides what a kind is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MIB = 1024 * 1024
GIB = 1024 * MIB
# One container, three names: which one a file is depends on its tracks, not on its ftyp brand
# (phones write audio-only M4A files with the generic `mp42`/`isom` brands).
ISO_BMFF = ("video/mp4", "video/mov", "audio/mp4")


@dataclass(frozen=True)
class ImagePolicy:
    # MIME -> accepted extensions; GIF is absent on purpose (Gemini rejects it).
    mime_extensions: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "image/jpeg": ("jpg", "jpeg"),
            "image/png": ("png",),
            "image/webp": ("webp",),
        }
    )
    max_bytes: int = 20 * MIB
    min_side: int = 32
    max_side: int = 12_000
    max_pixels: int = 50_000_000
    max_frames: int = 1


@dataclass(frozen=True)
class AudioPolicy:
    mime_extensions: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "audio/wav": ("wav",),
            "audio/mp3": ("mp3",),
            "audio/ogg": ("ogg", "oga", "opus"),
            "audio/flac": ("flac",),
            "audio/aac": ("aac",),
            "audio/mp4": ("m4a",),  # AAC/ALAC in an MP4 container
        }
    )
    # FFmpeg demuxer to open each MIME with: never let FFmpeg guess from the name.
    demuxers: dict[str, str] = field(
        default_factory=lambda: {
            "audio/wav": "wav",
            "audio/mp3": "mp3",
            "audio/ogg": "ogg",
            "audio/flac": "flac",
            "audio/aac": "aac",
            "audio/mp4": "mp4",
        }
    )
    codecs: frozenset[str] = frozenset(
        {"mp3", "aac", "opus", "vorbis", "flac", "alac", "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_u8", "pcm_f32le"}
    )
    max_bytes: int = 2 * GIB  # Files API per-file limit
    min_duration_s: float = 0.1
    max_duration_s: float = 9.5 * 3600  # Gemini: up to 9.5 h of audio per prompt


@dataclass(frozen=True)
class VideoPolicy:
    mime_extensions: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "video/mp4": ("mp4", "m4v"),
            "video/webm": ("webm",),
            "video/mov": ("mov",),
        }
    )
    demuxers: dict[str, str] = field(
        default_factory=lambda: {"video/mp4": "mp4", "video/webm": "webm", "video/mov": "mov"}
    )
    video_codecs: frozenset[str] = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"})
    audio_codecs: frozenset[str] = frozenset({"aac", "mp3", "opus", "vorbis", "pcm_s16le"})
    max_bytes: int = 2 * GIB
    min_duration_s: float = 0.1
    max_duration_s: float = 3600.0  # ~1 h at default media resolution fits a 1M-token context
    min_side: int = 16
    max_side: int = 8192


@dataclass(frozen=True)
class DocumentPolicy:
    mime_extensions: dict[str, tuple[str, ...]] = field(default_factory=lambda: {"application/pdf": ("pdf",)})
    max_bytes: int = 50 * MIB  # Gemini: PDFs up to 50 MB
    max_pages: int = 1000
    reject_active_content: bool = True


@dataclass(frozen=True)
class ProbePolicy:
    """Limits of the child process that runs the parsers (core/media/probe.py)."""

    timeout_s: float = 30.0
    timeout_s_per_gib: float = 60.0  # big videos are demuxed end to end: allow for I/O
    memory_bytes: int = 1 * GIB  # RLIMIT_AS of the child; the imported libraries alone map ~330 MB
    sniff_bytes: int = 8192


@dataclass(frozen=True)
class MediaPolicy:
    image: ImagePolicy = field(default_factory=ImagePolicy)
    audio: AudioPolicy = field(default_factory=AudioPolicy)
    video: VideoPolicy = field(default_factory=VideoPolicy)
    document: DocumentPolicy = field(default_factory=DocumentPolicy)
    probe: ProbePolicy = field(default_factory=ProbePolicy)
    # Items at or below this size are sent inline; larger ones go through the Files API.
    inline_max_bytes: int = 4 * MIB

    def kind_policy(self, kind: str) -> ImagePolicy | AudioPolicy | VideoPolicy | DocumentPolicy:
        policies: dict[str, ImagePolicy | AudioPolicy | VideoPolicy | DocumentPolicy] = {
            "image": self.image,
            "audio": self.audio,
            "video": self.video,
            "document": self.document,
        }
        return policies[kind]

    def av_policy(self, kind: str) -> AudioPolicy | VideoPolicy:
        """The policy of a time-based kind (audio or video)."""
        if kind == "audio":
            return self.audio
        if kind == "video":
            return self.video
        raise ValueError(f"{kind!r} is not audio or video")

    def extensions_for(self, kind: str) -> set[str]:
        if kind not in ("image", "audio", "video", "document"):
            return set()
        return {ext for exts in self.kind_policy(kind).mime_extensions.values() for ext in exts}

    def kind_of_mime(self, mime: str) -> str | None:
        for kind in ("image", "audio", "video", "document"):
            if mime in self.kind_policy(kind).mime_extensions:
                return kind
        return None

    def container_member(self, mime: str, extension: str) -> str:
        """The MIME of the ISO-BMFF family (MP4, M4A, MOV: one container, told apart by their
        tracks, not their brand) that the file's extension names; the parser then checks the
        tracks (audio-only for M4A, a video track for MP4/MOV). Other types are returned as they are."""
        if mime not in ISO_BMFF:
            return mime
        for member in ISO_BMFF:
            policy = self.kind_policy(self.kind_of_mime(member) or "video")
            if extension in policy.mime_extensions.get(member, ()):
                return member
        return mime

    def kind_of_extension(self, extension: str, kinds: set[str]) -> str | None:
        return next((kind for kind in sorted(kinds) if extension in self.extensions_for(kind)), None)


DEFAULT_POLICY = MediaPolicy()
