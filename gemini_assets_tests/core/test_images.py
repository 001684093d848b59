import io
import struct
import zlib

import pytest
from PIL import Image

from gemini_assets.core.contracts.errors import MediaRejected
from gemini_assets.core.contracts.reasons import QuarantineReason as ReasonCode
from gemini_assets.core.media.images import probe_image
from gemini_assets.core.media.policy import ImagePolicy

POLICY = ImagePolicy()


def encode(fmt: str, size=(64, 48), mode="RGB", **kw) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (200, 30, 40) if mode == "RGB" else 0).save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a huge canvas in a few bytes (decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "fmt,ext,mime",
    [
        ("PNG", "png", "image/png"),
        ("JPEG", "jpg", "image/jpeg"),
        ("JPEG", "jpeg", "image/jpeg"),
        ("WEBP", "webp", "image/webp"),
    ],
)
def test_accepts_supported_formats(fmt, ext, mime):
    facts = probe_image(encode(fmt), ext, POLICY)
    assert (facts.mime_type, facts.width, facts.height, facts.frames) == (mime, 64, 48, 1)


@pytest.mark.parametrize(
    "data,ext,reason",
    [
        (encode("PNG"), "jpg", ReasonCode.EXTENSION_MISMATCH),
        (b"<!DOCTYPE html><html></html>", "png", ReasonCode.UNSUPPORTED_TYPE),
        (encode("GIF", mode="P"), "png", ReasonCode.UNSUPPORTED_TYPE),
        (encode("JPEG", size=(640, 480))[:2000], "jpg", ReasonCode.TRUNCATED),
        (encode("PNG", size=(16, 16)), "png", ReasonCode.RESOLUTION_OUT_OF_RANGE),
        (png_header_only(20_000, 20_000), "png", ReasonCode.DECOMPRESSION_BOMB),
        (png_header_only(12_000, 12_000), "png", ReasonCode.DECOMPRESSION_BOMB),
    ],
    ids=["png-as-jpg", "html", "gif-as-png", "truncated-jpeg", "tiny", "bomb-error", "bomb-warning"],
)
def test_rejects_with_reason(data, ext, reason):
    with pytest.raises(MediaRejected) as caught:
        probe_image(data, ext, POLICY)
    assert caught.value.reason == reason
    assert caught.value.detail
