"""Strip metadata before anything leaves: lossless, so what the model sees is what was uploaded.

- JPEG: segment walker over the whole primary image (every scan of a progressive JPEG). Keeps
  JFIF (APP0), ICC (APP2), Adobe (APP14) and every non-APP segment; drops EXIF/XMP (APP1), IPTC
  (APP13), MPF and other APPn and comments; entropy-coded data is copied verbatim. Stops at the
  primary image's EOI: appended images (MPO / multi-picture: depth maps, gain maps, previews) and
  trailers are dropped, and so are extraneous bytes between segments (libjpeg skips them too).
- PNG: chunk filter dropping text, EXIF and time chunks, and anything after IEND; image data
  chunks copied verbatim.
- WebP: RIFF chunk filter dropping EXIF and XMP and clearing their VP8X flags, and anything after
  the RIFF data.
- Every image keeps its orientation (from EXIF, or XMP when EXIF has none) as a minimal EXIF with
  only the Orientation tag, so rotated photos stay upright: a JPEG APP1, a PNG eXIf chunk, a WebP
  EXIF chunk (a simple-format WebP is converted to the extended format for it).
- Audio/video: remux without re-encoding (PyAV), audio and video streams only (data streams
  such as GPS tracks, subtitles and cover art dropped), container and stream metadata cleared.
- PDF: /Info and the catalog's XMP /Metadata removed (pypdf).

Segment and chunk filters are written by hand because Pillow can only re-encode (lossy for
JPEG, and it keeps JPEG comments); the formats' framing is simple and documented.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zlib
from typing import BinaryIO

from PIL import Image

from gemini_assets.core.contracts.errors import SanitizeError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_DROP = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}
_ORIENTATION = 0x0112
# XMP spells the orientation as an attribute (tiff:Orientation="6") or an element (<tiff:Orientation>6<...)
_XMP_ORIENTATION = re.compile(rb"tiff:Orientation(?:\s*=\s*[\"']|>)\s*(\d+)")
# A JPEG marker is 0xFF then a code that is neither 0x00 (a stuffed 0xFF data byte) nor 0xFF (fill byte).
_MARKER = re.compile(rb"\xff[^\x00\xff]")
# Inside entropy-coded data RST0-RST7 (0xD0-0xD7) belong to the scan too: the scan ends at any other marker.
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_MPF_NUMBER_OF_IMAGES = 0xB001
_WEBP_IMAGE = {b"VP8 ", b"VP8L", b"ANMF"}


def sanitize_image(data: bytes, mime_type: str) -> bytes:
    """The stripped image (see sanitize_image_with_notes for what else was dropped)."""
    return sanitize_image_with_notes(data, mime_type)[0]


def sanitize_image_with_notes(data: bytes, mime_type: str) -> tuple[bytes, list[str]]:
    """The stripped image and short notes on what was dropped besides metadata (appended images,
    trailers, extraneous bytes); no notes for an ordinary file."""
    notes: list[str] = []
    if mime_type == "image/jpeg":
        return _jpeg(data, notes), notes
    if mime_type == "image/png":
        return _png(data, notes), notes
    if mime_type == "image/webp":
        return _webp(data, notes), notes
    raise SanitizeError(f"no image sanitizer for {mime_type}")


def _orientation(data: bytes) -> int | None:
    """The orientation to keep (2..8): EXIF's, else XMP's, the order Pillow's exif_transpose uses."""
    try:
        # Pillow warns about the file's flaws (corrupt EXIF, a malformed MPO index): validation
        # judged those already, and the orientation read here is what is kept either way.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                value = image.getexif().get(_ORIENTATION)  # PNG: loads the image, an eXIf may follow IDAT
                if value is None:
                    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
                    match = _XMP_ORIENTATION.search(xmp.encode() if isinstance(xmp, str) else bytes(xmp))
                    value = match[1] if match else None
                orientation = int(value) if value is not None else 1
    except Exception:  # noqa: BLE001 - no readable EXIF/XMP means no orientation to keep
        return None
    return orientation if 2 <= orientation <= 8 else None


