"""The OpenAI provider behind ModelGateway: Chat Completions through the official ``openai`` SDK.

Any OpenAI-compatible base URL works (OpenAI, a LiteLLM proxy, OpenRouter, a company gateway).
Structured output uses a strict JSON schema (``response_format.json_schema``). GPT-5.x takes
``max_completion_tokens`` and only the default temperature, so neither ``max_tokens`` nor
``temperature`` is sent. Retries are the shared loop's (``max_retries=0``).
"""

from __future__ import annotations

from typing import Any

import openai

from gemini_assets.core.contracts.calls import GenerateRequest, Usage
from gemini_assets.core.contracts.enums import Backend, Provider
from gemini_assets.core.gateway.calling import Answer, CallingGateway, Failure, RetrySettings
from gemini_assets.core.gateway.provider_media import AUDIO_FORMATS
from gemini_assets.core.gateway.providers_common import (
    PDF,
    ProviderWithoutFiles,
    conversation,
    inline_media,
    rate_limits,
    status_failure,
    strict_schema,
)
from gemini_assets.core.gateway.ratelimit import QuotaLimiter

FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY", "tool_calls": "STOP"}
REQUESTS_LEFT, TOKENS_LEFT = "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens"


class OpenAIWire:
    def __init__(self, client: openai.OpenAI, audio_models: frozenset[str] = frozenset()):
        self.client, self.audio_models = client, audio_models

    def send(self, request: GenerateRequest) -> Answer:
        schema = {"name": "answer", "schema": strict_schema(request.response_schema), "strict": True}
        arguments: dict[str, Any] = {  # plain dicts, as the API documents them
            "model": request.model,
            "messages": messages(request, audio=request.model in self.audio_models),
            "response_format": {"type": "json_schema", "json_schema": schema},
            "max_completion_tokens": request.max_output_tokens,
        }
        raw = self.client.chat.completions.with_raw_response.create(**arguments)
        completion = raw.parse()
        limits = rate_limits(raw.headers, REQUESTS_LEFT, TOKENS_LEFT)
        if not completion.choices:
            return Answer(None, None, "no choices", usage(completion.usage), completion.id, limits)
        choice = completion.choices[0]
        refusal = getattr(choice.message, "refusal", None)
        finish = FINISH.get(str(choice.finish_reason), str(choice.finish_reason).upper())
        block = f"REFUSAL: {refusal[:200]}" if refusal else None
        return Answer(choice.message.content, finish, block, usage(completion.usage), completion.id, limits)

    def failure(self, exc: Exception) -> Failure | None:
        if isinstance(exc, openai.APIStatusError):
            headers = exc.response.headers
            body = exc.body if isinstance(exc.body, dict) else {}
            status = str(body.get("code") or body.get("type") or exc.status_code)
            return status_failure(exc.status_code, status, exc.message, headers, (REQUESTS_LEFT, TOKENS_LEFT))
        if isinstance(exc, openai.APIConnectionError):  # timeouts included
            return Failure(0, type(exc).__name__, str(exc))
        return None


def messages(request: GenerateRequest, audio: bool = False) -> list[dict[str, Any]]:
    """``audio``: the model hears (declared `media: [audio]`, e.g. gpt-audio): WAV/MP3 go as input_audio."""
    mime, data = inline_media(request, "OpenAI Chat Completions", audio)
    media: dict[str, Any]
    if mime == PDF:
        media = {"type": "file", "file": {"filename": "document.pdf", "file_data": f"data:{PDF};base64,{data}"}}
    elif mime in AUDIO_FORMATS:
        media = {"type": "input_audio", "input_audio": {"data": data, "format": AUDIO_FORMATS[mime]}}
    else:
        media = {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}
    turns: list[dict[str, Any]] = [
        {"role": "system", "content": request.system_prompt},
        {"role": "user", "content": [media, {"type": "text", "text": request.user_text}]},
    ]
    turns += [{"role": role, "content": text} for role, text in conversation(request)]
    return turns


def usage(reported: Any) -> Usage:
    """OpenAI counts cached tokens inside prompt_tokens and reasoning inside completion_tokens."""
    if reported is None:
        return Usage()
    prompt_details = getattr(reported, "prompt_tokens_details", None)
    completion_details = getattr(reported, "completion_tokens_details", None)
    reasoning = int(getattr(completion_details, "reasoning_tokens", 0) or 0)
    return Usage(
        input_tokens=int(reported.prompt_tokens or 0),
        output_tokens=max(0, int(reported.completion_tokens or 0) - reasoning),
        thinking_tokens=reasoning,
        cached_tokens=int(getattr(prompt_details, "cached_tokens", 0) or 0),
    )


class OpenAIGateway(ProviderWithoutFiles, CallingGateway):
    provider = Provider.OPENAI

    def __init__(
        self,
        api_key: str,
        base_url: str | None,
        retry: RetrySettings | None = None,
        limiter: QuotaLimiter | None = None,
        backend: Backend = Backend.GEMINI,
        audio_models: frozenset[str] = frozenset(),
    ):
        retry = retry or RetrySettings()
        self.backend = backend
        self.client = openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=retry.timeout_s)
        super().__init__(OpenAIWire(self.client, audio_models), retry, limiter, api_key)
