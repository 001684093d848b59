"""Image validation: Pillow restricted to the accepted formats, bombs as errors, full decode.

A multi-picture JPEG (MPF/MPO: phone depth and gain maps, camera previews) is a JPEG: its
primary image is validated and sent; the stripped copy drops the appended images (privacy/sanitize).
"""

from __future__ import annotations

import io
import struct
import warnings
from typing import IO

from PIL import Image, ImageFile, UnidentifiedImageError

from gemini_assets.core.contracts.enums import MediaKind
from gemini_assets.core.contracts.errors import MediaRejected
from gemini_assets.core.contracts.reasons import QuarantineReason
from gemini_assets.core.media.facts import MediaFacts
from gemini_assets.core.media.messages import diagnostic, plain
from gemini_assets.core.media.policy import ImagePolicy

__all__ = ["probe_image"]


# Pillow format name -> canonical MIME type (Pillow names a JPEG with an MPF index "MPO").
_FORMAT_MIME = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_OPENERS = ["JPEG", "PNG", "WEBP"]
_TRUNCATED = ("truncated", "broken data stream", "image file is incomplete")


def probe_image(
    source: bytes | IO[bytes], extension: str, policy: ImagePolicy, sniffed_mime: str | None = None
) -> MediaFacts:
    """Identify, check against the policy and fully decode; raise MediaRejected otherwise.

    With ``sniffed_mime`` (the first bytes are already known to be an accepted image type), a
    file Pillow cannot identify is damaged (e.g. a bad IHDR CRC), not of another type.
    """
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is corrupt, never "mostly fine"
    with warnings.catch_warnings():
        # A header declaring a huge canvas is an attack, not a warning.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(stream, formats=_OPENERS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise MediaRejected(QuarantineReason.DECOMPRESSION_BOMB, plain(exc), sniffed_mime, diagnostic(exc)) from exc
        except UnidentifiedImageError as exc:
            if not sniffed_mime:
                why = "content is not a JPEG, PNG or WebP image"
                raise MediaRejected(QuarantineReason.UNSUPPORTED_TYPE, why, None, diagnostic(exc)) from exc
            raise _damaged(
                exc, stream, sniffed_mime, f"starts like {sniffed_mime} but its structure is damaged"
            ) from exc
        except (OSError, ValueError, SyntaxError, struct.error) as exc:
            raise _damaged(exc, stream, sniffed_mime, f"starts like {sniffed_mime} but cannot be opened") from exc
        mime = _FORMAT_MIME[image.format or ""]
        try:
            _check_header(image, mime, extension, policy)
            try:
                # verify() checks nothing for JPEG/WebP: only a full decode proves the file is whole.
                image.load()
            except (OSError, ValueError, SyntaxError, struct.error, Image.DecompressionBombError) as exc:
                raise _damaged(exc, stream, mime, "decode failed") from exc
            width, height = image.size
            frames = _frames(image)
            trailing = _trailing_bytes(stream, mime)  # before close(): Pillow closes the stream
            if trailing:
                raise MediaRejected(
                    QuarantineReason.POLYGLOT, f"{trailing} bytes after the end of the {mime} image", mime
                )
        finally:
            image.close()
    return MediaFacts(MediaKind.IMAGE, mime, width=width, height=height, frames=frames)


def _frames(image: Image.Image) -> int:
    """Animation frames; the images of a multi-picture JPEG are one primary plus attachments."""
    return 1 if image.format == "MPO" else int(getattr(image, "n_frames", 1))


