"""OpenAI and Anthropic behind the same gateway, through their real SDKs against the emulator."""

from __future__ import annotations

import json

import pytest

from gemini_assets.core.contracts.calls import GenerateRequest, MediaRef
from gemini_assets.core.contracts.enums import OutputStatus
from gemini_assets.core.gateway.anthropic_messages import AnthropicGateway
from gemini_assets.core.gateway.openai_chat import OpenAIGateway
from gemini_assets.core.gateway.providers_common import MediaNotSupported
from gemini_assets.core.gateway.ratelimit import QuotaLimiter
from gemini_assets.core.gateway.routing import Limits
from gemini_assets.core.output.process import run_item
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_assets_tests.core.gateway.conftest import FAST
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.samples.media import make_audio, make_pdf, make_png

SCHEMA = {
    "type": "object",
    "properties": {"description": {"type": "string"}, "confidence": {"type": "number"}},
    "required": ["description", "confidence"],
    "additionalProperties": False,
}


def request(model: str, mime: str = "image/png", data: bytes | None = None) -> GenerateRequest:
    media = MediaRef(mime_type=mime, data=data if data is not None else make_png((64, 48)))
    return GenerateRequest(
        model=model,
        system_prompt="Answer in JSON.",
        user_text="Describe the item.",
        media=media,
        response_schema=SCHEMA,
        max_output_tokens=512,
    )


def openai_gateway(emulator, tool_models=()):
    return OpenAIGateway("test-key", f"{emulator.url}/v1", FAST)


def anthropic_gateway(emulator, tool_models=()):
    return AnthropicGateway("test-key", emulator.url, FAST, tool_models=frozenset(tool_models))


GATEWAYS = {"openai": (openai_gateway, "gpt-5.5"), "anthropic": (anthropic_gateway, "claude-opus-4-7")}


@pytest.fixture(params=sorted(GATEWAYS))
def provider(request, emulator):
    make, model = GATEWAYS[request.param]
    gateway = make(emulator)
    yield request.param, gateway, model
    gateway.close()


def test_structured_output_on_images_and_pdfs(provider):
    name, gateway, model = provider
    for mime, data in (("image/png", None), ("application/pdf", make_pdf([["Invoice 42", "Total 9.99"]]))):
        result = gateway.generate(request(model, mime, data))
        assert result.ok and result.finish_reason == "STOP" and result.block_reason is None
        answer = json.loads(result.text or "")
        assert set(answer) == {"description", "confidence"}
        usage = result.last.usage
        assert usage is not None and usage.input_tokens > 0 and usage.output_tokens > 0
        assert gateway.provider == name


def test_anthropic_forced_tool_output_is_the_answer_too(emulator):
    gateway = anthropic_gateway(emulator, tool_models=["claude-opus-4-7"])
    try:
        result = gateway.generate(request("claude-opus-4-7"))
    finally:
        gateway.close()
    assert result.ok and set(json.loads(result.text or "")) == {"description", "confidence"}


def test_a_429_waits_what_the_server_says_and_is_retried(provider, emulator):
    _, gateway, model = provider
    emulator.set_knobs(script=[429], script_retry_s=0.05)
    result = gateway.generate(request(model))
    assert [a.status_code for a in result.attempts] == [429, 200]
    assert result.ok


def test_anthropic_overloaded_is_retried_like_a_503(emulator):
    emulator.set_knobs(script=[529])
    gateway = anthropic_gateway(emulator)
    try:
        result = gateway.generate(request("claude-opus-4-7"))
    finally:
        gateway.close()
    assert [a.status_code for a in result.attempts] == [529, 200]
    assert result.attempts[0].error_code == "overloaded_error" and result.ok


def test_rate_limit_headers_land_on_the_attempt(provider, emulator):
    _, gateway, model = provider
    emulator.set_knobs(rpm=100, tpm=1_000_000)
    first, second = gateway.generate(request(model)), gateway.generate(request(model))
    assert first.last.provider_remaining_requests is not None
    assert second.last.provider_remaining_requests == first.last.provider_remaining_requests - 1


def test_refusal_and_truncation_reach_review_the_way_geminis_do(provider, emulator):
    _, gateway, model = provider
    task = TaskCatalog().get("product_recognition")
    emulator.set_knobs(script=["refusal"])
    refused = run_item(gateway, task, request(model))
    assert refused.status == OutputStatus.BLOCKED and "REFUSAL" in (refused.block_reason or "")
    assert len(refused.attempts) == 1  # withheld, not malformed: no repair retry
    emulator.set_knobs(script=["truncate"])
    cut = gateway.generate(request(model))
    assert cut.finish_reason == "MAX_TOKENS"


def test_audio_never_reaches_a_provider_without_audio(provider):
    _, gateway, model = provider
    with pytest.raises(MediaNotSupported, match="audio/mpeg"):
        gateway.generate(request(model, "audio/mpeg", b"ID3" + bytes(100)))


def test_an_openai_audio_model_hears_wav_and_mp3_as_input_audio(emulator):
    gateway = OpenAIGateway("k", f"{emulator.url}/v1", FAST, audio_models=frozenset({"gpt-audio-1.5"}))
    try:
        for container, mime in (("wav", "audio/wav"), ("mp3", "audio/mpeg")):
            result = gateway.generate(request("gpt-audio-1.5", mime, make_audio(container, seconds=1.0)))
            assert result.ok and set(json.loads(result.text or "")) == {"description", "confidence"}
        served = [r for r in read_served_log(emulator.state_dir) if r.get("model") == "gpt-audio-1.5"]
        assert [m["mime_type"] for r in served for m in r["media"]] == ["audio/wav", "audio/mpeg"]
        with pytest.raises(MediaNotSupported, match="audio/aac"):  # input_audio: WAV and MP3 only
            gateway.generate(request("gpt-audio-1.5", "audio/aac", b"\xff\xf1" + bytes(100)))
        with pytest.raises(MediaNotSupported, match="audio/mpeg"):  # a model not declared to hear
            gateway.generate(request("gpt-5.5", "audio/mpeg", make_audio("mp3", seconds=1.0)))
    finally:
        gateway.close()


def test_the_real_request_quota_is_learned_from_the_providers_limit_header(emulator):
    emulator.set_knobs(rpm=3, minute_s=2.0)
    for make, model in GATEWAYS.values():
        limiter = QuotaLimiter("memory", {model: Limits(rpm=300)}, minute_ms=2000, margin_ms=150)
        gateway = make(emulator)
        gateway.limiter = limiter
        try:
            results = [gateway.generate(request(model)) for _ in range(6)]
            assert all(r.ok for r in results)
            assert gateway.learned_limits() == {f"{model} rpm": 3}  # x-ratelimit-limit-requests / anthropic-*
            assert sum(a.status_code == 429 for r in results for a in r.attempts) == 1  # then held under it
        finally:
            gateway.close()
