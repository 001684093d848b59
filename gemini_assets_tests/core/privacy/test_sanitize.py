import hashlib
import io
import struct
import zlib

import av
import numpy as np
import pytest
from PIL import Image

from gemini_assets.core.privacy.sanitize import sanitize_av, sanitize_image, sanitize_pdf
from gemini_devkit.samples.media import make_audio, make_video

GPS_MARK = "Secret Street 1"


def _exif_with_gps(orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (52.0, 31.0, 12.5), 3: "E", 4: (13.0, 24.0, 1.0), 0x1B: GPS_MARK})
    return exif.tobytes()


def _photo() -> Image.Image:
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))


def _decoded(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").tobytes()


def test_jpeg_loses_gps_comment_xmp_keeps_pixels_and_orientation():
    buffer = io.BytesIO()
    _photo().save(
        buffer,
        format="JPEG",
        quality=90,
        exif=_exif_with_gps(),
        comment=b"shot at home",
        xmp=b"<x:xmpmeta>creator Jane</x:xmpmeta>",
    )
    original = buffer.getvalue()
    assert GPS_MARK.encode() in original and b"shot at home" in original
    clean = sanitize_image(original, "image/jpeg")
    for secret in (GPS_MARK.encode(), b"shot at home", b"creator Jane", b"PhoneMaker"):
        assert secret not in clean
    assert _decoded(clean) == _decoded(original)  # not re-encoded: identical pixels
    with Image.open(io.BytesIO(clean)) as image:
        exif = image.getexif()
        assert exif.get(0x0112) == 6 and 0x8825 not in exif


def test_webp_loses_exif_and_keeps_pixels():
    buffer = io.BytesIO()
    _photo().save(buffer, format="WEBP", lossless=True, exif=_exif_with_gps())
    original = buffer.getvalue()
    assert GPS_MARK.encode() in original
    clean = sanitize_image(original, "image/webp")
    assert GPS_MARK.encode() not in clean and b"EXIF" not in clean
    assert _decoded(clean) == _decoded(original)


def test_png_loses_text_and_trailing_data():
    buffer = io.BytesIO()
    _photo().save(buffer, format="PNG")
    body = b"Author\0Jane at 52.5200,13.4050"
    text = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    plain = buffer.getvalue()
    original = plain[:33] + text + plain[33:] + b"PK\x03\x04appended zip"
    clean = sanitize_image(original, "image/png")
    assert b"Jane" not in clean and b"PK\x03\x04" not in clean
    assert _decoded(clean) == _decoded(plain)


LOCATION_TAGS = {"location": "+52.5200+013.4100/", "title": "Jane's flat"}


def _packet_digest(path) -> str:
    digest = hashlib.sha256()
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.dts is not None:
                digest.update(bytes(packet))
    return digest.hexdigest()


def test_video_loses_location_tag_and_keeps_packets(tmp_path):
    source, target = tmp_path / "in.mp4", tmp_path / "out.mp4"
    source.write_bytes(make_video("mp4", tags=LOCATION_TAGS))
    original = source.read_bytes()
    # FFmpeg writes the location as a 3GPP `loci` box (binary coordinates) and the title as text
    assert b"loci" in original and b"Jane's flat" in original
    sanitize_av(str(source), str(target), "video/mp4")
    data = target.read_bytes()
    assert b"loci" not in data and b"Jane" not in data
    assert _packet_digest(target) == _packet_digest(source)


def test_pdf_loses_info_and_xmp():
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_metadata({"/Author": "Jane Secret", "/Title": "Payslip"})
    buffer = io.BytesIO()
    writer.write(buffer)
    clean = sanitize_pdf(buffer.getvalue())
    assert b"Jane Secret" not in clean
    reader = PdfReader(io.BytesIO(clean))
    assert len(reader.pages) == 1 and not (reader.metadata or {}).get("/Author")


def test_unknown_type_is_refused():
    with pytest.raises(ValueError):
        sanitize_image(b"GIF89a", "image/gif")


@pytest.mark.parametrize(
    "maker,ext,mime",
    [
        ("audio", e, m)
        for e, m in [
            ("mp3", "audio/mp3"),
            ("wav", "audio/wav"),
            ("ogg", "audio/ogg"),
            ("flac", "audio/flac"),
            ("m4a", "audio/mp4"),
            ("aac", "audio/aac"),
        ]
    ]
    + [("video", e, m) for e, m in [("mp4", "video/mp4"), ("webm", "video/webm"), ("mov", "video/mov")]],
)
def test_every_accepted_audio_video_type_remuxes_with_identical_packets(tmp_path, maker, ext, mime):
    source, target = tmp_path / f"in.{ext}", tmp_path / f"out.{ext}"
    source.write_bytes(make_audio(ext) if maker == "audio" else make_video(ext))
    sanitize_av(str(source), str(target), mime)
    assert _packet_digest(target) == _packet_digest(source)
