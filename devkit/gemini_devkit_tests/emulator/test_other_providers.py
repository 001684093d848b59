"""OpenAI Chat Completions and Anthropic Messages on the emulator, driven by the real SDKs over HTTP."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Literal

import anthropic
import openai
import pytest
from google.genai import errors as genai_errors
from pydantic import BaseModel, ConfigDict

from gemini_devkit.emulator import EmulatorHandle, read_served_log
from gemini_devkit.emulator.knobs import Knobs
from gemini_devkit.emulator.providers import go_duration
from gemini_devkit.samples.media import make_pdf, make_png
from gemini_devkit_tests.emulator.conftest import make_client, raw_request

GPT = "gpt-5.5"
CLAUDE = "claude-opus-4-7"
PNG = make_png((640, 480), (40, 80, 210))  # blue, landscape
PNG_B64 = base64.b64encode(PNG).decode()
PDF_B64 = base64.b64encode(make_pdf([["Spring catalogue"], ["Prices"]], title="Catalogue")).decode()


class Asset(BaseModel):
    model_config = ConfigDict(extra="forbid")  # the answer must fit the schema exactly
    description: str
    dominant_color: Literal["red", "green", "blue", "other"]
    width: int
    tags: list[str]


ASSET_SCHEMA = {
    "type": "object",
    "properties": {
        "description": {"type": "string"},
        "dominant_color": {"type": "string", "enum": ["red", "green", "blue", "other"]},
        "width": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["description", "dominant_color", "width", "tags"],
    "additionalProperties": False,
}
STRICT_FORMAT = {"type": "json_schema", "json_schema": {"name": "asset", "schema": ASSET_SCHEMA, "strict": True}}


@pytest.fixture(autouse=True)
def _no_sdk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # *_BASE_URL / *_CUSTOM_HEADERS in the environment would silently redirect or change the calls.
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "ANTHROPIC_")):
            monkeypatch.delenv(name)


@pytest.fixture
def gpt(emulator: EmulatorHandle) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key="x", base_url=f"{emulator.url}/v1", max_retries=0) as client:
        yield client


@pytest.fixture
def claude(emulator: EmulatorHandle) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key="x", base_url=emulator.url, max_retries=0) as client:
        yield client


def image_part() -> dict:
    return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}}


def image_block() -> dict:
    return {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}}


def ask_gpt(client: openai.OpenAI, **overrides):
    request = {
        "model": GPT,
        "messages": [
            {"role": "system", "content": "Describe product photos."},
            {"role": "user", "content": [{"type": "text", "text": "Describe this."}, image_part()]},
        ],
        "response_format": STRICT_FORMAT,
        "max_completion_tokens": 1000,
    }
    return client.chat.completions.with_raw_response.create(**{**request, **overrides})


def ask_claude(client: anthropic.Anthropic, **overrides):
    request = {
        "model": CLAUDE,
        "max_tokens": 1000,
        "system": "Describe product photos.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Describe this."}, image_block()]}],
        "output_config": {"format": {"type": "json_schema", "schema": ASSET_SCHEMA}},
    }
    return client.messages.with_raw_response.create(**{**request, **overrides})


def served(emulator: EmulatorHandle, provider: str) -> list[dict]:
    return [line for line in read_served_log(emulator.state_dir) if line.get("provider") == provider]


# ---- OpenAI ---------------------------------------------------------------------------------


def test_openai_structured_output_from_an_image_with_headers_and_served_usage(emulator, gpt):
    emulator.set_knobs(rpm=50, tpm=100_000)
    raw = ask_gpt(gpt)
    completion = raw.parse()
    choice = completion.choices[0]
    asset = Asset.model_validate_json(choice.message.content)
    assert asset.dominant_color == "blue" and asset.width == 640 and "640x480" in asset.description
    assert choice.finish_reason == "stop" and choice.message.refusal is None
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")

    usage = completion.usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details.cached_tokens == 0 and usage.completion_tokens_details.reasoning_tokens == 0
    headers = raw.headers
    assert headers["x-ratelimit-limit-requests"] == "50" and headers["x-ratelimit-remaining-requests"] == "49"
    assert headers["x-ratelimit-limit-tokens"] == "100000"
    assert int(headers["x-ratelimit-remaining-tokens"]) == 100_000 - usage.prompt_tokens
    assert headers["x-ratelimit-reset-requests"].endswith("s") and headers["x-request-id"].startswith("req_")

    [line] = served(emulator, "openai")
    assert line["method"] == "chat.completions" and line["model"] == GPT and line["status"] == 200
    assert line["usage"]["promptTokenCount"] == usage.prompt_tokens
    assert line["usage"]["candidatesTokenCount"] == usage.completion_tokens
    assert line["wire_usage"] == usage.model_dump(exclude_none=True)
    assert line["finish_reason"] == "stop" and line["response_id"] == completion.id
    assert line["media"][0]["mime_type"] == "image/png"


def test_openai_parse_with_a_pydantic_model_and_a_pdf(emulator, gpt):
    pdf = {"type": "file", "file": {"filename": "catalogue.pdf", "file_data": f"data:application/pdf;base64,{PDF_B64}"}}
    completion = gpt.chat.completions.parse(
        model=GPT,
        messages=[{"role": "user", "content": [{"type": "text", "text": "Summarise."}, pdf]}],
        response_format=Asset,  # the SDK sends its own strict schema; the emulator must accept it
    )
    asset = completion.choices[0].message.parsed
    assert asset is not None and "2 pages PDF document titled 'Catalogue'" in asset.description
    assert served(emulator, "openai")[0]["media"][0]["mime_type"] == "application/pdf"


def test_openai_rejects_what_gpt5_and_strict_mode_reject(gpt):
    with pytest.raises(openai.BadRequestError) as caught:
        ask_gpt(gpt, max_tokens=100, max_completion_tokens=openai.omit)
    assert caught.value.body["param"] == "max_tokens" and caught.value.body["code"] == "unsupported_parameter"
    with pytest.raises(openai.BadRequestError) as caught:
        ask_gpt(gpt, temperature=0.2)
    assert caught.value.body["param"] == "temperature"
    loose = {**ASSET_SCHEMA, "additionalProperties": True}
    with pytest.raises(openai.BadRequestError) as caught:
        ask_gpt(
            gpt, response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": loose, "strict": True}}
        )
    assert "additionalProperties" in caught.value.message
    audio = {"type": "input_audio", "input_audio": {"data": PNG_B64, "format": "wav"}}
    with pytest.raises(openai.BadRequestError) as caught:
        ask_gpt(gpt, messages=[{"role": "user", "content": [audio]}])
    assert caught.value.body["param"] == "messages[0].content[0].type"
    # Older models still take max_tokens and a temperature.
    assert ask_gpt(gpt, model="gpt-4.1", max_tokens=100, max_completion_tokens=openai.omit, temperature=0.2).parse()


def test_openai_needs_a_bearer_key(emulator):
    body = json.dumps({"model": GPT, "messages": [{"role": "user", "content": "hi"}]}).encode()
    status, headers, raw = raw_request(f"{emulator.url}/v1/chat/completions", "POST", body)
    error = json.loads(raw)["error"]
    assert status == 401 and error["type"] == "invalid_request_error" and "Bearer" in error["message"]
    assert "x-request-id" in {k.lower() for k in headers}
    assert served(emulator, "openai") == []  # refused before reading, like keyless Gemini calls


def test_openai_429_from_the_rpm_window_carries_retry_after(emulator, gpt):
    emulator.set_knobs(rpm=1, minute_s=5.0)
    ask_gpt(gpt)
    with pytest.raises(openai.RateLimitError) as caught:
        ask_gpt(gpt)
    error = caught.value
    assert error.body["code"] == "rate_limit_exceeded" and error.body["type"] == "requests"
    headers = error.response.headers
    assert 1 <= int(headers["retry-after"]) <= 5 and 0 < int(headers["retry-after-ms"]) <= 5000
    assert headers["x-ratelimit-remaining-requests"] == "0" and headers["x-ratelimit-limit-requests"] == "1"
    assert [line["status"] for line in served(emulator, "openai")] == [200, 429]


def test_openai_scripted_errors_refusal_and_truncation(emulator, gpt):
    emulator.set_knobs(script=[500, 529, "refusal", "truncate"])
    with pytest.raises(openai.InternalServerError) as caught:
        ask_gpt(gpt)
    assert caught.value.status_code == 500 and caught.value.body["type"] == "server_error"
    with pytest.raises(openai.InternalServerError) as caught:
        ask_gpt(gpt)
    assert caught.value.status_code == 503  # OpenAI has no 529: an overloaded server answers 503

    refused = ask_gpt(gpt).parse().choices[0]
    assert refused.message.content is None and refused.message.refusal and refused.finish_reason == "stop"

    truncated = ask_gpt(gpt).parse().choices[0]
    assert truncated.finish_reason == "length"
    with pytest.raises(json.JSONDecodeError):
        json.loads(truncated.message.content)
    with pytest.raises(openai.LengthFinishReasonError):  # the output budget runs out by itself too
        gpt.chat.completions.parse(
            model=GPT,
            messages=[{"role": "user", "content": [image_part()]}],
            response_format=Asset,
            max_completion_tokens=5,
        )
    statuses = [(line["status"], line["finish_reason"]) for line in served(emulator, "openai")]
    assert statuses == [(500, None), (503, None), (200, "stop"), (200, "length"), (200, "length")]


def test_openai_under_a_path_prefix(emulator):
    with openai.OpenAI(api_key="x", base_url=f"{emulator.url}/proxy/openai/v1", max_retries=0) as client:
        assert ask_gpt(client).parse().choices[0].message.content


# ---- Anthropic ------------------------------------------------------------------------------


def test_anthropic_output_config_with_a_pdf_headers_and_served_usage(emulator, claude):
    emulator.set_knobs(rpm=30, tpm=50_000)
    document = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_B64}}
    raw = ask_claude(claude, messages=[{"role": "user", "content": [document, {"type": "text", "text": "Summarise."}]}])
    message = raw.parse()
    asset = Asset.model_validate_json(message.content[0].text)
    assert "PDF document titled 'Catalogue'" in asset.description
    assert message.stop_reason == "end_turn" and message.type == "message" and message.id.startswith("msg_")

    headers = raw.headers
    assert headers["anthropic-ratelimit-requests-limit"] == "30"
    assert headers["anthropic-ratelimit-requests-remaining"] == "29"
    remaining_input = 50_000 - message.usage.input_tokens
    assert headers["anthropic-ratelimit-input-tokens-remaining"] == str(remaining_input)
    for name in ("requests", "tokens", "input-tokens", "output-tokens"):
        assert headers[f"anthropic-ratelimit-{name}-reset"].endswith("Z")
    assert headers["request-id"].startswith("req_")

    [line] = served(emulator, "anthropic")
    assert line["method"] == "messages" and line["model"] == CLAUDE and line["status"] == 200
    assert line["usage"]["promptTokenCount"] == message.usage.input_tokens
    assert line["usage"]["candidatesTokenCount"] == message.usage.output_tokens
    assert line["wire_usage"] == message.usage.model_dump(exclude_none=True)
    assert line["media"][0]["mime_type"] == "application/pdf" and line["finish_reason"] == "end_turn"


def test_anthropic_forced_tool_and_parse(claude):
    tool = {"name": "record_asset", "description": "Record the asset.", "input_schema": ASSET_SCHEMA}
    message = ask_claude(
        claude, output_config=anthropic.omit, tools=[tool], tool_choice={"type": "tool", "name": "record_asset"}
    ).parse()
    [block] = message.content
    assert block.type == "tool_use" and block.name == "record_asset" and block.id.startswith("toolu_")
    assert Asset.model_validate(block.input).dominant_color == "blue"
    assert message.stop_reason == "tool_use"

    parsed = claude.messages.parse(
        model=CLAUDE,
        max_tokens=1000,
        messages=[{"role": "user", "content": [image_block()]}],
        output_format=Asset,  # the SDK's own transformed schema through output_config.format
    )
    assert parsed.parsed_output is not None and parsed.parsed_output.width == 640


def test_anthropic_auth_accepts_x_api_key_or_bearer(emulator):
    body = json.dumps({"model": CLAUDE, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}).encode()
    url, version = f"{emulator.url}/v1/messages", {"anthropic-version": "2023-06-01"}
    status, _, raw = raw_request(url, "POST", body, version)
    assert status == 401 and json.loads(raw)["error"]["type"] == "authentication_error"
    assert json.loads(raw)["type"] == "error"
    status, _, raw = raw_request(url, "POST", body, {**version, "x-api-key": "k"})
    assert status == 200 and json.loads(raw)["content"][0]["text"] == "No media was provided."
    status, _, _ = raw_request(url, "POST", body, {"anthropic-version": "2026-10-21", "Authorization": "Bearer k"})
    assert status == 200


def test_anthropic_429_and_529(emulator, claude):
    emulator.set_knobs(script=[429, 529], script_retry_s=3.0)
    with pytest.raises(anthropic.RateLimitError) as rate_limited:
        ask_claude(claude)
    assert rate_limited.value.body["error"]["type"] == "rate_limit_error"
    assert rate_limited.value.response.headers["retry-after"] == "3"
    assert "anthropic-ratelimit-requests-remaining" in rate_limited.value.response.headers
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        ask_claude(claude)
    assert overloaded.value.status_code == 529 and overloaded.value.body["error"]["type"] == "overloaded_error"
    assert [line["status"] for line in served(emulator, "anthropic")] == [429, 529]


def test_anthropic_refusal_and_truncation(emulator, claude):
    emulator.set_knobs(script=["refusal", "truncate"])
    refused = ask_claude(claude).parse()
    assert refused.stop_reason == "refusal" and refused.content == [] and refused.stop_details.type == "refusal"
    truncated = ask_claude(claude).parse()
    assert truncated.stop_reason == "max_tokens"
    with pytest.raises(json.JSONDecodeError):
        json.loads(truncated.content[0].text)
    short = ask_claude(claude, max_tokens=4).parse()  # the max_tokens budget cuts by itself too
    assert short.stop_reason == "max_tokens" and short.usage.output_tokens <= 4
    finishes = [line["finish_reason"] for line in served(emulator, "anthropic")]
    assert finishes == ["refusal", "max_tokens", "max_tokens"]


# ---- shared knobs and accounting --------------------------------------------------------------


def test_same_content_same_input_tokens_on_every_provider(emulator, gpt, claude):
    text = "Describe this product photo for the catalogue."
    openai_usage = gpt.chat.completions.create(
        model=GPT, messages=[{"role": "user", "content": [{"type": "text", "text": text}, image_part()]}]
    ).usage
    claude_usage = claude.messages.create(
        model=CLAUDE,
        max_tokens=500,
        messages=[{"role": "user", "content": [{"type": "text", "text": text}, image_block()]}],
    ).usage
    with make_client(emulator.url) as gemini:
        gemini_count = gemini.models.count_tokens(
            model="gemini-3.8-flash",
            contents=[
                {"role": "user", "parts": [{"text": text}, {"inline_data": {"mime_type": "image/png", "data": PNG}}]}
            ],
        ).total_tokens
    assert openai_usage.prompt_tokens == claude_usage.input_tokens == gemini_count
    assert openai_usage.completion_tokens == claude_usage.output_tokens  # the same plain-text answer


def test_quota_windows_are_per_model_and_the_script_is_shared(emulator, gpt, claude):
    emulator.set_knobs(rpm=1, minute_s=5.0, script=["ok", 503])
    ask_gpt(gpt)  # takes "ok" and GPT's only request this minute
    with pytest.raises(anthropic.InternalServerError) as caught:  # the next entry, whatever the provider
        ask_claude(claude)
    assert caught.value.status_code == 503 and caught.value.body["error"]["type"] == "api_error"
    assert ask_claude(claude).parse().content  # Claude's window is its own
    with pytest.raises(openai.RateLimitError):
        ask_gpt(gpt)


def test_gemini_maps_the_new_script_entries(emulator, client):
    emulator.set_knobs(script=["truncate", "refusal", 529])
    cut = client.models.generate_content(model="gemini-3.8-flash", contents="hello there, describe nothing")
    assert cut.candidates[0].finish_reason.value == "MAX_TOKENS"
    withheld = client.models.generate_content(model="gemini-3.8-flash", contents="hello")
    assert withheld.candidates[0].finish_reason.value == "SAFETY" and withheld.text is None
    with pytest.raises(genai_errors.ServerError) as caught:
        client.models.generate_content(model="gemini-3.8-flash", contents="hello")
    assert caught.value.code == 503 and "overloaded" in caught.value.message


def test_knob_validation_for_the_new_entries():
    knobs = Knobs()
    knobs.update({"script": ["refusal", "truncate", 529, "ok"], "error_codes": [529, 503]})
    for bad in ({"script": ["refuse"]}, {"script": [True]}, {"error_codes": [418]}):
        with pytest.raises(ValueError):
            knobs.update(bad)
    assert knobs.script == ["refusal", "truncate", 529, "ok"] and knobs.error_codes == [529, 503]


def test_error_rate_can_answer_529(emulator, claude):
    emulator.set_knobs(error_rate=1.0, error_codes=[529])
    with pytest.raises(anthropic.OverloadedError):
        ask_claude(claude)


@pytest.mark.parametrize(
    "seconds,text",
    [(0, "0s"), (0.25, "250ms"), (1, "1s"), (1.5, "1.5s"), (59.9994, "59.999s"), (360, "6m0s"), (3725, "1h2m5s")],
)
def test_go_durations(seconds, text):
    assert go_duration(seconds) == text