def _damaged(exc: BaseException, stream: IO[bytes], mime: str | None, what: str) -> MediaRejected:
    """The precise reason for a parser error: a bomb, a file cut short, or a damaged one.

    Cut short when the length framing proves it (or Pillow ran out of data while decoding pixels);
    a header that does not hold together while the framing does is garbage after a signature.
    """
    text = str(exc).lower()
    if isinstance(exc, Image.DecompressionBombError) or "too large" in text:
        # e.g. PNG text chunks inflating past Pillow's limits
        return MediaRejected(QuarantineReason.DECOMPRESSION_BOMB, f"{what}: {plain(exc)}", mime, diagnostic(exc))
    cut = _cut_short(stream, mime)
    if cut:
        return MediaRejected(QuarantineReason.TRUNCATED, cut, mime, diagnostic(exc))
    # Pillow's "cannot identify image file <_io.BytesIO object at 0x...>" says nothing more
    detail = what if isinstance(exc, UnidentifiedImageError) else f"{what}: {plain(exc)}"
    if what == "decode failed" and any(marker in text for marker in _TRUNCATED):
        return MediaRejected(QuarantineReason.TRUNCATED, detail, mime, diagnostic(exc))
    return MediaRejected(QuarantineReason.CORRUPT_MEDIA, detail, mime, diagnostic(exc))


def _cut_short(stream: IO[bytes], mime: str | None) -> str | None:
    """Why a PNG or WebP was cut short, when its length framing proves it (JPEG has none)."""
    try:
        return _framing(stream, mime)[1]
    except (OSError, ValueError, struct.error):  # a stream Pillow closed, or framing too short to read
        return None


def _check_header(image: Image.Image, mime: str, extension: str, policy: ImagePolicy) -> None:
    if extension not in policy.mime_extensions.get(mime, ()):
        raise MediaRejected(QuarantineReason.EXTENSION_MISMATCH, f"extension .{extension} but content is {mime}", mime)
    width, height = image.size
    frames = _frames(image)
    if frames > policy.max_frames:
        raise MediaRejected(QuarantineReason.TOO_MANY_FRAMES, f"{frames} frames > {policy.max_frames}", mime)
    if min(width, height) < policy.min_side or max(width, height) > policy.max_side:
        raise MediaRejected(
            QuarantineReason.RESOLUTION_OUT_OF_RANGE,
            f"{width}x{height} outside sides {policy.min_side}..{policy.max_side}",
            mime,
        )
    if width * height > policy.max_pixels:
        raise MediaRejected(
            QuarantineReason.RESOLUTION_OUT_OF_RANGE, f"{width * height} pixels > {policy.max_pixels}", mime
        )


def _trailing_bytes(stream: IO[bytes], mime: str) -> int:
    """Bytes after the format's own end marker (a PNG+ZIP polyglot decodes as a fine PNG).
    JPEG is not checked: camera trailers (MPF, maker data) after EOI are common and harmless."""
    total = stream.seek(0, io.SEEK_END)
    end, _ = _framing(stream, mime)
    return max(0, total - end) if end is not None else 0


def _framing(stream: IO[bytes], mime: str | None) -> tuple[int | None, str | None]:
    """(where the PNG or WebP ends by its own framing, why it is cut short), each or both None.

    Hand-written because Pillow does not report where a file ends; PNG chunks and the WebP RIFF
    header are length-prefixed, so this is a walk over lengths, not a parser.
    """
    total = stream.seek(0, io.SEEK_END)
    if mime == "image/webp":
        stream.seek(4)
        riff_size: int = struct.unpack("<I", stream.read(4))[0]
        if 8 + riff_size > total:
            return None, f"cut short: the RIFF header declares {8 + riff_size} B, the file has {total} B"
        return 8 + riff_size + (riff_size & 1), None
    if mime != "image/png":
        return None, None
    offset = 8
    while offset + 8 <= total:
        stream.seek(offset)
        length: int
        kind: bytes
        length, kind = struct.unpack(">I4s", stream.read(8))
        if not kind.isalpha():  # chunk types are four letters: damaged, not cut
            return None, None
        if offset + 12 + length > total:
            return None, f"cut short: the file ends inside its {kind.decode('latin-1')!r} chunk"
        offset += 12 + length
        if kind == b"IEND":
            return offset, None
    return None, "cut short: the file ends before its IEND chunk"
