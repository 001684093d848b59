"""Schema filling and media facts, exercised directly on request bodies (no server needed)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from gemini_devkit.emulator.answers import fill_schema, product_phrase
from gemini_devkit.emulator.errors import ApiError
from gemini_devkit.emulator.generate import answer_text
from gemini_devkit.emulator.prompt import Prompt, parse_prompt
from gemini_devkit.emulator.state import StateStore
from gemini_devkit.samples.media import make_png


def _prompt(tmp_path: Path, png: bytes, *texts: str) -> Prompt:
    parts = [{"inlineData": {"data": base64.urlsafe_b64encode(png).decode(), "mime_type": "image/png"}}]
    parts += [{"text": t} for t in texts]
    return parse_prompt(StateStore(tmp_path), {"contents": [{"role": "user", "parts": parts}]})


def test_image_facts(tmp_path: Path) -> None:
    prompt = _prompt(tmp_path, make_png((200, 200), (20, 160, 50), white_share=0.3))
    image = prompt.first_image
    assert (image.width, image.height, image.format, image.orientation) == (200, 200, "PNG", "square")
    assert image.colors == ["green", "white"] and image.brightness == "medium"


def test_json_schema_with_defs_refs_optional_and_bounds(tmp_path: Path) -> None:
    schema = {
        "$defs": {
            "Shade": {"enum": ["grey", "red", "other"], "type": "string"},
            "Dims": {"type": "object", "properties": {"width": {"type": "integer"}, "height": {"type": "integer"}}},
        },
        "type": "object",
        "properties": {
            "palette_colors": {"type": "array", "items": {"$ref": "#/$defs/Shade"}, "minItems": 2, "maxItems": 2},
            "dims": {"anyOf": [{"$ref": "#/$defs/Dims"}, {"type": "null"}]},
            "caption": {"type": "string", "maxLength": 12},
            "title": {"type": "string"},
            "score": {"type": "integer", "minimum": 3, "maximum": 9},
            "in_stock": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["palette_colors"],
    }
    prompt = _prompt(tmp_path, make_png((640, 480)), "Context: Nordic wool blanket; 2 pieces")
    answer = fill_schema(prompt, schema)
    assert answer == {
        "palette_colors": ["red", "grey"],
        "dims": {"width": 640, "height": 480},
        "caption": "A 640x480 la",
        "title": "red Nordic wool blanket",
        "score": 3,
        "in_stock": False,
        "tags": ["red landscape image"],
    }
    assert fill_schema(prompt, schema) == answer  # deterministic


def test_openapi_schema_ordering_and_nullable(tmp_path: Path) -> None:
    schema = {
        "type": "OBJECT",
        "properties": {
            "confidence": {"type": "NUMBER", "minimum": 0.0, "maximum": 1.0},
            "kind": {"type": "STRING", "enum": ["video", "image"]},
            "note": {"type": "STRING", "nullable": True},
            "main_colour": {"type": "STRING"},
        },
        "property_ordering": ["main_colour", "kind", "note", "confidence"],
    }
    answer = fill_schema(_prompt(tmp_path, make_png(), "x"), schema)
    assert list(answer) == ["main_colour", "kind", "note", "confidence"]
    assert answer == {"main_colour": "red", "kind": "image", "note": "red landscape image", "confidence": 0.6}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"responseMimeType": "text/x.enum", "responseSchema": {"type": "STRING", "enum": ["a", "red"]}}, "red"),
        (
            {"response_mime_type": "application/json"},
            json.dumps({"description": "A 64x64 square PNG image, mostly red, medium brightness."}),
        ),
        ({}, "A 64x64 square PNG image, mostly red, medium brightness."),
    ],
)
def test_answer_modes(tmp_path: Path, config: dict, expected: str) -> None:
    assert answer_text(_prompt(tmp_path, make_png((64, 64), white_share=0)), config) == expected


def test_product_phrase_without_context(tmp_path: Path) -> None:
    assert product_phrase(_prompt(tmp_path, make_png(), "no context here")) == "unidentified item"


def test_bad_inline_data_is_invalid_argument(tmp_path: Path) -> None:
    with pytest.raises(ApiError) as bad_base64:
        parse_prompt(
            StateStore(tmp_path), {"contents": [{"parts": [{"inlineData": {"data": "***", "mimeType": "image/png"}}]}]}
        )
    assert bad_base64.value.status == "INVALID_ARGUMENT"
    with pytest.raises(ApiError) as not_an_image:
        _prompt(tmp_path, b"not a png")
    assert not_an_image.value.code == 400
