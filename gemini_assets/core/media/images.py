"""Image validation: Pillow restricted to the accepted formats, bombs as errors, full decode."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from gemini_assets.core.media.policy import ImagePolicy, ReasonCode

# Pillow format name -> canonical MIME type.
_FORMAT_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class ImageFacts:
    mime_type: str
    width: int
    height: int
    frames: int


class MediaRejected(Exception):
    def __init__(self, reason: ReasonCode, detail: str, sniffed_mime: str | None = None):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.sniffed_mime = sniffed_mime


def probe_image(data: bytes, extension: str, policy: ImagePolicy) -> ImageFacts:
    """Identify, check against the policy and fully decode; raise MediaRejected otherwise."""
    with warnings.catch_warnings():
        # A header declaring a huge canvas is an attack, not a warning.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(_FORMAT_MIME))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise MediaRejected(ReasonCode.DECOMPRESSION_BOMB, str(exc)) from exc
        except UnidentifiedImageError as exc:
            raise MediaRejected(ReasonCode.UNSUPPORTED_TYPE, "content is not a JPEG, PNG or WebP image") from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise MediaRejected(ReasonCode.CORRUPT_MEDIA, f"cannot open image: {exc}") from exc
        mime = _FORMAT_MIME[image.format]
        if extension not in policy.mime_extensions.get(mime, ()):
            raise MediaRejected(
                ReasonCode.EXTENSION_MISMATCH, f"extension .{extension} but content is {mime}", mime
            )
        width, height = image.size
        frames = int(getattr(image, "n_frames", 1))
        if frames > policy.max_frames:
            raise MediaRejected(ReasonCode.TOO_MANY_FRAMES, f"{frames} frames > {policy.max_frames}", mime)
        if min(width, height) < policy.min_side or max(width, height) > policy.max_side:
            raise MediaRejected(
                ReasonCode.RESOLUTION_OUT_OF_RANGE,
                f"{width}x{height} outside sides {policy.min_side}..{policy.max_side}",
                mime,
            )
        if width * height > policy.max_pixels:
            raise MediaRejected(
                ReasonCode.RESOLUTION_OUT_OF_RANGE, f"{width * height} pixels > {policy.max_pixels}", mime
            )
        try:
            # verify() checks nothing for JPEG/WebP: only a full decode proves the file is whole.
            image.load()
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise MediaRejected(ReasonCode.CORRUPT_MEDIA, f"decode failed: {exc}", mime) from exc
        finally:
            image.close()
    return ImageFacts(mime, width, height, frames)
