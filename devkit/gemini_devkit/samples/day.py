"""Realistic sample uploads for a day, generated on the fly (no binaries in git).

Mostly valid product photos (simple drawn products on plain or busy backgrounds, with a sidecar
whose context names the product); about a tenth each of business PDFs, short videos and short
recordings for the other tasks; plus a few of the invalid uploads production sees: empty files,
HTML renamed to .jpg or .pdf, truncated JPEGs and MP4s, tiny images, GIFs renamed .png, an MP4
named .mp3, unsupported extensions, broken sidecars.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw

from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_devkit.samples.media import AUDIO_FORMATS, VIDEO_FORMATS, make_audio, make_pdf, make_video

COLOURS = {
    "red": (200, 30, 40),
    "orange": (240, 140, 20),
    "yellow": (235, 210, 40),
    "green": (40, 150, 60),
    "blue": (30, 70, 200),
    "purple": (120, 50, 160),
    "pink": (240, 130, 180),
    "brown": (120, 75, 35),
    "black": (20, 20, 20),
    "gray": (128, 128, 128),
}
PRODUCTS = [  # (name, category, drawing)
    ("ceramic mug", "kitchenware", "mug"),
    ("cotton t-shirt", "apparel", "shirt"),
    ("smartphone", "electronics", "phone"),
    ("wooden chair", "furniture", "chair"),
    ("apple", "food", "round"),
    ("rubber ball", "toy", "round"),
    ("notebook", "stationery", "book"),
]
UPLOADERS = ["shop-berlin", "shop-lyon", "warehouse-7", "mobile-app"]
IMAGE_TASK = "product_recognition"
ALL_TASKS = "all"  # seed_day(task=ALL_TASKS) / `gemini-assets seed --task all`: every task in one day
# Share of a seeded day per other task (the rest are product photos for the image task).
OTHER_TASK_SHARE = {"document_extraction": 0.1, "video_summary": 0.1, "audio_summary": 0.1}
DOCUMENTS = [  # (document type, title, labelled fields)
    (
        "invoice",
        "Invoice",
        [("Invoice number", "INV-2026-{n:04d}"), ("Date", "2026-11-{d:02d}"), ("Total", "{amount}.00 EUR")],
    ),
    ("receipt", "Receipt", [("Store", "Shop Lyon"), ("Date", "2026-11-{d:02d}"), ("Amount paid", "{amount}.50 EUR")]),
    (
        "letter",
        "Delivery notice",
        [("Order", "ORD-{n:05d}"), ("Carrier", "Parcel Express"), ("Expected", "2026-12-{d:02d}")],
    ),
]


@dataclass(frozen=True)
class Sample:
    """One generated upload and what is true of it, in the task's answer fields.

    ``expected`` names only the facts the generator put in (the product and its colour, the
    document's title and labelled lines, no speech in a clip): free-text fields such as a summary
    have no single right wording and are left out. These are the golden labels of the demo.
    """

    name: str
    data: bytes
    sidecar: dict[str, Any]
    expected: dict[str, Any]


@dataclass(frozen=True)
class SeedSummary:
    valid: int
    invalid: int
    keys: list[str]
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)  # landing key -> Sample.expected


def _draw_product(
    shape: str, colour: tuple[int, int, int], size: tuple[int, int], busy: bool, rng: random.Random
) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size, (245, 245, 245))
    draw = ImageDraw.Draw(image)
    if busy:
        for _ in range(12):
            x, y = rng.randrange(width), rng.randrange(height)
            draw.rectangle(
                [x, y, x + width // 6, y + height // 6], fill=tuple(rng.randrange(150, 230) for _ in range(3))
            )
    cx, cy, s = width // 2, height // 2, min(width, height) // 3
    if shape == "mug":
        draw.rectangle([cx - s // 2, cy - s // 2, cx + s // 2, cy + s // 2], fill=colour)
        draw.arc([cx + s // 3, cy - s // 4, cx + s, cy + s // 4], 270, 90, fill=colour, width=max(2, s // 8))
    elif shape == "shirt":
        draw.polygon(
            [
                (cx - s, cy - s // 2),
                (cx - s // 3, cy - s),
                (cx + s // 3, cy - s),
                (cx + s, cy - s // 2),
                (cx + s // 2, cy - s // 4),
                (cx + s // 2, cy + s),
                (cx - s // 2, cy + s),
                (cx - s // 2, cy - s // 4),
            ],
            fill=colour,
        )
    elif shape == "phone":
        draw.rounded_rectangle([cx - s // 2, cy - s, cx + s // 2, cy + s], radius=s // 6, fill=colour)
        draw.rectangle([cx - s // 2 + 6, cy - s + 12, cx + s // 2 - 6, cy + s - 20], fill=(30, 30, 30))
    elif shape == "chair":
        draw.rectangle([cx - s // 2, cy - s, cx - s // 3, cy + s], fill=colour)
        draw.rectangle([cx - s // 2, cy, cx + s // 2, cy + s // 6], fill=colour)
        draw.rectangle([cx + s // 3, cy, cx + s // 2, cy + s], fill=colour)
    elif shape == "book":
        draw.rectangle([cx - s // 2, cy - s * 2 // 3, cx + s // 2, cy + s * 2 // 3], fill=colour)
        draw.line([cx - s // 2 + 8, cy - s * 2 // 3, cx - s // 2 + 8, cy + s * 2 // 3], fill=(240, 240, 240), width=3)
    else:
        draw.ellipse([cx - s, cy - s, cx + s, cy + s], fill=colour)
    return image


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(
        buffer, format={"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[fmt], **({"quality": 88} if fmt != "png" else {})
    )
    return buffer.getvalue()


def _drawn_colours(colour_name: str, shape: str) -> list[str]:
    """The colours a person would name: the product's, a phone's dark screen, the white backdrop
    (the grey clutter of a busy background is not what the photo is of)."""
    colours = [colour_name] + (["black"] if shape == "phone" else []) + ["white"]
    return list(dict.fromkeys(colours))


def _valid_upload(rng: random.Random, index: int) -> Sample:
    name, category, shape = rng.choice(PRODUCTS)
    colour_name = rng.choice(list(COLOURS))
    size = (rng.choice([480, 640, 800, 1024, 1280]), rng.choice([480, 600, 768, 960]))
    fmt = rng.choice(["jpg", "jpg", "png", "webp"])
    image = _draw_product(shape, COLOURS[colour_name], size, busy=rng.random() < 0.3, rng=rng)
    sidecar = {
        "uploader": rng.choice(UPLOADERS),
        "consent": True,
        "residency": "global",
        "context": f"{colour_name} {name}, listed under {category}",
    }
    expected = {
        "product_name": f"{colour_name} {name}",
        "category": category,
        "dominant_colors": _drawn_colours(colour_name, shape),
    }
    return Sample(f"{name.replace(' ', '_')}_{index:04d}.{fmt}", _encode(image, fmt), sidecar, expected)


def _large_photo(rng: random.Random, index: int) -> Sample:
    # Noise does not compress: a PNG above the inline limit, so the Files API path runs too.
    side = 1400
    noise = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    sidecar = {"uploader": "studio", "consent": True, "context": "high-resolution studio scan"}
    return Sample(f"studio_scan_{index:04d}.png", _encode(noise, "png"), sidecar, {"category": "other"})


def _document_upload(rng: random.Random, index: int) -> Sample:
    kind, title, fields = rng.choice(DOCUMENTS)
    values = {"n": rng.randrange(1, 9999), "d": rng.randrange(1, 28), "amount": rng.randrange(5, 900)}
    labelled = [(label, value.format(**values)) for label, value in fields]
    lines = [title.upper(), ""] + [f"{label}: {value}" for label, value in labelled]
    pages = [lines] + [[f"{title} - page {p + 2}", "Terms and conditions apply."] for p in range(rng.randrange(0, 3))]
    sidecar = {"uploader": rng.choice(UPLOADERS), "consent": True, "residency": "global", "context": f"scanned {kind}"}
    expected = {
        "title": title,
        "document_type": kind,
        "key_fields": [{"name": label, "value": value} for label, value in labelled],
    }
    return Sample(f"{kind}_{index:04d}.pdf", make_pdf(pages, title=title), sidecar, expected)


def _video_upload(rng: random.Random, index: int) -> Sample:
    name, _, _ = rng.choice(PRODUCTS)
    colour_name = rng.choice(list(COLOURS))
    ext = rng.choice(sorted(VIDEO_FORMATS))
    data = make_video(
        ext, seconds=rng.choice([1.0, 2.0, 3.0]), colour=COLOURS[colour_name], with_audio=rng.random() < 0.7
    )
    sidecar = {"uploader": rng.choice(UPLOADERS), "consent": True, "context": f"short clip of a {colour_name} {name}"}
    # A coloured backdrop with a moving square, and a tone at most: no scene of the list, no words.
    return Sample(f"clip_{index:04d}.{ext}", data, sidecar, {"scene_type": "other", "has_speech": False})


def _audio_upload(rng: random.Random, index: int) -> Sample:
    ext = rng.choice(sorted(AUDIO_FORMATS))
    freq = rng.choice([220.0, 330.0, 440.0, 660.0])
    data = make_audio(ext, seconds=rng.choice([1.0, 2.0, 3.0]), freq=freq, seed=index)
    sidecar = {
        "uploader": rng.choice(UPLOADERS),
        "consent": True,
        "context": f"voice memo {index} (test tone {freq:.0f} Hz)",
    }
    # A sine tone under faint noise: not speech, music, noise or silence.
    return Sample(f"memo_{index:04d}.{ext}", data, sidecar, {"audio_type": "other"})


# The generator of valid uploads per task (the golden samples use them too).
SAMPLE_MAKERS: dict[str, Callable[[random.Random, int], Sample]] = {
    IMAGE_TASK: _valid_upload,
    "document_extraction": _document_upload,
    "video_summary": _video_upload,
    "audio_summary": _audio_upload,
}


def _invalid_other_uploads(rng: random.Random) -> list[tuple[str, str, bytes, dict | bytes | None]]:
    """(task, name, bytes, sidecar) of broken documents, videos and recordings."""
    clip = make_video("mp4", seconds=2.0)
    memo = make_audio("mp3", seconds=3.0)
    return [
        (
            "document_extraction",
            "statement.pdf",
            b"<!DOCTYPE html><html><body>bank statement</body></html>",
            {"uploader": "mobile-app", "consent": True},
        ),
        ("video_summary", "interrupted_clip.mp4", clip[: len(clip) // 2], {"uploader": "mobile-app", "consent": True}),
        ("audio_summary", "clip_as_audio.mp3", clip, {"uploader": "shop-lyon", "consent": True}),
        ("audio_summary", "cut_memo.mp3", memo[: len(memo) // 3], {"uploader": "warehouse-7", "consent": True}),
    ]


def _invalid_uploads(rng: random.Random) -> list[tuple[str, bytes, dict | bytes | None]]:
    jpeg = _encode(_draw_product("mug", COLOURS["blue"], (640, 480), False, rng), "jpg")
    gif = io.BytesIO()
    Image.new("P", (64, 64)).save(gif, format="GIF")
    return [
        ("empty_upload.png", b"", {"uploader": "mobile-app", "consent": True}),
        (
            "invoice.jpg",
            b"<!DOCTYPE html><html><body>not an image</body></html>",
            {"uploader": "mobile-app", "consent": True},
        ),
        ("interrupted_upload.jpg", jpeg[: len(jpeg) * 3 // 5], {"uploader": "shop-lyon", "consent": True}),
        (
            "thumbnail.png",
            _encode(Image.new("RGB", (16, 16), (200, 30, 40)), "png"),
            {"uploader": "shop-berlin", "consent": True},
        ),
        ("animation.png", gif.getvalue(), {"uploader": "mobile-app", "consent": True}),
        ("notes.txt", b"remember to photograph the red mug", None),
        ("broken_sidecar.jpg", jpeg, b"{not json"),
    ]


def seed_day(
    store: ObjectStore, day: str, count: int, task: str = IMAGE_TASK, progress: Callable[[int], None] | None = None
) -> SeedSummary:
    """Write ``count`` uploads for ``day`` (about 1 in 12 invalid, at least one when count >= 8).

    Photos go to ``task``. With ``task="all"`` photos go to product_recognition and, from 10
    uploads on, about 10% each go to the document, video and audio tasks as well.
    """
    rng = random.Random(f"{day}-{count}")  # noqa: S311 - reproducible sample data, not security
    mixed = task == ALL_TASKS
    task = IMAGE_TASK if mixed else task
    others = {name: int(count * share) for name, share in OTHER_TASK_SHARE.items()} if mixed and count >= 10 else {}
    invalid = [(task, *upload) for upload in _invalid_uploads(rng)]
    if others:
        invalid += _invalid_other_uploads(rng)
    n_invalid = min(len(invalid), max(1, count // 12)) if count >= 8 else 0
    uploads: list[tuple[str, str, bytes, dict | bytes | None]] = list(rng.sample(invalid, n_invalid))
    samples: list[tuple[str, Sample]] = []
    n_large = 1 if count >= 20 else 0
    samples += [(task, _large_photo(rng, i)) for i in range(n_large)]
    for other, n in others.items():
        samples += [(other, SAMPLE_MAKERS[other](rng, i)) for i in range(n)]
    n_photos = count - len(uploads) - len(samples)
    samples += [(task, _valid_upload(rng, i)) for i in range(n_photos)]
    uploads += [(sample_task, s.name, s.data, s.sidecar) for sample_task, s in samples]
    truths = [None] * n_invalid + [s.expected for _, s in samples]
    keys, labels = [], {}
    for (upload_task, name, data, sidecar), expected in zip(uploads, truths, strict=True):
        folder = f"landing/{day}/{upload_task}/{rng.choice(UPLOADERS)}"
        key = f"{folder}/{name}"
        store.write_bytes(key, data)
        if sidecar is not None:
            store.write_bytes(
                key + ".meta.json", sidecar if isinstance(sidecar, bytes) else json.dumps(sidecar).encode()
            )
        keys.append(key)
        if expected is not None:
            labels[key] = expected
        if progress:
            progress(1)
    return SeedSummary(valid=count - n_invalid, invalid=n_invalid, keys=keys, labels=labels)
