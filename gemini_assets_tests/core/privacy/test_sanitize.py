import hashlib
import io
import re
import struct
import zlib

import av
import numpy as np
import pytest
from PIL import Image, ImageOps, PngImagePlugin

from gemini_assets.core.contracts.errors import SanitizeError
from gemini_assets.core.media.policy import DEFAULT_POLICY
from gemini_assets.core.privacy import sanitize
from gemini_assets.core.privacy.sanitize import (
    AV_DEMUXERS,
    sanitize_av,
    sanitize_image,
    sanitize_image_with_notes,
    sanitize_pdf,
)
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
    assert GPS_MARK.encode() not in clean and b"PhoneMaker" not in clean
    # one EXIF chunk is left: the orientation alone, kept so the photo stays upright
    assert [kind for kind, _ in _webp_chunks(clean)].count(b"EXIF") == 1
    assert _exif_tags(clean) == {0x0112: 6}
    assert _decoded(clean) == _decoded(original)


def test_png_loses_text_and_trailing_data():
    buffer = io.BytesIO()
    _photo().save(buffer, format="PNG")
    body = b"Author\0Jane at 52.5200,13.4050"
    text = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    plain = buffer.getvalue()
    original = plain[:33] + text + plain[33:] + b"PK\x03\x04appended zip"
    clean, notes = sanitize_image_with_notes(original, "image/png")
    assert b"Jane" not in clean and b"PK\x03\x04" not in clean
    assert _decoded(clean) == _decoded(plain)
    assert clean == sanitize_image(original, "image/png")
    assert notes == ["dropped 16 B after the PNG's end (IEND)"]


# --- JPEG walker, appended images, orientation for every image type ----------------------------

_XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"{}'
    "</rdf:RDF></x:xmpmeta>"
)
# the two spellings of the orientation in XMP: an attribute and an element
XMP_ORIENTATION_6 = {
    "attribute": _XMP.format(' tiff:Orientation="6" dc:creator="Jane Secret"/>'),
    "element": _XMP.format(
        "><tiff:Orientation>6</tiff:Orientation><dc:creator>Jane Secret</dc:creator></rdf:Description>"
    ),
}
SECRETS = (GPS_MARK.encode(), b"PhoneMaker", b"Jane Secret", b"xmpmeta")


def _jpeg(**params) -> bytes:
    buffer = io.BytesIO()
    _photo().save(buffer, format="JPEG", quality=90, **params)
    return buffer.getvalue()


def _exif_tags(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif())


def _upright(data: bytes) -> tuple:
    """What a viewer shows: the pixels turned by the EXIF (or XMP) orientation."""
    with Image.open(io.BytesIO(data)) as image:
        upright = ImageOps.exif_transpose(image)
        return upright.size, upright.convert("RGB").tobytes()


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        pos += 12 + length
    return chunks


def _png_build(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body)) for kind, body in chunks
    )


