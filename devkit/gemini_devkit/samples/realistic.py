"""What real uploads carry that freshly encoded samples do not: cover art, other MP4 brands,
multi-picture JPEGs, junk between JPEG segments, orientation tags in PNG and WebP.

Built on the fly (no binaries in the repository) for tests of sniffing, validation, stripping
and the emulator. The real files these imitate are in ../shared/corpora/realworld.
"""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
from PIL import Image

from gemini_devkit.samples.media import make_audio


def cover_jpeg(side: int = 160) -> bytes:
    """A noisy JPEG (it does not compress: a 160 px cover is ~20 KB)."""
    pixels = np.random.default_rng(7).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _syncsafe(size: int) -> bytes:
    """ID3v2 tag sizes: 4 bytes of 7 bits each."""
    return bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))


def id3v23_cover_tag(picture: bytes, mime: str = "image/jpeg") -> bytes:
    """An ID3v2.3 tag holding one APIC (front cover) frame."""
    body = b"\x00" + mime.encode() + b"\x00" + b"\x03" + b"cover\x00" + picture  # latin-1, type 3
    frame = b"APIC" + len(body).to_bytes(4, "big") + b"\x00\x00"  # v2.3 frame sizes are plain
    return b"ID3\x03\x00\x00" + _syncsafe(len(frame) + len(body)) + frame + body


def without_id3(mp3: bytes) -> bytes:
    """Drop the small ID3v2.4 tag FFmpeg's muxer writes, so ours is the file's only tag."""
    if not mp3.startswith(b"ID3"):
        return mp3
    size = int.from_bytes(bytes(b & 0x7F for b in mp3[6:10]), "big")  # syncsafe: 7 bits a byte
    return mp3[10 + size :]


def mp3_with_cover(seconds: float = 2.0, side: int = 160) -> bytes:
    """An MP3 behind an ID3v2 tag with cover art (most music and podcast files)."""
    return id3v23_cover_tag(cover_jpeg(side)) + without_id3(make_audio("mp3", seconds=seconds))


def m4a_with_cover(seconds: float, cover: bytes) -> bytes:
    """An `isom` MP4 holding AAC audio and a `covr` JPEG (FFmpeg: an attached-picture stream)."""
    source = make_audio("m4a", seconds=seconds)
    buffer = io.BytesIO()
    with av.open(io.BytesIO(source)) as original, av.open(buffer, "w", format="mp4") as out:
        audio = out.add_stream_from_template(original.streams.audio[0])
        picture = out.add_stream("mjpeg", rate=1)
        picture.width = picture.height = 160
        picture.pix_fmt = "yuvj420p"
        picture.disposition = av.stream.Disposition.attached_pic
        packet = av.Packet(cover)
        packet.stream, packet.pts, packet.dts, packet.time_base = picture, 0, 0, Fraction(1, 1)
        out.mux(packet)
        for packet in original.demux(original.streams.audio[0]):
            if packet.dts is not None:  # skip the flush packet
                packet.stream = audio
                out.mux(packet)
    return buffer.getvalue()


def m4a_with_brand(seconds: float, brand: bytes) -> bytes:
    """An M4A whose ftyp major brand is another one (`mp42`, `isom`: what phones write)."""
    m4a = make_audio("m4a", seconds=seconds)
    if m4a[4:12] != b"ftypM4A ":
        raise ValueError(f"FFmpeg's M4A starts {m4a[:12]!r}: the brand is not where this expects it")
    return m4a[:8] + brand + m4a[12:]  # same length: the major brand is in no offset


def _photo(size: tuple[int, int], seed: int) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def mpo_jpeg(images: int = 2, size: tuple[int, int] = (320, 240)) -> bytes:
    """A multi-picture JPEG (MPF index; phones' depth and gain maps, camera previews)."""
    frames = [_photo(size, seed) for seed in range(images)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "MPO", save_all=True, append_images=frames[1:], quality=85)
    return buffer.getvalue()


def jpeg_with_junk_before_marker(junk: bytes = b"\x00\x00junk", size: tuple[int, int] = (320, 240)) -> bytes:
    """A JPEG with extraneous bytes between two header segments (libjpeg skips them with a warning)."""
    buffer = io.BytesIO()
    _photo(size, 3).save(buffer, "JPEG", quality=85)
    data = buffer.getvalue()
    app0_end = 4 + int.from_bytes(data[4:6], "big")  # SOI, then the JFIF APP0 segment
    return data[:app0_end] + junk + data[app0_end:]


def with_orientation(fmt: str, orientation: int = 6, size: tuple[int, int] = (320, 240)) -> bytes:
    """A PNG or WebP photo whose EXIF says how to turn it (phones write these for portrait shots)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    buffer = io.BytesIO()
    _photo(size, 5).save(buffer, fmt, exif=exif)
    return buffer.getvalue()
