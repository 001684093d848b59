"""Strip metadata before anything leaves: lossless, so what the model sees is what was uploaded.

- JPEG: segment filter. Keeps JFIF (APP0), ICC (APP2), Adobe (APP14) and every non-APP segment;
  drops EXIF/XMP (APP1), IPTC (APP13), other APPn and comments; adds back a minimal EXIF with
  only the Orientation tag so rotated photos stay upright. Entropy-coded data is copied verbatim.
- PNG: chunk filter dropping text, EXIF and time chunks; image data chunks copied verbatim.
- WebP: RIFF chunk filter dropping EXIF and XMP and clearing their VP8X flags.
- Audio/video: remux without re-encoding (PyAV), audio and video streams only (data streams
  such as GPS tracks, subtitles and cover art dropped), container and stream metadata cleared.
- PDF: /Info and the catalog's XMP /Metadata removed (pypdf).

Segment and chunk filters are written by hand because Pillow can only re-encode (lossy for
JPEG, and it keeps JPEG comments); the formats' framing is simple and documented.
"""

from __future__ import annotations

import io
import struct
from typing import BinaryIO

from PIL import Image

from gemini_assets.core.contracts.errors import SanitizeError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_DROP = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}
_ORIENTATION = 0x0112


def sanitize_image(data: bytes, mime_type: str) -> bytes:
    if mime_type == "image/jpeg":
        return _jpeg(data)
    if mime_type == "image/png":
        return _png(data)
    if mime_type == "image/webp":
        return _webp(data)
    raise SanitizeError(f"no image sanitizer for {mime_type}")


def _orientation(data: bytes) -> int | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            value = image.getexif().get(_ORIENTATION)
    except Exception:  # noqa: BLE001 - no readable EXIF means no orientation to keep
        return None
    return int(value) if value and int(value) != 1 else None


def _minimal_exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[_ORIENTATION] = orientation
    return exif.tobytes()  # b"Exif\0\0" + TIFF header + one IFD entry


def _jpeg(data: bytes) -> bytes:
    if not data.startswith(b"\xff\xd8"):
        raise SanitizeError("not a JPEG (no SOI marker)")
    out = bytearray(b"\xff\xd8")
    orientation = _orientation(data)
    inserted = False
    pos = 2
    while pos < len(data):
        if data[pos] != 0xFF:
            raise SanitizeError(f"bad JPEG marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the rest is entropy-coded data + EOI, copied as is
            if orientation and not inserted:
                out += _segment(0xE1, _minimal_exif(orientation))
            out += data[pos:]
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += data[pos : pos + 2]
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos : pos + 2 + length]
        payload = segment[4:]
        keep = (
            marker == 0xE0  # JFIF / JFXX
            or (marker == 0xE2 and payload.startswith(b"ICC_PROFILE\0"))
            or marker == 0xEE  # Adobe: colour transform of CMYK/YCCK
            or not (0xE0 <= marker <= 0xEF or marker == 0xFE)
        )
        if keep:
            out += segment
            if marker == 0xE0 and orientation and not inserted:
                out += _segment(0xE1, _minimal_exif(orientation))
                inserted = True
        pos += 2 + length
    raise SanitizeError("JPEG ended before its image data")


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _png(data: bytes) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        raise SanitizeError("not a PNG")
    out, pos = bytearray(PNG_SIGNATURE), len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos : pos + 12 + length]
        if kind not in _PNG_DROP:
            out += chunk
        pos += 12 + length
        if kind == b"IEND":  # anything after IEND (appended archives) is dropped too
            return bytes(out)
    raise SanitizeError("PNG without IEND")


def _webp(data: bytes) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise SanitizeError("not a WebP")
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        if kind == b"VP8X":
            body = bytes([body[0] & ~0x0C]) + body[1:]  # clear EXIF (0x08) and XMP (0x04) flags
        if kind not in (b"EXIF", b"XMP "):
            chunks.append(kind + struct.pack("<I", size) + body + (b"\0" if size % 2 else b""))
        pos += 8 + size + (size % 2)
    payload = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


# container format to write per MIME type: the same container, so the bytes stay what Gemini accepts
AV_FORMATS = {
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/mov": "mov",
    "video/webm": "webm",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/mp4": "ipod",
    "audio/x-m4a": "ipod",
    "audio/aac": "adts",
}


def sanitize_av(source: str | BinaryIO, target: str | BinaryIO, mime_type: str) -> None:
    """Remux ``source`` into ``target`` (paths or binary file objects) without re-encoding."""
    import av

    fmt = AV_FORMATS.get(mime_type)
    if fmt is None:
        raise SanitizeError(f"no audio/video sanitizer for {mime_type}")
    with av.open(source, "r") as inp, av.open(target, "w", format=fmt, options={"fflags": "+bitexact"}) as out:
        keep = {}
        for stream in inp.streams:
            if stream.type in ("audio", "video") and not (stream.disposition & av.stream.Disposition.attached_pic):
                copy = out.add_stream_from_template(stream)
                copy.metadata.clear()
                keep[stream.index] = copy
        if not keep:
            raise SanitizeError("no audio or video stream to keep")
        out.metadata.clear()
        for packet in inp.demux(*[inp.streams[i] for i in keep]):
            if packet.dts is None:  # flush packets carry nothing to copy
                continue
            packet.stream = keep[packet.stream.index]
            out.mux(packet)


def sanitize_pdf(data: bytes) -> bytes:
    """Drop the document information dictionary and the XMP metadata stream."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    root = writer._root_object
    if NameObject("/Metadata") in root:
        del root[NameObject("/Metadata")]
    info = writer._info
    if info is not None:
        writer._info = None
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
