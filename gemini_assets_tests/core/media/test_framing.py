"""Pure helpers behind the real-world verdicts: sniffing past ID3 tags, MP4 family members by
extension, box framing that tells a cut from a malformed file, and plain error details."""

from __future__ import annotations

import io

import pytest

from gemini_assets.core.media.audio_video import cut_box
from gemini_assets.core.media.messages import plain, relative_to_root
from gemini_assets.core.media.policy import DEFAULT_POLICY
from gemini_assets.core.media.sniff import id3v2_length, signature_mime, sniff_stream
from gemini_devkit.samples.media import make_audio, make_video
from gemini_devkit.samples.realistic import cover_jpeg, id3v23_cover_tag, m4a_with_brand, mp3_with_cover

SNIFF = DEFAULT_POLICY.probe.sniff_bytes


@pytest.mark.parametrize("side", [32, 160, 600])  # noisy covers: ~1 KB, ~24 KB, ~300 KB
def test_an_mp3_behind_a_cover_art_tag_of_any_size_sniffs_as_mp3(side):
    data = mp3_with_cover(seconds=1.0, side=side)
    sniffed = sniff_stream(io.BytesIO(data), SNIFF)
    assert sniffed.mime == "audio/mp3" and sniffed.offset == id3v2_length(data) > 0
    assert (sniffed.offset > SNIFF) == (side > 32)  # the audio starts beyond what libmagic is shown


def test_an_id3_tag_in_front_of_something_else_is_not_taken_for_mp3():
    tagged_png = id3v23_cover_tag(cover_jpeg(32)) + b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    assert sniff_stream(io.BytesIO(tagged_png), SNIFF).mime != "audio/mp3"
    assert id3v2_length(b"ID3\x03\x00\x00\x80\x00\x00\x00") is None  # not syncsafe: not a tag


@pytest.mark.parametrize("brand", [b"mp42", b"isom", b"M4A "])
def test_the_mp4_family_member_follows_the_extension_and_the_parser_checks_the_tracks(brand):
    data = m4a_with_brand(1.0, brand)
    mime = sniff_stream(io.BytesIO(data), SNIFF).mime
    assert DEFAULT_POLICY.container_member(mime, "m4a") == "audio/mp4"
    assert DEFAULT_POLICY.container_member(mime, "mp4") == "video/mp4"
    assert DEFAULT_POLICY.container_member(mime, "mov") == "video/mov"


def test_signatures_name_only_formats_we_parse():
    assert signature_mime(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic") is None  # HEIF stills
    assert signature_mime(b"\x00\x00\x00\x18ftypmp42") == "video/mp4"
    assert signature_mime(b"\x89PNG\r\n\x1a\n garbage") == "image/png"
    assert signature_mime(b"GIF89a") is None


def test_box_framing_tells_a_cut_or_a_stub_from_a_whole_or_malformed_file():
    mp4 = make_video("mp4", seconds=1.0)
    assert cut_box(io.BytesIO(mp4)) is None
    assert cut_box(io.BytesIO(mp4 + b"\0" * 5)) is None  # a few stray bytes are not a box
    assert "cut short" in (cut_box(io.BytesIO(mp4[: len(mp4) - 100])) or "")
    ftyp = mp4[: int.from_bytes(mp4[:4], "big")]
    assert "no movie index" in (cut_box(io.BytesIO(ftyp)) or "")
    assert cut_box(io.BytesIO(mp4[:8] + b"\x00\x00\x00\x10\x01\x02\x03\x04" + b"\0" * 64)) is None  # not a 4CC
    m4a = make_audio("m4a", seconds=1.0)
    assert cut_box(io.BytesIO(m4a)) is None


@pytest.mark.parametrize(
    "error, shown",
    [
        (OSError(5, "Input/output error", "<none>"), "Input/output error"),
        (
            ValueError("[Errno 1094995529] Invalid data found when processing input: '/srv/store/landing/a b.mp4'"),
            "Invalid data found when processing input",
        ),
        (ValueError("cannot read /srv/store/landing/x.pdf now"), "cannot read now"),
        (ValueError("a 3/4 ratio stays"), "a 3/4 ratio stays"),
        (KeyError(), "no detail from the parser"),
    ],
)
def test_plain_details_have_no_paths_errno_or_exception_names(error, shown):
    assert plain(error) == shown


def test_diagnostics_name_keys_relative_to_the_storage_root():
    text = "OSError: [Errno 5] '/srv/store/landing/2026-11-01/t/u/a.mp4'"
    assert relative_to_root(text, "/srv/store") == "OSError: [Errno 5] 'landing/2026-11-01/t/u/a.mp4'"
    assert relative_to_root(None, "/srv/store") is None
