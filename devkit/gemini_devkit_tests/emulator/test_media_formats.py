"""Audio and video are opened with the demuxer their declared MIME type names, never by guessing.

An upload is stored as `<id>.bin`; the type recorded at upload (or an inline part's mimeType) says
what it is, as on the real API. Cover art (ID3 APIC, MP4 covr) is an attached picture, not video.
"""

from __future__ import annotations

import io
import re

import av
import pytest
from google.genai import types

from gemini_devkit.emulator.media import analyze_stream, demuxer_for
from gemini_devkit.samples.media import make_audio
from gemini_devkit.samples.realistic import cover_jpeg, id3v23_cover_tag, m4a_with_brand, m4a_with_cover, without_id3

MODEL = "gemini-3.8-flash"
PROMPT = "Summarise."


def stated_seconds(text: str, what: str) -> str:
    """The duration the answer states, as written ("2.1"): one decimal, never an error."""
    match = re.search(rf"A (\d+\.\d)-second {what}", text)
    assert match, f"no '{what}' duration in {text!r}"
    return match.group(1)


def modalities(response) -> dict[str, int]:
    return {d.modality.value: d.token_count for d in response.usage_metadata.prompt_tokens_details}


def test_mp3_with_cover_art_in_a_large_id3_tag_is_audio_by_uri(client):
    tag = id3v23_cover_tag(cover_jpeg())
    assert len(tag) > 16 * 1024
    data = tag + without_id3(make_audio("mp3", seconds=2.0))
    with av.open(io.BytesIO(data), format="mp3") as probe:  # the fixture really carries cover art
        assert any(s.disposition & av.stream.Disposition.attached_pic for s in probe.streams.video)

    uploaded = client.files.upload(file=io.BytesIO(data), config={"mime_type": "audio/mpeg"})
    assert uploaded.mime_type == "audio/mpeg"
    part = types.Part.from_uri(file_uri=uploaded.uri, mime_type=uploaded.mime_type)
    response = client.models.generate_content(model=MODEL, contents=[part, PROMPT])

    text = response.text
    assert stated_seconds(text, "mp3 audio recording") in ("2.0", "2.1")  # encoder padding adds ~64 ms
    assert "22050 Hz, mono" in text and "video" not in text
    counts = modalities(response)
    assert "VIDEO" not in counts and "IMAGE" not in counts
    assert 2 * 32 <= counts["AUDIO"] <= 2.1 * 32


@pytest.mark.parametrize(
    "brand,cover,mime",
    [(b"mp42", False, "audio/mp4"), (b"isom", False, "audio/x-m4a"), (b"isom", True, "audio/mp4")],
)
def test_inline_m4a_is_measured_as_aac_audio(client, brand, cover, mime):
    data = m4a_with_cover(2.0, cover_jpeg()) if cover else m4a_with_brand(2.0, brand)
    assert data[4:12] == b"ftyp" + brand

    response = client.models.generate_content(
        model=MODEL, contents=[types.Part.from_bytes(data=data, mime_type=mime), PROMPT]
    )

    text = response.text
    assert stated_seconds(text, "aac audio recording") in ("2.0", "2.1")  # AAC priming adds ~64 ms
    assert "16000 Hz, mono" in text and "video" not in text
    assert set(modalities(response)) == {"TEXT", "AUDIO"}


def test_short_adts_aac_upload_is_opened_as_aac_not_guessed(client):
    # Two ADTS frames are too few for FFmpeg's probe to name the format; the recorded type does.
    data = make_audio("aac", seconds=0.05)
    uploaded = client.files.upload(file=io.BytesIO(data), config={"mime_type": "audio/aac"})
    part = types.Part.from_uri(file_uri=uploaded.uri, mime_type="audio/aac")
    response = client.models.generate_content(model=MODEL, contents=[part, PROMPT])
    assert stated_seconds(response.text, "aac audio recording") in ("0.1", "0.2")  # two 64 ms frames


@pytest.mark.parametrize(
    "mime,demuxer",
    [
        ("audio/mp3", "mp3"),
        ("audio/mpeg", "mp3"),
        ("audio/wav", "wav"),
        ("audio/ogg; codecs=opus", "ogg"),
        ("audio/flac", "flac"),
        ("audio/aac", "aac"),
        ("audio/mp4", "mov"),
        ("audio/x-m4a", "mov"),
        ("video/mp4", "mov"),
        ("video/mov", "mov"),
        ("Video/QuickTime", "mov"),
        ("video/webm", "matroska"),
        ("audio/x-unheard-of", None),
    ],
)
def test_demuxer_follows_the_mime_type(mime, demuxer):
    assert demuxer_for(mime) == demuxer


def test_unknown_mime_type_falls_back_to_ffmpeg_probing():
    facts = analyze_stream(make_audio("flac", seconds=1.0), "audio", "audio/x-unheard-of")
    assert facts.container == "flac" and facts.audio_codec == "flac"
