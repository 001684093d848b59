"""Routes and challengers on other providers: capabilities, fail-fast checks, where each is reached."""

from __future__ import annotations

import pytest

from gemini_assets.core.config import load_settings
from gemini_assets.core.contracts.enums import Backend, CallMode, Provider, Variant
from gemini_assets.core.contracts.errors import BackendNotConfigured
from gemini_assets.core.gateway.backends import resolve_provider
from gemini_assets.core.gateway.providers_common import rate_limits, retry_after_s, strict_schema
from gemini_assets.core.gateway.routing import RouteConfigError, load_routing, route_item, shadow_decisions
from gemini_assets_tests.core.gateway.test_routing import item, write

CROSS = """
routes:
  - name: everything
    model: gemini-3.8-flash
    mode: batch
    challenger: {model: gpt-5.5, provider: openai, fraction: 1.0, promote: true}
  - name: claude
    task: document_extraction
    model: claude-opus-4-7
    provider: anthropic
    mode: batch
models:
  gpt-5.5: {provider: openai, media: [image, document], max_bytes: 20000000}
  claude-opus-4-7: {provider: anthropic, media: [image, document], max_pages: 100, structured_output: tool}
"""


def test_a_challenger_on_another_provider_takes_only_what_it_can(tmp_path):
    config = load_routing(write(tmp_path, CROSS))
    image = route_item(config, item("image"), "x")
    assert (image.model, image.provider, image.variant) == ("gpt-5.5", Provider.OPENAI, Variant.CHALLENGER)
    assert image.mode == CallMode.ONLINE  # only Gemini has a Batch API
    audio = route_item(config, item("audio", duration_s=30.0), "x")
    assert (audio.model, audio.provider, audio.variant) == ("gemini-3.8-flash", Provider.GEMINI, Variant.PRIMARY)
    assert audio.mode == CallMode.BATCH and "not applicable" in (audio.note or "")
    large = route_item(config, item("image").model_copy(update={"size_bytes": 30_000_000}), "x")
    assert large.provider == Provider.GEMINI and "not applicable" in (large.note or "")
    assert config.providers() == {Provider.GEMINI, Provider.OPENAI, Provider.ANTHROPIC}
    assert config.models_with_tool_output() == ["claude-opus-4-7"]


def test_a_shadow_challenger_on_another_provider_reports_what_it_cannot_take(tmp_path):
    config = load_routing(write(tmp_path, CROSS.replace(", promote: true", ""), "shadow.yaml"))
    image, audio = item("image"), item("audio", duration_s=30.0)
    assert route_item(config, image, "x").model == route_item(config, audio, "x").model == "gemini-3.8-flash"
    (on_image,) = shadow_decisions(config, image)
    assert (on_image.model, on_image.provider, on_image.applicable) == ("gpt-5.5", Provider.OPENAI, True)
    (on_audio,) = shadow_decisions(config, audio)
    assert not on_audio.applicable and "cannot take this audio" in (on_audio.note or "")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (  # a model on another provider must be declared with its capabilities
            "routes:\n  - model: gpt-5.5\n    provider: openai\n",
            "does not declare it",
        ),
        (
            "routes:\n  - model: gpt-5.5\n    provider: anthropic\nmodels:\n  gpt-5.5: {provider: openai}\n",
            "declares openai",
        ),
        ("routes:\n  - model: m\nmodels:\n  m: {media: [image, hologram]}\n", "unknown kinds"),
        ("routes:\n  - model: m\n    provider: mistral\n", "provider"),
        ("routes:\n  - model: m\nmodels:\n  m: {structured_output: regex}\n", "structured_output"),
        (  # the Messages API has no audio block; Chat Completions no video
            "routes:\n  - model: m\nmodels:\n  c: {provider: anthropic, media: [image, audio]}\n",
            "anthropic API cannot take",
        ),
        ("routes:\n  - model: m\nmodels:\n  g: {provider: openai, media: [video]}\n", "openai API cannot take"),
    ],
)
def test_a_wrong_provider_setup_fails_before_any_call(tmp_path, text, complaint):
    with pytest.raises(RouteConfigError, match=complaint):
        load_routing(write(tmp_path, text, f"routes-{abs(hash(text))}.yaml"))