def _exif_tiff(orientation: int) -> bytes:
    """TIFF header + one IFD entry (what PNG eXIf and WebP EXIF hold); JPEG APP1 prefixes b"Exif\\0\\0"."""
    exif = Image.Exif()
    exif[_ORIENTATION] = orientation
    return exif.tobytes().removeprefix(b"Exif\0\0")


def _jpeg(data: bytes, notes: list[str]) -> bytes:
    if not data.startswith(b"\xff\xd8"):
        raise SanitizeError("not a JPEG (no SOI marker)")
    orientation = _orientation(data)
    exif = _segment(0xE1, b"Exif\0\0" + _exif_tiff(orientation)) if orientation else b""
    out = bytearray(b"\xff\xd8")
    pos, extraneous, images, scanned = 2, 0, 0, False
    while True:
        match = _MARKER.search(data, pos)
        if match is None:  # no EOI: kept so (truncated?), an EOI added would hide it from decoders
            if not scanned:
                raise SanitizeError("JPEG ended before its image data")
            notes.append("the JPEG has no EOI marker: its last scan runs to the end of the file")
            break
        # Bytes before a marker other than fill bytes (0xFF) are extraneous: libjpeg skips them with a
        # warning ("N extraneous bytes before marker"), so they are dropped.
        extraneous += len(data[pos : match.start()].rstrip(b"\xff"))
        pos, marker = match.start(), data[match.start() + 1]
        if marker == 0xD9:  # EOI of the primary image: whatever follows is not part of it
            if not scanned:
                raise SanitizeError("JPEG ended before its image data")
            out += b"\xff\xd9"
            pos += 2
            break
        if marker == 0xD8:
            raise SanitizeError(f"second SOI marker at byte {pos}")
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # RSTn and TEM stand alone, without a length
            out += data[pos : pos + 2]
            pos += 2
            continue
        if pos + 4 > len(data) or (length := struct.unpack(">H", data[pos + 2 : pos + 4])[0]) < 2:
            raise SanitizeError(f"bad JPEG segment at byte {pos}")
        segment = data[pos : pos + 2 + length]
        if len(segment) < 2 + length:
            raise SanitizeError(
                "JPEG ended before its image data" if not scanned else f"truncated JPEG segment at byte {pos}"
            )
        payload = segment[4:]
        pos += 2 + length
        if exif and marker != 0xE0:  # the EXIF APP1 goes first, only a JFIF APP0 may precede it
            out += exif
            exif = b""
        if marker == 0xE2 and payload.startswith(b"MPF\0"):
            images = _mpf_images(payload[4:])
        keep = (
            marker == 0xE0  # JFIF / JFXX
            or (marker == 0xE2 and payload.startswith(b"ICC_PROFILE\0"))
            or marker == 0xEE  # Adobe: colour transform of CMYK/YCCK
            or not (0xE0 <= marker <= 0xEF or marker == 0xFE)
        )
        if keep:
            out += segment
        if marker == 0xDA:  # start of scan: entropy-coded data follows, up to the next marker that is not RSTn
            end = scan_end.start() if (scan_end := _SCAN_END.search(data, pos)) else len(data)
            out += data[pos:end]
            pos, scanned = end, True
    if extraneous:
        notes.append(f"dropped {extraneous:,} extraneous byte{'s' if extraneous > 1 else ''} before markers")
    if trailer := len(data) - pos:
        if images > 1 and b"\xff\xd8" in data[pos:]:  # the MPF index counts the primary image too
            count = f"{images - 1} appended image{'s' if images > 2 else ''}"
            notes.append(f"dropped {count} after the primary JPEG ({trailer:,} B)")
        else:
            notes.append(f"dropped {trailer:,} B after the primary JPEG's end (EOI)")
    return bytes(out)


