"""The emulator driven by the real google-genai SDK over real HTTP (no mocks)."""

from __future__ import annotations

import enum
import hashlib
import io
import json
import math
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest
from google.genai import errors, types
from pydantic import BaseModel, Field

from gemini_devkit.emulator import read_served_log, start_emulator
from gemini_devkit.samples.media import make_png

from .conftest import make_client, raw_request

MODEL = "gemini-3.8-flash"


class Color(enum.StrEnum):
    red = "red"
    green = "green"
    blue = "blue"
    white = "white"
    gray = "gray"
    other = "other"


class Product(BaseModel):
    colors: list[Color] = Field(min_length=1, max_length=3)
    shade: Literal["red", "green", "blue", "other"]
    description: str
    confidence: float = Field(ge=0, le=1)
    product_name: str | None = None
    width: int


def _json_config(**kwargs) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(response_mime_type="application/json", **kwargs)


# ---- generateContent ------------------------------------------------------------------------


def _check_red_product(text: str) -> Product:
    product = Product.model_validate_json(text)
    assert product.colors[0] == Color.red and product.shade == "red"
    assert "640x480" in product.description and product.width == 640
    assert 0 <= product.confidence <= 1 and product.product_name == "red Acme trail shoe"
    return product


@pytest.mark.parametrize("schema_kind", ["json_schema", "openapi", "file_uri"])
def test_structured_answer_is_true_to_the_image(client, schema_kind: str) -> None:
    png = make_png()
    media = types.Part.from_bytes(data=png, mime_type="image/png")
    config = _json_config(response_json_schema=Product.model_json_schema())
    if schema_kind == "openapi":
        config = _json_config(response_schema=Product)
    if schema_kind == "file_uri":
        uploaded = client.files.upload(file=io.BytesIO(png), config={"mime_type": "image/png"})
        media = types.Part.from_uri(file_uri=uploaded.uri, mime_type=uploaded.mime_type)
    prompt = "Context: Acme trail shoe, size 42\nDescribe the product."
    response = client.models.generate_content(model=MODEL, contents=[media, prompt], config=config)
    _check_red_product(response.text)
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.model_version == MODEL and response.response_id
    again = client.models.generate_content(model=MODEL, contents=[media, prompt], config=config)
    assert again.text == response.text  # deterministic for the same inputs


def test_enum_from_text_raises_confidence(client) -> None:
    class Category(BaseModel):
        category: Literal["bags", "shoes", "other"]
        confidence: float = Field(ge=0, le=1)

    config = _json_config(response_json_schema=Category.model_json_schema())
    media = types.Part.from_bytes(data=make_png(), mime_type="image/png")
    hinted = client.models.generate_content(model=MODEL, contents=[media, "Context: running shoes"], config=config)
    assert Category.model_validate_json(hinted.text) == Category(category="shoes", confidence=0.9)
    plain = client.models.generate_content(model=MODEL, contents=[media, "Classify."], config=config)
    assert Category.model_validate_json(plain.text) == Category(category="other", confidence=0.6)


def test_plain_text_answer_describes_media(client) -> None:
    media = types.Part.from_bytes(data=make_png((300, 600), (20, 40, 220), white_share=0.3), mime_type="image/png")
    response = client.models.generate_content(model=MODEL, contents=[media, "What is this?"])
    assert response.text == "A 300x600 portrait PNG image, mostly blue and white, medium brightness."


# ---- tokens ---------------------------------------------------------------------------------


def _details(usage) -> dict[str, int]:
    return {d.modality.value: d.token_count for d in usage.prompt_tokens_details}


@pytest.mark.parametrize(
    ("model", "size", "resolution", "image_tokens"),
    [
        (MODEL, (640, 480), None, 1120),
        (MODEL, (640, 480), types.MediaResolution.MEDIA_RESOLUTION_LOW, 280),
        ("gemini-2.5-flash", (1000, 500), None, 2 * 1 * 258),
        ("gemini-2.5-flash", (300, 200), None, 258),
    ],
)
def test_usage_metadata(client, model, size, resolution, image_tokens) -> None:
    prompt = "Describe this picture in one sentence, please."
    contents = [types.Part.from_bytes(data=make_png(size), mime_type="image/png"), prompt]
    response = client.models.generate_content(
        model=model, contents=contents, config=types.GenerateContentConfig(media_resolution=resolution)
    )
    usage = response.usage_metadata
    assert _details(usage) == {"TEXT": math.ceil(len(prompt) / 4), "IMAGE": image_tokens}
    assert usage.prompt_token_count == math.ceil(len(prompt) / 4) + image_tokens
    assert usage.candidates_token_count == math.ceil(len(response.text) / 4)
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count
    if resolution is None:
        counted = client.models.count_tokens(model=model, contents=contents)
        assert counted.total_tokens == usage.prompt_token_count


