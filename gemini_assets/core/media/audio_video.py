"""Audio and video validation with PyAV (FFmpeg), run inside the probe child process.

Traps this avoids: FFmpeg picks a demuxer from a file's name, so
the demuxer is always named explicitly from the sniffed type; header durations lie (a truncated
MP3 claims its full length), so every packet is demuxed and audio plus video key frames are
decoded, and the measured length must agree with the declared one.
"""

from __future__ import annotations

import io
import struct
from typing import IO, Any

import av

from gemini_assets.core.contracts.enums import MediaKind
from gemini_assets.core.contracts.errors import MediaRejected
from gemini_assets.core.contracts.reasons import QuarantineReason
from gemini_assets.core.media.facts import MediaFacts
from gemini_assets.core.media.messages import diagnostic, plain
from gemini_assets.core.media.policy import ISO_BMFF, AudioPolicy, VideoPolicy

# Bound what FFmpeg reads while guessing stream parameters (bytes / microseconds).
OPEN_OPTIONS = {"probesize": str(5 * 1024 * 1024), "analyzeduration": str(10_000_000)}
# A measured length this much shorter than the declared one means the file was cut.
TRUNCATION_TOLERANCE = 0.9


def probe_audio_video(stream: IO[bytes], mime: str, kind: str, policy: AudioPolicy | VideoPolicy) -> MediaFacts:
    demuxer = policy.demuxers[mime]
    cut = cut_box(stream) if mime in ISO_BMFF else None
    if cut:  # FFmpeg would say "invalid data" or find no stream; the box framing says why
        raise MediaRejected(QuarantineReason.TRUNCATED, cut, mime)
    stream.seek(0)
    try:
        container = av.open(stream, mode="r", format=demuxer, options=OPEN_OPTIONS, metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise _failure(exc, mime, f"the {demuxer} container cannot be opened") from exc
    with container:
        audio = list(container.streams.audio)
        # Cover art is a picture attached to the audio, not a video track.
        video = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
        _check_streams(audio, video, mime, policy)
        try:
            measured, video_packets, media_bytes = _demux_and_decode(container, audio + video, mime)
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            raise _failure(exc, mime, "decode failed") from exc
        declared = container.duration / 1_000_000 if container.duration else None
        if declared and measured < declared * TRUNCATION_TOLERANCE - 0.2:
            raise MediaRejected(
                QuarantineReason.TRUNCATED,
                f"the header says {declared:.2f} s but the content holds {measured:.2f} s",
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
            bitrate=int(media_bytes * 8 / duration) if duration else None,  # audio/video packets only
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
        if not width or not height:  # no picture size: the frames the header promises are not there
            raise MediaRejected(QuarantineReason.TRUNCATED, "the video track holds no picture (cut or a stub)", mime)
        if min(width, height) < policy.min_side or max(width, height) > policy.max_side:
            raise MediaRejected(
                QuarantineReason.RESOLUTION_OUT_OF_RANGE,
                f"{width}x{height} outside sides {policy.min_side}..{policy.max_side}",
                mime,
            )


def _codec(stream: Stream) -> str:
    """The codec's canonical name (``mp3``), not the decoder's (``mp3float``)."""
    return str(stream.codec_context.codec.canonical_name)


def _failure(exc: BaseException, mime: str, what: str) -> MediaRejected:
    return MediaRejected(QuarantineReason.CORRUPT_MEDIA, f"{what}: {plain(exc)}", mime, diagnostic(exc))


def _demux_and_decode(container: Any, streams: list[Stream], mime: str) -> tuple[float, int, int]:
    """(measured seconds, video packets, bytes): every packet read, audio and video key frames decoded."""
    for stream in streams:
        stream.codec_context.thread_count = 1  # predictable memory under the child's RLIMIT_AS
        if stream.type == "video":
            stream.codec_context.skip_frame = "NONKEY"
    start: float | None = None
    end = 0.0
    video_packets = decoded = media_bytes = 0
    for packet in container.demux(*streams):
        if packet.dts is None:  # flush packet
            continue
        media_bytes += packet.size
        if packet.pts is not None and packet.time_base is not None:
            begin = float(packet.pts * packet.time_base)
            start = begin if start is None else min(start, begin)
            end = max(end, begin + float((packet.duration or 0) * packet.time_base))
        if packet.stream.type == "video":
            video_packets += 1
        decoded += len(packet.decode())
    for stream in streams:  # decoders with delay (B-frames) hand out frames only when flushed
        decoded += len(stream.codec_context.decode(None))
    if start is None or decoded == 0:
        raise MediaRejected(QuarantineReason.TRUNCATED, "no decodable frames (cut or a stub)", mime)
    return end - start, video_packets, media_bytes


def cut_box(stream: IO[bytes]) -> str | None:
    """Why an MP4/QuickTime file is cut short or a stub, or None if its boxes add up.

    Hand-written because FFmpeg only says "invalid data" when the file ends early; top-level
    boxes are length-prefixed (ISO/IEC 14496-12 §4.2), so this is a walk over lengths.
    """
    total = stream.seek(0, io.SEEK_END)
    offset, kinds = 0, set()
    while offset + 8 <= total:
        stream.seek(offset)
        size, kind = struct.unpack(">I4s", stream.read(8))
        if size == 1 and offset + 16 <= total:  # a 64-bit size follows the type
            size = struct.unpack(">Q", stream.read(8))[0]
        elif size == 0:  # the last box runs to the end of the file
            size = total - offset
        if size < 8 or not _is_fourcc(kind):
            return None  # not box framing: malformed, not cut (FFmpeg says what is wrong)
        if offset + size > total:
            return f"cut short: the file ends inside its {kind.decode('latin-1')!r} box ({total - offset} of {size} B)"
        kinds.add(kind)
        offset += size  # fewer than 8 bytes left over are padding, not a box
    if b"moov" not in kinds:
        return "no movie index (moov box): a stub, or cut short before its index"
    return None


def _is_fourcc(kind: bytes) -> bool:
    """Box and chunk types are four printable ASCII characters ("moov", "IDAT")."""
    return all(0x20 <= byte <= 0x7E for byte in kind)
