"""Anthropic Messages (``POST /v1/messages``) on the emulator's answer engine.

Speaks what the anthropic SDK sends and reads: ``x-api-key`` or Bearer auth (SDK 2.x sends
Bearer) with any ``anthropic-version``; text, image and PDF blocks; structured output through
``output_config.format`` or a forced tool; Anthropic-shaped usage, stop reasons, errors (529
overloaded included) and ``anthropic-ratelimit-*`` headers. The answer, its tokens and its
quota windows come from providers.py, shared with Gemini and OpenAI.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .prompt import Prompt
from .protocol import Request, Response, pick
from .providers import (
    REFUSED,
    TRUNCATED,
    Call,
    ProviderError,
    decode_base64,
    draft_answer,
    invalid,
    media_item,
    new_id,
    rfc3339_after,
)
from .state import StateStore

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
# Reported when the rpm/tpm knob is unset (a generous tier's limits); never enforced.
NOMINAL_LIMITS = {"requests": 4_000, "input-tokens": 2_000_000, "output-tokens": 400_000}
_ERROR_TYPES = {
    "invalid": "invalid_request_error",
    "auth": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "rate_limit": "rate_limit_error",
    "server": "api_error",
    "unavailable": "api_error",
    "timeout": "timeout_error",
    "overloaded": "overloaded_error",
}
_QUOTA_WORDS = {"RPM": "requests per minute", "TPM": "input tokens per minute", "RPD": "requests per day"}
_SKIPPED_BLOCKS = ("tool_use", "thinking", "redacted_thinking")  # earlier assistant output: nothing to answer from


def messages(store: StateStore, request: Request) -> Response:
    request_id = new_id("req_")
    bearer = request.header("authorization").partition(" ")
    key = request.header("x-api-key").strip() or (bearer[2].strip() if bearer[0].lower() == "bearer" else "")
    if not key:
        # Refused before reading the request, so (as for keyless Gemini calls) nothing is logged.
        response = error_response(ProviderError(401, "auth", "x-api-key header is required"), request_id)
    else:
        call = Call(store, "anthropic", "messages")
        response = call.serve(lambda: _message(call, request), lambda error: error_response(error, request_id))
        if call.model:
            response.headers.update(rate_limit_headers(store, call.model))
    response.headers["request-id"] = request_id
    return response


def _message(call: Call, request: Request) -> dict[str, Any]:
    if not request.header("anthropic-version").strip():
        raise invalid("anthropic-version: header is required")
    body = request.json()
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("model: Field required")
    call.set_model(model)
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise invalid("max_tokens: Field required" if max_tokens is None else "max_tokens: must be at least 1")
    if body.get("stream"):
        raise invalid("stream: the emulator does not stream; call without stream=true")
    prompt = _prompt(body)
    config, tool = _structure(body)
    repair = any(isinstance(m, dict) and m.get("role") == "assistant" for m in body.get("messages") or [])
    draft = draft_answer(call, prompt, config, max_tokens, refusal_text="", repair=repair)
    stop_details = None
    if draft.outcome == REFUSED:
        content: list[dict[str, Any]] = []
        stop_reason, stop_details = "refusal", {"type": "refusal", "category": None, "explanation": None}
    elif tool is not None:
        # A cut-off tool call has no parseable arguments left; the API then sends an empty input.
        arguments = {} if draft.outcome == TRUNCATED else _tool_input(draft.text)
        content = [{"type": "tool_use", "id": new_id("toolu_"), "name": tool["name"], "input": arguments}]
        stop_reason = "max_tokens" if draft.outcome == TRUNCATED else "tool_use"
    else:
        content = [{"type": "text", "text": draft.text}] if draft.text else []
        stop_reason = "max_tokens" if draft.outcome == TRUNCATED else "end_turn"
    usage = {
        "input_tokens": draft.input_tokens,
        "output_tokens": draft.output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    message_id = new_id("msg_")
    call.record.update(wire_usage=usage, finish_reason=stop_reason, response_id=message_id)
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "stop_details": stop_details,
        "usage": usage,
    }


def _tool_input(text: str) -> Any:
    # A tool's input is always a JSON object: prose asked for by a test shape arrives as a
    # schema-invalid object, the way a real model's off-schema tool call would.
    try:
        return json.loads(text)
    except ValueError:
        return {"text": text}


# ---- request content ----------------------------------------------------------------------


def _prompt(body: dict[str, Any]) -> Prompt:
    prompt = Prompt()
    system = body.get("system")
    if isinstance(system, str):
        prompt.system_texts.append(system)
    elif isinstance(system, list):
        for index, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text":
                raise invalid(f"system.{index}.type: Input should be 'text'")
            prompt.system_texts.append(str(block.get("text", "")))
    elif system is not None:
        raise invalid("system: Input should be a valid string or a list of text blocks")
    turns = body.get("messages")
    if not isinstance(turns, list) or not turns:
        raise invalid("messages: at least one message is required")
    for index, turn in enumerate(turns):
        role = turn.get("role") if isinstance(turn, dict) else None
        if role not in ("user", "assistant"):
            raise invalid(f"messages.{index}.role: Input should be 'user' or 'assistant'")
        content = turn.get("content")
        if isinstance(content, str):
            prompt.texts.append(content)
        elif isinstance(content, list):
            for block_index, block in enumerate(content):
                _add_block(prompt, block, f"messages.{index}.content.{block_index}")
        else:
            raise invalid(f"messages.{index}.content: Input should be a valid string or list")
    return prompt


def _add_block(prompt: Prompt, block: Any, where: str) -> None:
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "text":
        prompt.texts.append(str(block.get("text", "")))
    elif kind in ("image", "document"):
        _add_source(prompt, kind, block.get("source") or {}, f"{where}.{kind}.source")
    elif kind == "tool_result":
        inner = block.get("content")
        if isinstance(inner, str):
            prompt.texts.append(inner)
        for inner_index, inner_block in enumerate(inner if isinstance(inner, list) else []):
            _add_block(prompt, inner_block, f"{where}.tool_result.content.{inner_index}")
    elif kind not in _SKIPPED_BLOCKS:
        raise invalid(
            f"{where}: Input tag {kind!r} found using 'type' does not match any of the expected tags: "
            "'text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'"
        )


def _add_source(prompt: Prompt, kind: str, source: dict[str, Any], where: str) -> None:
    source_type = source.get("type")
    if kind == "document" and source_type == "text":
        prompt.texts.append(str(source.get("data", "")))
        return
    if source_type != "base64":
        # The emulator is offline by design: it never fetches URLs and has no Anthropic Files API.
        raise invalid(
            f"{where}.type: the emulator accepts only base64 sources (and text documents), not {source_type!r}"
        )
    mime = str(source.get("media_type", ""))
    allowed = IMAGE_TYPES if kind == "image" else ("application/pdf",)
    if mime not in allowed:
        expected = ", ".join(f"'{m}'" for m in allowed)
        raise invalid(f"{where}.base64.media_type: Input should be {expected}")
    prompt.media.append(media_item(decode_base64(source.get("data"), f"{where}.base64.data"), mime))


def _structure(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(Gemini generation config, the tool forced to answer or None)."""
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and "input_schema" in t]
    choice = body.get("tool_choice") or {}
    tool = None
    if choice.get("type") == "tool":
        tool = next((t for t in tools if t.get("name") == choice.get("name")), None)
        if tool is None:
            raise invalid(f"tool_choice.name: no tool named {choice.get('name')!r} in tools")
    elif choice.get("type") == "any" and tools:
        tool = tools[0]
    if tool is not None:
        if not isinstance(tool.get("input_schema"), dict):
            raise invalid("tools.0.input_schema: Input should be a valid dictionary")
        return {"responseMimeType": "application/json", "responseJsonSchema": tool["input_schema"]}, tool
    # output_format: the beta spelling, still honoured during Anthropic's transition period.
    output_format = pick(body.get("output_config"), "format") or body.get("output_format")
    if output_format is None:
        return {}, None
    if not isinstance(output_format, dict) or output_format.get("type") != "json_schema":
        raise invalid("output_config.format.type: Input should be 'json_schema'")
    if not isinstance(output_format.get("schema"), dict):
        raise invalid("output_config.format.schema: Field required")
    return {"responseMimeType": "application/json", "responseJsonSchema": output_format["schema"]}, None


