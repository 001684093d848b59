"""The hostile-input corpus of ../shared/notes/media.md §3.1, generated at test time.

Each case: (file name, task, bytes, expected reason code or None when it must be accepted).
Nothing here is committed as a binary; every file is built from a recipe in milliseconds.
"""

from __future__ import annotations

import io
import shutil
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript

from gemini_devkit.samples.media import assemble_pdf, make_audio, make_pdf, make_video
from gemini_devkit.samples.realistic import (
    cover_jpeg,
    jpeg_with_junk_before_marker,
    m4a_with_brand,
    m4a_with_cover,
    mp3_with_cover,
    mpo_jpeg,
    with_orientation,
)

IMG, DOC, VID, AUD = "product_recognition", "document_extraction", "video_summary", "audio_summary"


@dataclass(frozen=True)
class Case:
    name: str
    task: str
    data: bytes
    expected: str | None  # reason code, or None = accepted


def encode(image: Image.Image, fmt: str, **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def photo(size=(320, 240), mode="RGB") -> Image.Image:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB").convert(mode) if mode != "RGB" else Image.fromarray(pixels, "RGB")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_by_hand(width: int, height: int, rows: bool = True, extra: bytes = b"") -> bytes:
    """A 1-bit grey PNG; with ``rows`` its IDAT holds every (zero) row, else one byte."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    if rows:
        compressor = zlib.compressobj(9)
        row = b"\0" * (1 + (width + 7) // 8)
        idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    else:
        idat = zlib.compress(b"\0")
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + extra + _chunk(b"IEND", b"")


def ztxt_bomb() -> bytes:
    text = zlib.compress(b"\0" * (8 * 1024 * 1024), 9)  # past Pillow's 1 MiB MAX_TEXT_CHUNK
    ok = encode(photo((64, 64)), "PNG")
    return ok[:-12] + _chunk(b"zTXt", b"Comment\0\0" + text) + ok[-12:]


def zip_bytes(names: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in names.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def apng(frames: int) -> bytes:
    images = [Image.new("RGB", (48, 48), (i % 255, 0, 0)) for i in range(frames)]
    return encode(images[0], "PNG", save_all=True, append_images=images[1:])


def exif_with_gps() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.5), 3: "E", 4: (13.0, 24.0, 0.0)}
    return exif


def sixteen_bit_png() -> bytes:
    return encode(Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16), "PNG")


def palette_with_transparency() -> bytes:
    return encode(photo((64, 64)).convert("P"), "PNG", transparency=0)


def audio_only_mp4() -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=16_000, layout="mono")
        for index in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16_000, index * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def pdf_writer(pages: int = 1) -> PdfWriter:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(200, 200)
    return writer


def written(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def encrypted_pdf(user_password: str, algorithm: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([["secret"]]))))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm=algorithm)  # noqa: S106 - test PDF
    return written(writer)


def javascript_pdf() -> bytes:
    writer = pdf_writer()
    writer.add_open_action(JavaScript("app.alert('hello');"))
    return written(writer)


def pdf_lying_count() -> bytes:
    return assemble_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 100000 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        ]
    )


def pdf_page_cycle() -> bytes:
    return assemble_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
        ]
    )


def pdf_flate_bomb(inflated_mib: int = 100) -> bytes:
    compressor = zlib.compressobj(9)
    block = b"\0" * (1024 * 1024)
    data = b"".join(compressor.compress(block) for _ in range(inflated_mib)) + compressor.flush()
    return assemble_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
        ]
    )


def attachment_pdf() -> bytes:
    writer = pdf_writer()
    writer.add_attachment("payload.exe", b"MZ not really")
    return written(writer)


def pdf_page_with(annotation_or_action: bytes, catalog_extra: bytes = b"") -> bytes:
    """One page whose catalog or page carries the given objects (object 4 is the extra)."""
    return assemble_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Annots [4 0 R] >>",
            annotation_or_action,
        ]
    )


FILE_ATTACHMENT = (
    b"<< /Type /Annot /Subtype /FileAttachment /Rect [10 10 30 30] "
    b"/FS << /Type /Filespec /F (notes.txt) >> >>"  # the file spec without /EF: still an attachment
)
CLICK_LINK = b"<< /Type /Annot /Subtype /Link /Rect [10 10 30 30] /A << /S /URI /URI (https://example.com) >> >>"
CLICK_SUBMIT = (
    b"<< /Type /Annot /Subtype /Widget /FT /Btn /Rect [10 10 30 30] "
    b"/A << /S /SubmitForm /F (https://example.com/submit) >> >>"
)
LAUNCH_ON_OPEN = b"/OpenAction << /S /Launch /F (calc.exe) >>"
SUBMIT_ON_OPEN = b"/OpenAction << /S /SubmitForm /F (https://example.com/collect) >>"
GOTOR_ON_PAGE_OPEN = b"/AA << /O << /S /GoToR /F (other.pdf) /D [0 /Fit] >> >>"
JUMP_ON_OPEN = b"/OpenAction << /S /GoTo /D [3 0 R /Fit] >> /AA << /WC << /S /GoTo /D [3 0 R /Fit] >> >>"
RICH_MEDIA = b"<< /Type /Annot /Subtype /RichMedia /Rect [10 10 30 30] >>"
XFA_FORM = b"/AcroForm << /Fields [] /XFA 4 0 R >>"


def faststart(mp4: bytes) -> bytes:
    """The same movie with its index (moov) before the media data, as streaming encoders write it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "faststart.mp4"
        with av.open(io.BytesIO(mp4)) as source, av.open(str(path), "w", options={"movflags": "faststart"}) as out:
            streams = {s.index: out.add_stream_from_template(s) for s in source.streams}
            for packet in source.demux():
                if packet.dts is not None:
                    packet.stream = streams[packet.stream.index]
                    out.mux(packet)
        return path.read_bytes()


HEIC_HEAD = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


def hostile_corpus() -> list[Case]:
    jpeg = encode(photo(), "JPEG", quality=90)
    png = encode(photo(), "PNG")
    pdf = make_pdf([["Invoice 7", "Total 3.00 EUR"], ["Terms"]], title="Invoice 7")
    mp3 = make_audio("mp3", seconds=3.0)
    mp4 = make_video("mp4", seconds=2.0)
    tags = {"title": "walk", "artist": "someone", "comment": "home recording", "location": "+52.5200+013.4100/"}
    blank_pdf = written(pdf_writer())
    cases = [
        Case("empty.png", IMG, b"", "empty_file"),
        Case(
            "html_renamed.png",
            IMG,
            b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
            "unsupported_type",
        ),
        Case(
            "svg_onload.png",
            IMG,
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)" '
            b'width="64" height="64"></svg>',
            "unsupported_type",
        ),
        Case("elf_renamed.jpg", IMG, Path(shutil.which("true") or "/bin/true").read_bytes(), "unsupported_type"),
        Case(
            "docx_renamed.pdf",
            DOC,
            zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}),
            "unsupported_type",
        ),
        Case("html_then_pdf.pdf", DOC, b"<html>" + b" " * 94 + blank_pdf, "polyglot"),
        Case("jpeg_magic_html.jpg", IMG, b"\xff\xd8\xff\xe0<html><body>not a jpeg</body></html>", "corrupt_media"),
        Case("png_plus_zip.png", IMG, png + zip_bytes({"payload.txt": b"hidden"}), "polyglot"),
        Case("truncated.png", IMG, png[: len(png) * 3 // 5], "truncated"),
        Case("truncated.jpg", IMG, jpeg[: len(jpeg) * 3 // 5], "truncated"),
        Case("bad_ihdr_crc.png", IMG, png[:29] + bytes([png[29] ^ 0xFF]) + png[30:], "corrupt_media"),
        Case("bomb_20000.png", IMG, png_by_hand(20_000, 20_000), "decompression_bomb"),
        Case("bomb_12000.png", IMG, png_by_hand(12_000, 12_000), "decompression_bomb"),
        Case("header_65535.png", IMG, png_by_hand(65_535, 65_535, rows=False), "decompression_bomb"),
        Case("ztxt_bomb.png", IMG, ztxt_bomb(), "decompression_bomb"),
        Case("apng_1000.png", IMG, apng(1000), "too_many_frames"),
        Case(
            "animated.webp",
            IMG,
            encode(
                Image.new("RGB", (48, 48)),
                "WEBP",
                save_all=True,
                append_images=[Image.new("RGB", (48, 48), (255, 0, 0))],
            ),
            "too_many_frames",
        ),
        Case("gif_renamed.png", IMG, encode(Image.new("P", (64, 64)), "GIF"), "unsupported_type"),
        Case("tiff_renamed.png", IMG, encode(photo((64, 64)), "TIFF"), "unsupported_type"),
        Case("cmyk.jpg", IMG, encode(photo(mode="CMYK"), "JPEG"), None),
        Case("sixteen_bit.png", IMG, sixteen_bit_png(), None),
        Case("palette_transparent.png", IMG, palette_with_transparency(), None),
        Case("rgba.png", IMG, encode(photo(mode="RGBA"), "PNG"), None),
        Case("one_pixel.png", IMG, encode(Image.new("RGB", (1, 1)), "PNG"), "resolution_out_of_range"),
        Case("strip_30000x2.png", IMG, encode(Image.new("L", (30_000, 2)), "PNG"), "resolution_out_of_range"),
        Case("exif_gps.jpg", IMG, encode(photo(), "JPEG", exif=exif_with_gps()), None),
        Case("exif_gps.webp", IMG, encode(photo(), "WEBP", exif=exif_with_gps()), None),
        Case("exif_gps.png", IMG, encode(photo(), "PNG", exif=exif_with_gps()), None),
        Case("com_icc_xmp.jpg", IMG, encode(photo(), "JPEG", comment=b"shot at home", xmp=b"<x:xmpmeta/>"), None),
        Case("photo.heic", IMG, HEIC_HEAD, "unsupported_extension"),
        Case("heic_renamed.jpg", IMG, HEIC_HEAD, "unsupported_type"),
        *[
            Case(f"tagged.{ext}", AUD, make_audio(ext, tags=tags), None)
            for ext in ("mp3", "ogg", "flac", "m4a", "wav", "aac")
        ],
        *[Case(f"located.{ext}", VID, make_video(ext, tags=tags), None) for ext in ("mp4", "mov", "webm")],
        Case("truncated.mp4", VID, mp4[: len(mp4) // 2], "truncated"),
        Case("truncated.mp3", AUD, mp3[: len(mp3) // 3], "truncated"),
        Case("mp4_renamed.mp3", AUD, mp4, "extension_mismatch"),
        Case("silent_film.mp4", VID, make_video("mp4", with_audio=False), None),
        Case("motion_jpeg.mov", VID, make_video("mov", codec="mjpeg"), "unsupported_codec"),
        Case("audio_only.mp4", VID, audio_only_mp4(), "missing_stream"),
        Case("pdf_renamed.mp4", VID, pdf, "extension_mismatch"),
        Case("aes_user_password.pdf", DOC, encrypted_pdf("secret", "AES-256"), "encrypted_pdf"),
        Case("rc4_empty_password.pdf", DOC, encrypted_pdf("", "RC4-128"), "encrypted_pdf"),
        Case("truncated.pdf", DOC, pdf[: len(pdf) // 2], "truncated"),
        Case("header_only.pdf", DOC, b"%PDF-1.7\n", "truncated"),
        Case("javascript.pdf", DOC, javascript_pdf(), "active_content"),
        Case("pages_1200.pdf", DOC, written(pdf_writer(1200)), "too_many_pages"),
        Case("lying_count.pdf", DOC, pdf_lying_count(), None),
        Case("page_cycle.pdf", DOC, pdf_page_cycle(), "corrupt_media"),
        Case("flate_bomb.pdf", DOC, pdf_flate_bomb(), "decompression_bomb"),
        Case("invoice.pdf", DOC, pdf, None),
        # What real uploads carry (issue 14): accepted and sendable.
        Case("cover_art.mp3", AUD, mp3_with_cover(seconds=2.0), None),
        Case("brand_mp42.m4a", AUD, m4a_with_brand(2.0, b"mp42"), None),
        Case("brand_isom_cover.m4a", AUD, m4a_with_cover(2.0, cover_jpeg()), None),
        Case("multi_picture.jpg", IMG, mpo_jpeg(images=3), None),
        Case("junk_before_marker.jpg", IMG, jpeg_with_junk_before_marker(), None),
        Case("oriented.png", IMG, with_orientation("PNG"), None),
        Case("oriented.webp", IMG, with_orientation("WEBP"), None),
        Case("link_and_submit_button.pdf", DOC, pdf_page_with(CLICK_SUBMIT), None),
        Case("uri_link.pdf", DOC, pdf_page_with(CLICK_LINK), None),
        Case("jump_to_page_on_open.pdf", DOC, pdf_page_with(CLICK_LINK, JUMP_ON_OPEN), None),
        # Precise reasons: garbage after a signature, cuts and stubs.
        Case("png_signature_garbage.png", IMG, png[:8] + bytes(range(256)) * 8, "corrupt_media"),
        Case("ftyp_only_stub.mp4", VID, mp4[: int.from_bytes(mp4[:4], "big")], "truncated"),
        Case("index_first_cut.mp4", VID, faststart(mp4)[: len(faststart(mp4)) * 2 // 3], "truncated"),
        Case("cut_inside_header.webp", IMG, encode(photo(), "WEBP")[:40], "truncated"),
        # Active content in all its forms.
        Case("embedded_file.pdf", DOC, attachment_pdf(), "active_content"),
        Case("file_attachment.pdf", DOC, pdf_page_with(FILE_ATTACHMENT), "active_content"),
        Case("launch_on_open.pdf", DOC, pdf_page_with(CLICK_LINK, LAUNCH_ON_OPEN), "active_content"),
        Case("submit_on_open.pdf", DOC, pdf_page_with(CLICK_LINK, SUBMIT_ON_OPEN), "active_content"),
        Case("gotor_on_page_open.pdf", DOC, pdf_page_with(CLICK_LINK, GOTOR_ON_PAGE_OPEN), "active_content"),
        Case("rich_media.pdf", DOC, pdf_page_with(RICH_MEDIA), "active_content"),
        Case("xfa_form.pdf", DOC, pdf_page_with(b"<< /Length 0 >>\nstream\n\nendstream", XFA_FORM), "active_content"),
    ]
    return cases
