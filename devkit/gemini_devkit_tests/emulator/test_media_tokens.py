"""Audio, video and PDF parts: token counts follow the documented rules, answers state true facts."""

import io
import math

import pytest
from google.genai import types

from gemini_devkit.samples.media import make_audio, make_pdf, make_video

GEMINI_3 = "gemini-3.8-flash"
LEGACY = "gemini-2.5-flash"
PROMPT = "Summarise."


def details(response) -> dict[str, int]:
    return {d.modality.value: d.token_count for d in response.usage_metadata.prompt_tokens_details}


@pytest.mark.parametrize("ext,mime", [("wav", "audio/wav"), ("mp3", "audio/mp3"), ("flac", "audio/flac")])
def test_audio_is_32_tokens_per_second(client, ext, mime):
    data = make_audio(ext, seconds=3.0)
    response = client.models.generate_content(
        model=GEMINI_3, contents=[types.Part.from_bytes(data=data, mime_type=mime), PROMPT]
    )
    audio = details(response)["AUDIO"]
    assert 3 * 32 <= audio <= math.ceil(3.2 * 32)  # encoder padding adds a few ms
    assert "3.0-second" in response.text or "3.1-second" in response.text
    assert "mono" in response.text


def test_video_is_258_per_frame_at_1_fps_plus_its_audio(client):
    data = make_video("mp4", seconds=3.0, size=(176, 144), fps=10)
    response = client.models.generate_content(
        model=GEMINI_3, contents=[types.Part.from_bytes(data=data, mime_type="video/mp4"), PROMPT]
    )
    counts = details(response)
    assert counts["VIDEO"] == 3 * 258
    assert 3 * 32 <= counts["AUDIO"] <= math.ceil(3.1 * 32)
    assert "176x144 h264 video" in response.text and "aac audio" in response.text
    silent = make_video("webm", seconds=2.0, with_audio=False)
    response = client.models.generate_content(
        model=GEMINI_3, contents=[types.Part.from_bytes(data=silent, mime_type="video/webm"), PROMPT]
    )
    assert details(response) == {"TEXT": math.ceil(len(PROMPT) / 4), "VIDEO": 2 * 258}
    assert "no audio track" in response.text


@pytest.mark.parametrize(
    "model,resolution,per_page",
    [(LEGACY, None, 258), (GEMINI_3, None, 560), (GEMINI_3, types.MediaResolution.MEDIA_RESOLUTION_LOW, 280)],
)
def test_pdf_pages_follow_the_model_and_media_resolution(client, model, resolution, per_page):
    pdf = make_pdf([["INVOICE", "Total: 12.00 EUR"], ["terms"], ["signature"]], title="Invoice 7")
    part = types.Part.from_bytes(data=pdf, mime_type="application/pdf")
    response = client.models.generate_content(
        model=model, contents=[part, PROMPT], config=types.GenerateContentConfig(media_resolution=resolution)
    )
    assert details(response)["DOCUMENT"] == 3 * per_page
    assert "3 pages" in response.text and "Invoice 7" in response.text and "INVOICE" in response.text


def test_uploaded_video_is_measured_from_the_stored_file(client):
    data = make_video("mov", seconds=2.0)
    uploaded = client.files.upload(file=io.BytesIO(data), config={"mime_type": "video/mov"})
    part = types.Part.from_uri(file_uri=uploaded.uri, mime_type="video/mov")
    counted = client.models.count_tokens(model=GEMINI_3, contents=[part])
    assert counted.total_tokens >= 2 * 258 + 2 * 32


def test_undecodable_audio_is_invalid_argument(client):
    from google.genai import errors

    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(
            model=GEMINI_3, contents=[types.Part.from_bytes(data=b"not audio", mime_type="audio/wav"), PROMPT]
        )
    assert caught.value.code == 400
