"""Small real audio, video and PDF files made on the fly (seeding, tests, benchmarks).

Audio and video are encoded with PyAV's bundled FFmpeg; PDFs are written by hand because pypdf
cannot draw text, and a text PDF is ~40 lines of well-known syntax (objects + xref table).
"""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
from PIL import Image

# extension -> (FFmpeg muxer, audio encoder, sample rate)
AUDIO_FORMATS = {
    "wav": ("wav", "pcm_s16le", 16_000),
    "mp3": ("mp3", "libmp3lame", 22_050),
    "ogg": ("ogg", "libopus", 48_000),
    "flac": ("flac", "flac", 16_000),
    "aac": ("adts", "aac", 16_000),
    "m4a": ("ipod", "aac", 16_000),
}
# extension -> (FFmpeg muxer, video encoder, audio encoder)
VIDEO_FORMATS = {
    "mp4": ("mp4", "libx264", "aac"),
    "mov": ("mov", "libx264", "aac"),
    "webm": ("webm", "libvpx-vp9", "libopus"),
}


def _tone(rate: int, seconds: float, freq: float, noise: float, seed: int) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    rng = np.random.default_rng(seed)
    wave = 0.3 * np.sin(2 * np.pi * freq * t) + noise * rng.standard_normal(len(t))
    return wave.astype(np.float32)


def _encode_audio(out, stream, rate: int, samples: np.ndarray) -> None:
    step = 1024
    for start in range(0, len(samples), step):
        chunk = samples[start : start + step]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        for packet in stream.encode(frame):  # PyAV resamples to the encoder's sample format
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def make_audio(
    ext: str, seconds: float = 1.5, freq: float = 440.0, noise: float = 0.02, seed: int = 0, tags: dict | None = None
) -> bytes:
    muxer, codec, rate = AUDIO_FORMATS[ext]
    buffer = io.BytesIO()
    # The Ogg muxer picks a random stream serial number unless bit-exact: same sample, same bytes.
    options = {"fflags": "+bitexact"} if muxer == "ogg" else {}
    with av.open(buffer, "w", format=muxer, container_options=options) as out:
        out.metadata.update(tags or {})
        stream = out.add_stream(codec, rate=rate, layout="mono")
        _encode_audio(out, stream, rate, _tone(rate, seconds, freq, noise, seed))
    return buffer.getvalue()


def make_video(
    ext: str,
    seconds: float = 1.0,
    size: tuple[int, int] = (160, 120),
    fps: int = 10,
    colour: tuple[int, int, int] = (200, 30, 40),
    with_audio: bool = True,
    codec: str | None = None,
    tags: dict | None = None,
) -> bytes:
    """A moving square on a coloured background, optionally with a tone."""
    muxer, video_codec, audio_codec = VIDEO_FORMATS[ext]
    width, height = size
    buffer = io.BytesIO()
    # The WebM muxer writes a random segment UID and the time unless told to be bit-exact: the
    # same sample must be the same bytes (a golden set holds each content once).
    options = {"fflags": "+bitexact"} if muxer == "webm" else {}
    with av.open(buffer, "w", format=muxer, container_options=options) as out:
        out.metadata.update(tags or {})
        video = out.add_stream(codec or video_codec, rate=fps)
        video.width, video.height = width, height
        video.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        audio = out.add_stream(audio_codec, rate=48_000, layout="mono") if with_audio else None
        frames = int(seconds * fps)
        for index in range(frames):
            pixels = np.empty((height, width, 3), np.uint8)
            pixels[:] = colour
            x = (index * 7) % max(1, width - height // 3)
            pixels[height // 3 : 2 * height // 3, x : x + height // 3] = (240, 240, 240)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = index
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        if audio is not None:
            _encode_audio(out, audio, 48_000, _tone(48_000, seconds, 330.0, 0.01, 1))
    return buffer.getvalue()


def _pdf_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]], title: str = "") -> bytes:
    """A PDF with one Helvetica text line per list item, one list per page."""
    objects: list[bytes] = []
    page_ids = [3 + 2 * i for i in range(len(pages))]
    font_id = 3 + 2 * len(pages)
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    for index, lines in enumerate(pages):
        content_id = page_ids[index] + 1
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content_id} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        body = "BT /F1 12 Tf 72 770 Td 16 TL " + " ".join(f"({_pdf_text(line)}) '" for line in lines) + " ET"
        stream = body.encode("latin-1", "replace")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects.append(f"<< /Title ({_pdf_text(title)}) /Producer (gemini_assets) >>".encode())
    return assemble_pdf(objects, info_id=len(objects))


def assemble_pdf(objects: list[bytes], info_id: int | None = None) -> bytes:
    """Number ``objects`` from 1 (object 1 is the catalog) and add a correct xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    info = b" /Info %d 0 R" % info_id if info_id else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, info, xref)
    return bytes(out)


def make_png(
    size: tuple[int, int] = (640, 480), color: tuple[int, int, int] = (230, 20, 20), white_share: float = 0.01
) -> bytes:
    """A `color` PNG whose top `white_share` of rows is white, so there is more than one colour."""
    image = Image.new("RGB", size, color)
    band = round(size[1] * white_share)
    if band:
        image.paste(Image.new("RGB", (size[0], band), (255, 255, 255)), (0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