# ---- errors and headers -------------------------------------------------------------------


def error_response(error: ProviderError, request_id: str) -> Response:
    headers: dict[str, str] = {}
    message = error.message
    if error.kind == "rate_limit":
        retry_s = error.retry_after_s or 1.0
        limit = error.limit or NOMINAL_LIMITS["input-tokens" if error.quota == "TPM" else "requests"]
        message = (
            f"This request would exceed your organization's rate limit of {limit} "
            f"{_QUOTA_WORDS[error.quota]}. For details, refer to: https://docs.claude.com/en/api/rate-limits."
        )
        headers["retry-after"] = str(math.ceil(retry_s))
    elif error.status in (500, 503):
        message = "Internal server error"
    body = {
        "type": "error",
        "error": {"type": _ERROR_TYPES.get(error.kind, "api_error"), "message": message},
        "request_id": request_id,
    }
    return Response.json(body, status=error.status, headers=headers)


def rate_limit_headers(store: StateStore, model: str) -> dict[str, str]:
    use = store.behaviour.minute_use(model)
    windows = {"requests": use["requests"], "input-tokens": use["input_tokens"], "output-tokens": use["output_tokens"]}
    values: dict[str, tuple[int, int, float]] = {}
    for name, window in windows.items():
        limit = window.limit if window.limit is not None else NOMINAL_LIMITS[name]
        values[name] = (limit, max(limit - window.used, 0), window.reset_s)
    # "tokens" reports whichever token limit is closest to running out, as Anthropic does.
    values["tokens"] = min(values["input-tokens"], values["output-tokens"], key=lambda v: v[1])
    headers: dict[str, str] = {}
    for name, (limit, remaining, reset_s) in values.items():
        headers[f"anthropic-ratelimit-{name}-limit"] = str(limit)
        headers[f"anthropic-ratelimit-{name}-remaining"] = str(remaining)
        headers[f"anthropic-ratelimit-{name}-reset"] = rfc3339_after(reset_s)
    return headers
