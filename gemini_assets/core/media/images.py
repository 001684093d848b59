"""Image validation: Pillow restricted to the accepted formats, bombs as errors, full decode."""

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
from gemini_assets.core.media.policy import ImagePolicy

__all__ = ["probe_image"]


# Pillow format name -> canonical MIME type.
_FORMAT_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


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
            image = Image.open(stream, formats=list(_FORMAT_MIME))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise MediaRejected(QuarantineReason.DECOMPRESSION_BOMB, str(exc)) from exc
        except UnidentifiedImageError as exc:
            if sniffed_mime:
                raise MediaRejected(
                    QuarantineReason.CORRUPT_MEDIA,
                    f"starts like {sniffed_mime} but Pillow cannot open it",
                    sniffed_mime,
                ) from exc
            raise MediaRejected(QuarantineReason.UNSUPPORTED_TYPE, "content is not a JPEG, PNG or WebP image") from exc
        except (OSError, ValueError, SyntaxError, struct.error) as exc:
            raise MediaRejected(QuarantineReason.CORRUPT_MEDIA, f"cannot open image: {exc}") from exc
        mime = _FORMAT_MIME[image.format or ""]
        try:
            _check_header(image, mime, extension, policy)
            try:
                # verify() checks nothing for JPEG/WebP: only a full decode proves the file is whole.
                image.load()
            except ValueError as exc:  # PNG text chunks inflating past Pillow's limits
                reason = (
                    QuarantineReason.DECOMPRESSION_BOMB if "too large" in str(exc) else QuarantineReason.CORRUPT_MEDIA
                )
                raise MediaRejected(reason, f"decode failed: {exc}", mime) from exc
            except (OSError, SyntaxError, struct.error, Image.DecompressionBombError) as exc:
                raise MediaRejected(QuarantineReason.CORRUPT_MEDIA, f"decode failed: {exc}", mime) from exc
            width, height = image.size
            frames = int(getattr(image, "n_frames", 1))
            trailing = _trailing_bytes(stream, mime)  # before close(): Pillow closes the stream
            if trailing:
                raise MediaRejected(
                    QuarantineReason.POLYGLOT, f"{trailing} bytes after the end of the {mime} image", mime
                )
        finally:
            image.close()
    return MediaFacts(MediaKind.IMAGE, mime, width=width, height=height, frames=frames)


def _check_header(image: Image.Image, mime: str, extension: str, policy: ImagePolicy) -> None:
    if extension not in policy.mime_extensions.get(mime, ()):
        raise MediaRejected(QuarantineReason.EXTENSION_MISMATCH, f"extension .{extension} but content is {mime}", mime)
    width, height = image.size
    frames = int(getattr(image, "n_frames", 1))
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

    Hand-written because Pillow does not report where a file ends; PNG chunks and the WebP RIFF
    header are length-prefixed, so this is a walk over lengths, not a parser. JPEG is not
    checked: camera trailers (MPF, maker data) after EOI are common and harmless.
    """
    total = stream.seek(0, io.SEEK_END)
    if mime == "image/webp":
        stream.seek(4)
        riff_size: int = struct.unpack("<I", stream.read(4))[0]
        return max(0, total - (8 + riff_size + (riff_size & 1)))
    if mime != "image/png":
        return 0
    offset = 8
    while offset + 8 <= total:
        stream.seek(offset)
        length: int
        kind: bytes
        length, kind = struct.unpack(">I4s", stream.read(8))
        offset += 12 + length
        if kind == b"IEND":
            return max(0, total - offset)
    return 0