def test_the_emulator_answers_for_every_provider_at_its_own_base(monkeypatch):
    monkeypatch.setenv("GEMINI_ASSETS_BACKEND", "emulator")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:9999/")
    settings = load_settings()
    openai_target, anthropic_target = (resolve_provider(settings, p) for p in (Provider.OPENAI, Provider.ANTHROPIC))
    assert openai_target.base_url == "http://127.0.0.1:9999/v1"  # OpenAI's base URL carries /v1
    assert anthropic_target.base_url == "http://127.0.0.1:9999"  # Anthropic's SDK adds /v1 itself
    assert openai_target.backend == Backend.EMULATOR and openai_target.scope != anthropic_target.scope


def test_a_real_provider_without_its_key_fails_fast_naming_it(monkeypatch):
    monkeypatch.setenv("GEMINI_ASSETS_BACKEND", "gemini")  # the real APIs, not the tests' emulator
    monkeypatch.setenv("GEMINI_API_KEY", "g")
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    with pytest.raises(BackendNotConfigured, match="OPENAI_API_KEY"):
        resolve_provider(settings, Provider.OPENAI)
    with pytest.raises(BackendNotConfigured, match="ANTHROPIC_API_KEY"):
        resolve_provider(settings, Provider.ANTHROPIC)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://litellm.example.com/v1")
    target = resolve_provider(load_settings(), Provider.OPENAI)
    assert target.base_url == "https://litellm.example.com/v1" and "sk-test" not in repr(target)


def test_strict_schema_closes_objects_and_makes_optional_fields_nullable():
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "object", "properties": {}}},
        "required": ["a"],
    }
    strict = strict_schema(schema)
    assert strict["required"] == ["a", "b", "c"] and strict["additionalProperties"] is False
    assert strict["properties"]["b"]["type"] == ["integer", "null"] and strict["properties"]["a"]["type"] == "string"
    assert strict["properties"]["c"]["additionalProperties"] is False
    assert schema["required"] == ["a"]  # the task's own schema is left alone


def test_server_hints_and_rate_limit_headers_are_read():
    assert retry_after_s({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_s({"retry-after": "2"}) == 2.0
    assert retry_after_s({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}) is None
    assert retry_after_s({}) is None
    limits = rate_limits(
        {"x-ratelimit-remaining-requests": "59", "x-ratelimit-remaining-tokens": "149000"},
        "x-ratelimit-remaining-requests",
        "x-ratelimit-remaining-tokens",
    )
    assert limits is not None and (limits.remaining_requests, limits.remaining_tokens) == (59, 149000)
    assert rate_limits({"other": "1"}, "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens") is None


def test_an_openai_audio_model_takes_wav_and_mp3_only_and_others_default_to_images_and_pdfs(tmp_path):
    text = (
        "routes:\n  - model: m\nmodels:\n  gpt-audio-1.5: {provider: openai, media: [audio]}\n"
        "  gpt-5.5: {provider: openai}\n"
    )
    config = load_routing(write(tmp_path, text, "audio.yaml"))
    hearing = config.capabilities("gpt-audio-1.5")
    mp3, aac = (
        item("audio", duration_s=3.0),
        item("audio", duration_s=3.0).model_copy(update={"mime_type": "audio/aac"}),
    )
    assert hearing.accepts(mp3) and not hearing.accepts(aac) and not hearing.accepts(item("image"))
    assert config.capabilities("gpt-5.5").media == ["image", "document"]
    assert config.models_hearing_audio() == ["gpt-audio-1.5"]