def _mpf_images(tiff: bytes) -> int:
    """NumberOfImages (tag 0xB001) of an MPF APP2: b"MPF\\0", then a TIFF header and IFD (CIPA DC-007)."""
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    try:
        if order is None:
            return 0
        (ifd,) = struct.unpack_from(order + "I", tiff, 4)
        (count,) = struct.unpack_from(order + "H", tiff, ifd)
        for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
            tag, _type, _count, value = struct.unpack_from(order + "HHII", tiff, entry)
            if tag == _MPF_NUMBER_OF_IMAGES:  # a LONG, stored in the entry itself
                return int(value)
    except struct.error:  # malformed index: only the byte count is reported
        pass
    return 0


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _png(data: bytes, notes: list[str]) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        raise SanitizeError("not a PNG")
    orientation = _orientation(data)
    exif = _png_chunk(b"eXIf", _exif_tiff(orientation)) if orientation else b""
    out, pos = bytearray(PNG_SIGNATURE), len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos : pos + 12 + length]
        if kind == b"IDAT" and exif:  # eXIf must come before the first IDAT
            out += exif
            exif = b""
        if kind not in _PNG_DROP:
            out += chunk
        pos += 12 + length
        if kind == b"IEND":  # anything after IEND (appended archives) is dropped too
            if pos < len(data):
                notes.append(f"dropped {len(data) - pos:,} B after the PNG's end (IEND)")
            return bytes(out)
    raise SanitizeError("PNG without IEND")


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    # length, type, data, CRC-32 over type and data
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _webp(data: bytes, notes: list[str]) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise SanitizeError("not a WebP")
    end = min(len(data), 8 + struct.unpack("<I", data[4:8])[0])  # the RIFF size counts from byte 8
    chunks: list[tuple[bytes, bytes]] = []
    pos = 12
    while pos + 8 <= end:
        kind = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        if len(body) < size:
            raise SanitizeError(f"truncated WebP chunk {kind!r}")
        if kind not in (b"EXIF", b"XMP "):
            chunks.append((kind, body))
        pos += 8 + size + (size % 2)  # chunks are padded to an even size
    if len(data) > max(pos, end):
        notes.append(f"dropped {len(data) - max(pos, end):,} B after the WebP's RIFF data")
    orientation = _orientation(data)
    if orientation:
        if not chunks or chunks[0][0] != b"VP8X":  # simple format: only the extended one has metadata
            chunks.insert(0, (b"VP8X", _vp8x(data)))
        # EXIF follows the image data (VP8X, ICCP, ANIM, image/frames, EXIF, XMP, unknown chunks)
        last = max((i for i, (kind, _) in enumerate(chunks) if kind in _WEBP_IMAGE), default=len(chunks) - 1)
        chunks.insert(last + 1, (b"EXIF", _exif_tiff(orientation)))
    if chunks and chunks[0][0] == b"VP8X":  # XMP flag (0x04) cleared, EXIF flag (0x08) only if kept
        flags = chunks[0][1][0] & ~0x0C | (0x08 if orientation else 0)
        chunks[0] = (b"VP8X", bytes([flags]) + chunks[0][1][1:])
    payload = b"WEBP" + b"".join(
        kind + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"") for kind, body in chunks
    )
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


def _vp8x(data: bytes) -> bytes:
    """VP8X body: flags (alpha 0x10), 3 reserved bytes, canvas width-1 and height-1 (24-bit little endian)."""
    with Image.open(io.BytesIO(data)) as image:
        (width, height), alpha = image.size, "A" in image.getbands()
    canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return bytes([0x10 if alpha else 0]) + b"\0\0\0" + canvas


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


# demuxer to read per canonical MIME type: the one validation used (core/media/policy.py; a test
# pins them equal), never FFmpeg's guess from the content or the temporary file's name
AV_DEMUXERS = {
    "video/mp4": "mp4",
    "video/mov": "mov",
    "video/webm": "webm",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
    "audio/wav": "wav",
    "audio/aac": "aac",
    "audio/mp4": "mp4",
}


def sanitize_av(source: str | BinaryIO, target: str | BinaryIO, mime_type: str) -> None:
    """Remux ``source`` into ``target`` (paths or binary file objects) without re-encoding."""
    import av

    fmt = AV_FORMATS.get(mime_type)
    if fmt is None:
        raise SanitizeError(f"no audio/video sanitizer for {mime_type}")
    demuxer = AV_DEMUXERS.get(mime_type)
    with (
        av.open(source, "r", format=demuxer) as inp,
        av.open(target, "w", format=fmt, options={"fflags": "+bitexact"}) as out,
    ):
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