def _webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8  # the RIFF size covers everything after it
    chunks, pos = [], 12
    while pos < len(data):
        kind, (size,) = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])
        chunks.append((kind, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + size % 2
    assert pos == len(data)
    return chunks


@pytest.mark.parametrize("params", [{}, {"progressive": True}, {"restart_marker_rows": 1}])
def test_jpeg_without_metadata_is_unchanged(params):
    plain = _jpeg(**params)
    assert sanitize_image_with_notes(plain, "image/jpeg") == (plain, [])


def test_jpeg_extraneous_bytes_before_markers_are_dropped():
    plain = _jpeg()
    dqt, sos = plain.index(b"\xff\xdb"), plain.index(b"\xff\xda")
    # junk (with a stuffed FF 00, no marker either) and fill bytes before DQT, junk before SOS
    original = plain[:dqt] + b"junk\xff\x00!\xff\xff" + plain[dqt:sos] + b"xyz" + plain[sos:]
    clean, notes = sanitize_image_with_notes(original, "image/jpeg")
    assert clean == plain
    assert notes == ["dropped 10 extraneous bytes before markers"]
    assert _decoded(original) == _decoded(clean)


def test_progressive_jpeg_is_walked_scan_by_scan():
    plain = _jpeg(progressive=True, exif=_exif_with_gps(), comment=b"shot at home")
    # FF DA cannot occur inside entropy-coded data (a data byte FF is stuffed as FF 00 there)
    scans = [match.start() for match in re.finditer(b"\xff\xda", plain)]
    assert len(scans) > 2
    comment = b"secret between scans"
    original = plain[: scans[2]] + b"\xff\xfe" + struct.pack(">H", 2 + len(comment)) + comment + plain[scans[2] :]
    clean, notes = sanitize_image_with_notes(original, "image/jpeg")
    for secret in (comment, b"shot at home", GPS_MARK.encode(), b"PhoneMaker"):
        assert secret not in clean
    assert clean.count(b"\xff\xda") == len(scans) and clean.endswith(b"\xff\xd9") and notes == []
    assert _decoded(clean) == _decoded(original)
    assert _exif_tags(clean) == {0x0112: 6}


@pytest.mark.parametrize("frames", [2, 3])
def test_multi_picture_jpeg_keeps_only_the_primary_image(frames):
    buffer = io.BytesIO()
    others = [_photo().rotate(90 * i) for i in range(1, frames)]
    _photo().save(buffer, format="MPO", save_all=True, append_images=others, exif=_exif_with_gps())
    original = buffer.getvalue()
    with Image.open(io.BytesIO(original)) as image:
        assert image.format == "MPO" and image.n_frames == frames
        primary_size = image.mpinfo[0xB002][0]["Size"]
        primary = image.convert("RGB").tobytes()
    assert GPS_MARK.encode() in original[primary_size:]  # the appended images carry their own EXIF
    clean, notes = sanitize_image_with_notes(original, "image/jpeg")
    dropped = f"{frames - 1} appended image{'s' if frames > 2 else ''}"
    assert notes == [f"dropped {dropped} after the primary JPEG ({len(original) - primary_size:,} B)"]
    assert b"MPF\0" not in clean and GPS_MARK.encode() not in clean and b"PhoneMaker" not in clean
    assert clean.endswith(b"\xff\xd9") and len(clean) < primary_size
    with Image.open(io.BytesIO(clean)) as image:
        assert image.format == "JPEG" and getattr(image, "n_frames", 1) == 1
        assert image.convert("RGB").tobytes() == primary
    assert _exif_tags(clean) == {0x0112: 6}


def test_jpeg_trailer_after_eoi_is_dropped():
    plain = _jpeg()
    clean, notes = sanitize_image_with_notes(plain + b"PK\x03\x04appended zip", "image/jpeg")
    assert clean == plain and notes == ["dropped 16 B after the primary JPEG's end (EOI)"]


def test_jpeg_without_eoi_is_not_repaired():
    # an EOI added to a truncated file would make decoders accept what they refuse as uploaded
    plain = _jpeg()
    clean, notes = sanitize_image_with_notes(plain[:-2], "image/jpeg")
    assert clean == plain[:-2] and notes == ["the JPEG has no EOI marker: its last scan runs to the end of the file"]


@pytest.mark.parametrize("cut", ["no_soi", "junk_only", "headers_only", "eoi_before_scan", "segment_past_end"])
def test_jpeg_without_image_data_is_refused(cut):
    plain = _jpeg()
    sos = plain.index(b"\xff\xda")
    data = {
        "no_soi": plain[2:],
        "junk_only": b"\xff\xd8junk",
        "headers_only": plain[:sos],
        "eoi_before_scan": plain[:sos] + b"\xff\xd9",
        "segment_past_end": plain[: sos + 6],
    }[cut]
    with pytest.raises(SanitizeError):
        sanitize_image(data, "image/jpeg")


@pytest.mark.parametrize("form", sorted(XMP_ORIENTATION_6))
def test_jpeg_keeps_xmp_only_orientation(form):
    original = _jpeg(xmp=XMP_ORIENTATION_6[form].encode())
    clean = sanitize_image(original, "image/jpeg")
    assert not any(secret in clean for secret in SECRETS)
    assert _exif_tags(clean) == {0x0112: 6}
    assert _upright(clean) == _upright(original) and _upright(clean)[0] == (48, 64)
    assert _decoded(clean) == _decoded(original)


@pytest.mark.parametrize("exif_place", ["before_idat", "after_idat"])
def test_png_keeps_only_the_exif_orientation(exif_place):
    buffer = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Secret")
    _photo().save(buffer, format="PNG", exif=_exif_with_gps(), pnginfo=info)
    original = buffer.getvalue()
    if exif_place == "after_idat":  # allowed by PNG 3; Pillow finds it once the image is loaded
        chunks = _png_chunks(original)
        exif = next(chunk for chunk in chunks if chunk[0] == b"eXIf")
        chunks.remove(exif)
        chunks.insert(-1, exif)
        original = _png_build(chunks)
    assert _exif_tags(original)[0x0112] == 6
    clean, notes = sanitize_image_with_notes(original, "image/png")
    kinds = [kind for kind, _ in _png_chunks(clean)]  # checks every CRC too
    assert kinds.count(b"eXIf") == 1 and kinds.index(b"eXIf") < kinds.index(b"IDAT")
    assert b"tEXt" not in kinds and not any(secret in clean for secret in SECRETS)
    assert _exif_tags(clean) == {0x0112: 6} and notes == []
    assert _upright(clean) == _upright(original) and _upright(clean)[0] == (48, 64)
    assert _decoded(clean) == _decoded(original)


@pytest.mark.parametrize("form", sorted(XMP_ORIENTATION_6))
def test_png_keeps_the_xmp_orientation_as_exif(form):
    buffer = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP_ORIENTATION_6[form])
    _photo().save(buffer, format="PNG", pnginfo=info)
    original = buffer.getvalue()
    clean = sanitize_image(original, "image/png")
    kinds = [kind for kind, _ in _png_chunks(clean)]
    assert b"iTXt" not in kinds and kinds.index(b"eXIf") < kinds.index(b"IDAT")
    assert not any(secret in clean for secret in SECRETS)
    assert _exif_tags(clean) == {0x0112: 6}
    assert _upright(clean) == _upright(original) and _upright(clean)[0] == (48, 64)


@pytest.mark.parametrize("source", ["exif", *sorted(XMP_ORIENTATION_6)])
def test_webp_keeps_only_the_orientation(source):
    metadata = {"exif": _exif_with_gps()} if source == "exif" else {"xmp": XMP_ORIENTATION_6[source].encode()}
    buffer = io.BytesIO()
    _photo().save(buffer, format="WEBP", lossless=True, **metadata)
    original = buffer.getvalue()
    clean, notes = sanitize_image_with_notes(original, "image/webp")
    chunks = _webp_chunks(clean)  # checks the RIFF size too
    assert [kind for kind, _ in chunks] == [b"VP8X", b"VP8L", b"EXIF"]
    assert chunks[0][1][0] & 0x0C == 0x08  # EXIF flag set, XMP flag cleared
    assert not any(secret in clean for secret in SECRETS) and notes == []
    assert _exif_tags(clean) == {0x0112: 6}
    assert _upright(clean) == _upright(original) and _upright(clean)[0] == (48, 64)
    assert _decoded(clean) == _decoded(original)


@pytest.mark.parametrize("lossless", [True, False])
def test_simple_webp_is_made_extended_to_keep_the_orientation(monkeypatch, lossless):
    image = _photo()
    if lossless:  # with real transparency, so the VP8X alpha flag must be set
        image.putalpha(Image.linear_gradient("L").resize(image.size))
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", lossless=lossless, quality=80)
    original = buffer.getvalue()
    codec = b"VP8L" if lossless else b"VP8 "
    assert [kind for kind, _ in _webp_chunks(original)] == [codec]
    # A simple-format file cannot carry EXIF or XMP (only VP8X files have metadata chunks), so the
    # orientation is supplied as if found: what is tested is the conversion of the framing.
    monkeypatch.setattr(sanitize, "_orientation", lambda data: 6)
    clean = sanitize_image(original, "image/webp")
    chunks = _webp_chunks(clean)
    assert [kind for kind, _ in chunks] == [b"VP8X", codec, b"EXIF"]
    assert chunks[1] == _webp_chunks(original)[0]  # image data untouched
    vp8x = chunks[0][1]
    assert len(vp8x) == 10 and vp8x[0] == (0x18 if lossless else 0x08) and vp8x[1:4] == b"\0\0\0"
    assert (int.from_bytes(vp8x[4:7], "little") + 1, int.from_bytes(vp8x[7:10], "little") + 1) == (64, 48)
    with Image.open(io.BytesIO(clean)) as stripped, Image.open(io.BytesIO(original)) as before:
        assert stripped.getexif()[0x0112] == 6 and stripped.mode == before.mode == ("RGBA" if lossless else "RGB")
        assert stripped.tobytes() == before.tobytes()


def test_webp_data_after_riff_is_dropped():
    buffer = io.BytesIO()
    _photo().save(buffer, format="WEBP", lossless=True)
    plain = buffer.getvalue()
    clean, notes = sanitize_image_with_notes(plain + b"PK\x03\x04appended zip", "image/webp")
    assert clean == plain and notes == ["dropped 16 B after the WebP's RIFF data"]


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


def test_the_stripper_reads_audio_and_video_with_the_validators_demuxer():
    validator = {**DEFAULT_POLICY.audio.demuxers, **DEFAULT_POLICY.video.demuxers}
    assert validator == AV_DEMUXERS
