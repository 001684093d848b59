"""Each media kind is accepted with true technical metadata, measured from the bytes."""

import io

import pytest
from PIL import Image

from gemini_assets.core.media.policy import DEFAULT_POLICY
from gemini_assets.core.stages.intake import scan_landing, validate_and_store
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_assets_tests.landing import land
from gemini_devkit.samples.media import make_audio, make_pdf, make_video

DAY = "2026-11-22"


def png(size) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buffer, format="PNG")
    return buffer.getvalue()


CASES = [
    (
        "product_recognition",
        "p.png",
        lambda: png((300, 200)),
        {
            "media_kind": "image",
            "mime_type": "image/png",
            "width": 300,
            "height": 200,
            "frames": 1,
            "duration_s": None,
            "pages": None,
        },
    ),
    (
        "document_extraction",
        "d.pdf",
        lambda: make_pdf([["a"], ["b"], ["c"]]),
        {"media_kind": "document", "mime_type": "application/pdf", "pages": 3, "width": None, "duration_s": None},
    ),
    (
        "video_summary",
        "v.mp4",
        lambda: make_video("mp4", seconds=2.0, size=(176, 144), fps=10),
        {
            "media_kind": "video",
            "mime_type": "video/mp4",
            "width": 176,
            "height": 144,
            "frames": 20,
            "duration_s": pytest.approx(2.0, abs=0.05),
            "codecs": "h264,aac",
            "sample_rate": 48000,
            "channels": 1,
        },
    ),
    (
        "video_summary",
        "v.webm",
        lambda: make_video("webm", seconds=1.0),
        {
            "media_kind": "video",
            "mime_type": "video/webm",
            "width": 160,
            "height": 120,
            "frames": 10,
            "codecs": "vp9,opus",
        },
    ),
    (
        "video_summary",
        "v.mov",
        lambda: make_video("mov", seconds=1.0, with_audio=False),
        {"media_kind": "video", "mime_type": "video/mov", "codecs": "h264", "sample_rate": None, "channels": None},
    ),
    *[
        (
            "audio_summary",
            f"a.{ext}",
            (lambda ext=ext: make_audio(ext, seconds=2.0)),
            {
                "media_kind": "audio",
                "mime_type": mime,
                "codecs": codec,
                "duration_s": pytest.approx(2.0, abs=0.15),  # AAC adds priming frames
                "sample_rate": rate,
                "channels": 1,
                "width": None,
                "frames": None,
            },
        )
        for ext, mime, codec, rate in [
            ("wav", "audio/wav", "pcm_s16le", 16000),
            ("mp3", "audio/mp3", "mp3", 22050),
            ("ogg", "audio/ogg", "opus", 48000),
            ("flac", "audio/flac", "flac", 16000),
            ("aac", "audio/aac", "aac", 16000),
            ("m4a", "audio/mp4", "aac", 16000),
        ]
    ],
]


@pytest.mark.parametrize("task,name,make,expected", CASES, ids=[c[1] for c in CASES])
def test_kind_is_accepted_with_its_metadata(store, task, name, make, expected):
    data = make()
    land(store, f"landing/{DAY}/{task}/u/{name}", data)
    (row,) = scan_landing(store, DAY)
    result = validate_and_store(store, row, DAY, DEFAULT_POLICY, TaskCatalog())
    assert result.accepted, result.quarantined
    accepted = result.accepted
    assert {k: getattr(accepted, k) for k in expected} == expected
    assert accepted.size_bytes == len(data) and store.read_bytes(accepted.storage_key) == data
    assert accepted.storage_key == f"media/{row.sha256[:2]}/{row.sha256}.{name.rsplit('.', 1)[1]}"
    if accepted.media_kind in ("audio", "video"):
        assert accepted.bitrate > 0