def test_max_output_tokens_truncates(client) -> None:
    media = types.Part.from_bytes(data=make_png(), mime_type="image/png")
    config = _json_config(response_json_schema=Product.model_json_schema(), max_output_tokens=5)
    response = client.models.generate_content(model=MODEL, contents=[media, "Describe"], config=config)
    assert response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert len(response.text) == 20 and response.usage_metadata.candidates_token_count == 5
    assert response.parsed is None


# ---- errors, served log, shared state, entry point --------------------------------------------


def test_error_bodies(emulator) -> None:
    url = f"{emulator.url}/v1beta/models/{MODEL}:generateContent"
    status, headers, body = raw_request(url, "POST", b"{}", {"Content-Type": "application/json"})
    assert status == 403 and json.loads(body)["error"]["status"] == "PERMISSION_DENIED"
    assert headers["Content-Type"].startswith("application/json")
    status, _, body = raw_request(f"{emulator.url}/v1beta/nothing/here", headers={"x-goog-api-key": "k"})
    assert status == 404 and json.loads(body)["error"] == {
        "code": 404,
        "message": json.loads(body)["error"]["message"],
        "status": "NOT_FOUND",
        "details": [],
    }
    status, _, body = raw_request(url, "POST", b"{not json", {"x-goog-api-key": "k"})
    assert status == 400 and json.loads(body)["error"]["status"] == "INVALID_ARGUMENT"


def test_served_log_matches_what_clients_received(client, emulator) -> None:
    png = make_png()
    contents = [types.Part.from_bytes(data=png, mime_type="image/png"), "Describe"]
    generated = client.models.generate_content(model=MODEL, contents=contents)
    counted = client.models.count_tokens(model=MODEL, contents=contents)
    with pytest.raises(errors.ClientError):
        client.models.generate_content(
            model=MODEL, contents=[types.Part.from_uri(file_uri="files/nope", mime_type="image/png")]
        )
    log = read_served_log(emulator.state_dir)
    assert [(e["method"], e["status"]) for e in log] == [
        ("generateContent", 200),
        ("countTokens", 200),
        ("generateContent", 403),
    ]
    first = log[0]
    assert first["model"] == MODEL and first["response_id"] == generated.response_id
    assert first["usage"] == generated.usage_metadata.model_dump(mode="json", exclude_none=True, by_alias=True)
    assert first["media"] == [
        {"source": "inline", "mime_type": "image/png", "bytes": len(png), "sha256": hashlib.sha256(png).hexdigest()}
    ]
    assert log[1]["usage"]["totalTokens"] == counted.total_tokens
    assert "test-key" not in (emulator.state_dir / "served.jsonl").read_text()


def test_two_emulators_share_state(emulator, tmp_path: Path) -> None:
    second = start_emulator(emulator.state_dir)
    try:
        with make_client(emulator.url) as first_client, make_client(second.url + "/some/prefix/") as second_client:
            uploaded = second_client.files.upload(file=io.BytesIO(make_png()), config={"mime_type": "image/png"})
            assert first_client.files.get(name=uploaded.name).sha256_hash == uploaded.sha256_hash
            media = types.Part.from_uri(file_uri=uploaded.uri, mime_type="image/png")
            first_client.models.generate_content(model=MODEL, contents=[media, "Describe"])
            second_client.models.count_tokens(model=MODEL, contents=[media, "Describe"])
        assert [e["method"] for e in read_served_log(emulator.state_dir)] == ["generateContent", "countTokens"]
    finally:
        second.stop()


def test_unexpected_error_is_500_and_server_keeps_serving(client, emulator) -> None:
    # A resource document missing its fields (hand-edited state) must not drop the connection.
    (emulator.state_dir / "files" / "broken1.json").write_text("{}")
    with pytest.raises(errors.ServerError) as failed:
        client.files.get(name="files/broken1")
    assert failed.value.code == 500 and failed.value.status == "INTERNAL"
    (emulator.state_dir / "files" / "broken1.json").unlink()
    assert list(client.files.list()) == []


def test_module_entry_point_serves_until_interrupted(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "gemini_devkit.emulator", "--port", "0", "--state-dir", str(tmp_path / "s")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        line = process.stdout.readline()
        match = re.match(r"Gemini emulator listening on (http://127\.0\.0\.1:(\d+)) \(state: (.+)\)$", line.strip())
        assert match, line
        assert match.group(3) == str(tmp_path / "s")
        with make_client(match.group(1)) as sdk_client:
            assert list(sdk_client.files.list()) == []
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_stop_closes_kept_alive_connections(tmp_path: Path) -> None:
    handle = start_emulator(tmp_path / "s")
    with make_client(handle.url) as sdk_client:
        assert list(sdk_client.files.list()) == []  # opens a pooled keep-alive connection
        handle.stop()
        with pytest.raises(Exception) as failure:
            sdk_client.files.list()
        assert not isinstance(failure.value, errors.APIError)  # a transport error, not an answer
