"""Audio and video validation with PyAV (FFmpeg), run inside the probe child process.

Traps this avoids: FFmpeg picks a demuxer from a file's name, so
the demuxer is always named explicitly from the sniffed type; header durations lie (a truncated
MP3 claims its full length), so every packet is demuxed and audio plus video key frames are
decoded, and the measured length must agree with the declared one.
"""

from __future__ import annotations

from typing import IO, Any

import av

from gemini_assets.core.contracts.enums import MediaKind
from gemini_assets.core.contracts.errors import MediaRejected
from gemini_assets.core.contracts.reasons import QuarantineReason
from gemini_assets.core.media.facts import MediaFacts
from gemini_assets.core.media.policy import AudioPolicy, VideoPolicy

# Bound what FFmpeg reads while guessing stream parameters (bytes / microseconds).
OPEN_OPTIONS = {"probesize": str(5 * 1024 * 1024), "analyzeduration": str(10_000_000)}
# A measured length this much shorter than the declared one means the file was cut.
TRUNCATION_TOLERANCE = 0.9


def probe_audio_video(
    stream: IO[bytes], size: int, mime: str, kind: str, policy: AudioPolicy | VideoPolicy
) -> MediaFacts:
    demuxer = policy.demuxers[mime]
    try:
        container = av.open(stream, mode="r", format=demuxer, options=OPEN_OPTIONS, metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise MediaRejected(QuarantineReason.CORRUPT_MEDIA, f"{demuxer} demuxer cannot open it: {exc}", mime) from exc
    with container:
        audio = list(container.streams.audio)
        video = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
        _check_streams(audio, video, mime, policy)
        measured, video_packets = _demux_and_decode(container, audio + video, mime)
        declared = container.duration / 1_000_000 if container.duration else None
        if declared and measured < declared * TRUNCATION_TOLERANCE - 0.2:
            raise MediaRejected(
                QuarantineReason.CORRUPT_MEDIA,
                f"header says {declared:.2f} s but the content holds {measured:.2f} s",
                mime,
            )
        duration = measured  # declared durations are estimates (ADTS) or lies (truncated MP3)
        if not policy.min_duration_s <= duration <= policy.max_duration_s:
            raise MediaRejected(
                QuarantineReason.DURATION_OUT_OF_RANGE,
                f"{duration:.2f} s outside {policy.min_duration_s}..{policy.max_duration_s} s",
                mime,
            )
        first_audio = audio[0].codec_context if audio else None
        first_video = video[0].codec_context if video else None
        return MediaFacts(
            MediaKind(kind),
            mime,
            width=first_video.width if first_video else None,
            height=first_video.height if first_video else None,
            frames=video_packets if video else None,
            duration_s=round(duration, 3),
            codecs=",".join(_codec(s) for s in video + audio),
            bitrate=int(container.bit_rate or (size * 8 / duration)),
            sample_rate=first_audio.sample_rate if first_audio else None,
            channels=first_audio.layout.nb_channels if first_audio else None,
        )


# PyAV's stream and codec-context stubs lack the per-kind attributes (width, decode ...), so the
# streams are typed Any here; the attributes used are PyAV's documented API.
Stream = Any


def _check_streams(audio: list[Stream], video: list[Stream], mime: str, policy: AudioPolicy | VideoPolicy) -> None:
    allowed: dict[str, frozenset[str]]
    if isinstance(policy, AudioPolicy):
        if not audio:
            raise MediaRejected(QuarantineReason.MISSING_STREAM, "no audio stream", mime)
        if video:
            raise MediaRejected(QuarantineReason.UNSUPPORTED_TYPE, "an audio upload carries a video stream", mime)
        allowed = {"audio": policy.codecs}
    else:
        if not video:
            raise MediaRejected(QuarantineReason.MISSING_STREAM, "no video stream", mime)
        allowed = {"video": policy.video_codecs, "audio": policy.audio_codecs}
    for stream in audio + video:
        name = _codec(stream)
        if name not in allowed[stream.type]:
            raise MediaRejected(
                QuarantineReason.UNSUPPORTED_CODEC,
                f"{stream.type} codec {name} not in {sorted(allowed[stream.type])}",
                mime,
            )
    for stream in video:
        if not isinstance(policy, VideoPolicy):
            break
        width, height = stream.codec_context.width, stream.codec_context.height
        if min(width, height) < policy.min_side or max(width, height) > policy.max_side:
            raise MediaRejected(
                QuarantineReason.RESOLUTION_OUT_OF_RANGE,
                f"{width}x{height} outside sides {policy.min_side}..{policy.max_side}",
                mime,
            )


def _codec(stream: Stream) -> str:
    """The codec's canonical name (``mp3``), not the decoder's (``mp3float``)."""
    return str(stream.codec_context.codec.canonical_name)


def _demux_and_decode(container: Any, streams: list[Stream], mime: str) -> tuple[float, int]:
    """(measured seconds, video packets): every packet read, audio and video key frames decoded."""
    for stream in streams:
        stream.codec_context.thread_count = 1  # predictable memory under the child's RLIMIT_AS
        if stream.type == "video":
            stream.codec_context.skip_frame = "NONKEY"
    start: float | None = None
    end = 0.0
    video_packets = decoded = 0
    try:
        for packet in container.demux(*streams):
            if packet.dts is None:  # flush packet
                continue
            if packet.pts is not None and packet.time_base is not None:
                begin = float(packet.pts * packet.time_base)
                start = begin if start is None else min(start, begin)
                end = max(end, begin + float((packet.duration or 0) * packet.time_base))
            if packet.stream.type == "video":
                video_packets += 1
            decoded += len(packet.decode())
        for stream in streams:  # decoders with delay (B-frames) hand out frames only when flushed
            decoded += len(stream.codec_context.decode(None))
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise MediaRejected(QuarantineReason.CORRUPT_MEDIA, f"decode failed: {exc}", mime) from exc
    if start is None or decoded == 0:
        raise MediaRejected(QuarantineReason.CORRUPT_MEDIA, "no decodable frames", mime)
    return end - start, video_packets
