"""The Anthropic provider behind ModelGateway: the Messages API through the official ``anthropic`` SDK.

Structured output uses ``output_config.format`` (JSON schema, GA), or a forced tool where the
routing file says a model needs it (``structured_output: tool``). Opus 4.7 rejects sampling
parameters, so no temperature is sent. An overloaded answer (529) is retried like a 503.
Retries are the shared loop's (``max_retries=0``).
"""

from __future__ import annotations

import json
from typing import Any

import anthropic

from gemini_assets.core.contracts.calls import GenerateRequest, Usage
from gemini_assets.core.contracts.enums import Backend, Provider
from gemini_assets.core.gateway.calling import Answer, CallingGateway, Failure, RetrySettings
from gemini_assets.core.gateway.providers_common import (
    PDF,
    ProviderWithoutFiles,
    conversation,
    inline_media,
    rate_limits,
    status_failure,
)
from gemini_assets.core.gateway.ratelimit import QuotaLimiter

FINISH = {
    "end_turn": "STOP",
    "stop_sequence": "STOP",
    "tool_use": "STOP",
    "max_tokens": "MAX_TOKENS",
    "model_context_window_exceeded": "MAX_TOKENS",
}
REQUESTS_LEFT, TOKENS_LEFT = "anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-tokens-remaining"
TOOL = "record_answer"


class AnthropicWire:
    def __init__(self, client: anthropic.Anthropic, tool_models: frozenset[str] = frozenset()):
        self.client, self.tool_models = client, tool_models

    def send(self, request: GenerateRequest) -> Answer:
        arguments: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_output_tokens,
            "system": request.system_prompt,
            "messages": messages(request),
        }
        if request.model in self.tool_models:
            arguments["tools"] = [
                {"name": TOOL, "description": "Record the answer.", "input_schema": request.response_schema}
            ]
            arguments["tool_choice"] = {"type": "tool", "name": TOOL}
        else:
            arguments["extra_body"] = {
                "output_config": {"format": {"type": "json_schema", "schema": request.response_schema}}
            }
        raw = self.client.messages.with_raw_response.create(**arguments)
        message = raw.parse()
        limits = rate_limits(raw.headers, REQUESTS_LEFT, TOKENS_LEFT)
        text = _text(message.content)
        stop = str(message.stop_reason)
        block = "REFUSAL" if stop == "refusal" else None
        return Answer(text, FINISH.get(stop, stop.upper()), block, usage(message.usage), message.id, limits)

    def failure(self, exc: Exception) -> Failure | None:
        if isinstance(exc, anthropic.APIStatusError):
            headers = exc.response.headers
            body = exc.body if isinstance(exc.body, dict) else {}
            error = body.get("error")
            status = str((error.get("type") if isinstance(error, dict) else None) or exc.status_code)
            return status_failure(exc.status_code, status, exc.message, headers, (REQUESTS_LEFT, TOKENS_LEFT))
        if isinstance(exc, anthropic.APIConnectionError):  # timeouts included
            return Failure(0, type(exc).__name__, str(exc))
        return None


def messages(request: GenerateRequest) -> list[dict[str, Any]]:
    mime, data = inline_media(request, "Anthropic Messages")
    kind = "document" if mime == PDF else "image"
    media = {"type": kind, "source": {"type": "base64", "media_type": mime, "data": data}}
    turns: list[dict[str, Any]] = [{"role": "user", "content": [media, {"type": "text", "text": request.user_text}]}]
    turns += [{"role": role, "content": text} for role, text in conversation(request)]
    return turns


def _text(content: Any) -> str | None:
    """The answer: the text block, or a forced tool's input as JSON text."""
    for block in content or []:
        if getattr(block, "type", None) == "text":
            return str(block.text)
        if getattr(block, "type", None) == "tool_use":
            return json.dumps(block.input)
    return None


def usage(reported: Any) -> Usage:
    """Anthropic counts cache reads and writes beside input_tokens, thinking inside output_tokens."""
    if reported is None:
        return Usage()
    cache_read = int(getattr(reported, "cache_read_input_tokens", 0) or 0)
    cache_write = int(getattr(reported, "cache_creation_input_tokens", 0) or 0)
    details = getattr(reported, "output_tokens_details", None)
    thinking = int(getattr(details, "thinking_tokens", 0) or 0)
    return Usage(
        input_tokens=int(reported.input_tokens or 0) + cache_read + cache_write,
        output_tokens=max(0, int(reported.output_tokens or 0) - thinking),
        thinking_tokens=thinking,
        cached_tokens=cache_read,
    )


class AnthropicGateway(ProviderWithoutFiles, CallingGateway):
    provider = Provider.ANTHROPIC

    def __init__(
        self,
        api_key: str,
        base_url: str | None,
        retry: RetrySettings | None = None,
        limiter: QuotaLimiter | None = None,
        backend: Backend = Backend.GEMINI,
        tool_models: frozenset[str] = frozenset(),
    ):
        retry = retry or RetrySettings()
        self.backend = backend
        self.client = anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0, timeout=retry.timeout_s)
        super().__init__(AnthropicWire(self.client, tool_models), retry, limiter, api_key)
