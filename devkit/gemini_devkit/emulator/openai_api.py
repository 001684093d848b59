"""OpenAI Chat Completions (``POST /v1/chat/completions``) on the emulator's answer engine.

Speaks what the openai SDK sends and reads: Bearer auth; text, image and PDF content parts;
strict ``json_schema`` response formats (checked the way OpenAI checks them); the GPT-5.x
parameter rules; OpenAI-shaped usage, errors and ``x-ratelimit-*`` headers. The answer, its
tokens and its quota windows come from providers.py, shared with Gemini and Anthropic.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from typing import Any

from .prompt import Prompt
from .protocol import Request, Response
from .providers import (
    REFUSED,
    TRUNCATED,
    Call,
    ProviderError,
    decode_base64,
    draft_answer,
    go_duration,
    invalid,
    media_item,
    new_id,
    parse_data_url,
)
from .state import StateStore

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
REFUSAL_TEXT = "I'm sorry, but I can't help with that request."
# Reported when the rpm/tpm knob is unset (a generous tier's limits); never enforced.
NOMINAL_LIMITS = {"requests": 10_000, "tokens": 30_000_000}
NO_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)
_SERVER_MESSAGES = {
    500: "The server had an error while processing your request. Sorry about that!",
    503: "The server is overloaded or not ready yet.",
    504: "The server did not respond in time.",
}
_QUOTA_WORDS = {"RPM": "requests per min (RPM)", "TPM": "tokens per min (TPM)", "RPD": "requests per day (RPD)"}
_SCHEMA_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_STRICT_FORBIDDEN = ("allOf", "not", "if", "then", "else", "dependentRequired", "dependentSchemas")


def chat_completions(store: StateStore, request: Request) -> Response:
    request_id = "req_" + secrets.token_hex(16)
    scheme, _, key = request.header("authorization").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        # Refused before reading the request, so (as for keyless Gemini calls) nothing is logged.
        response = error_response(ProviderError(401, "auth", NO_KEY_MESSAGE), "")
    else:
        call = Call(store, "openai", "chat.completions")
        response = call.serve(lambda: _completion(call, request), lambda error: error_response(error, call.model))
        if call.model:
            response.headers.update(rate_limit_headers(store, call.model))
    response.headers["x-request-id"] = request_id
    return response


def _completion(call: Call, request: Request) -> dict[str, Any]:
    body = request.json()
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("you must provide a model parameter")
    call.set_model(model)
    if body.get("stream"):
        raise invalid("The emulator does not stream; call without stream=true.", "stream", "unsupported_value")
    limit = _output_limit(body, model)
    prompt = _prompt(body.get("messages"), model)
    config = _response_format(body.get("response_format"))
    draft = draft_answer(call, prompt, config, limit, REFUSAL_TEXT, repair=_has_assistant_turn(body))
    refused = draft.outcome == REFUSED
    finish = "length" if draft.outcome == TRUNCATED else "stop"
    usage = {
        "prompt_tokens": draft.input_tokens,
        "completion_tokens": draft.output_tokens,
        "total_tokens": draft.input_tokens + draft.output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }
    completion_id = new_id("chatcmpl-", 29)
    call.record.update(wire_usage=usage, finish_reason=finish, response_id=completion_id)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if refused else draft.text,
        "refusal": draft.text if refused else None,
        "annotations": [],
    }
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": None,
    }


def _has_assistant_turn(body: dict[str, Any]) -> bool:
    return any(isinstance(m, dict) and m.get("role") == "assistant" for m in body.get("messages") or [])


def _output_limit(body: dict[str, Any], model: str) -> int | None:
    if model.startswith("gpt-5"):
        # GPT-5.x reasoning models refuse the legacy parameter and any sampling temperature.
        if body.get("max_tokens") is not None:
            raise invalid(
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "max_tokens",
                "unsupported_parameter",
            )
        temperature = body.get("temperature")
        if temperature is not None and temperature != 1:
            raise invalid(
                f"Unsupported value: 'temperature' does not support {temperature} with this model. "
                "Only the default (1) value is supported.",
                "temperature",
                "unsupported_value",
            )
    name = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    limit = body.get(name)
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise invalid(
            f"Invalid '{name}': integer below minimum value. Expected a value >= 1, but got {limit!r} instead.",
            name,
            "integer_below_min_value",
        )
    return limit


# ---- messages -----------------------------------------------------------------------------


def _prompt(messages: Any, model: str) -> Prompt:
    if not isinstance(messages, list) or not messages:
        raise invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    prompt = Prompt()
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ROLES:
            supported = ", ".join(f"'{r}'" for r in ROLES)
            raise invalid(
                f"Invalid value: {role!r}. Supported values are: {supported}.", f"{where}.role", "invalid_value"
            )
        texts = prompt.system_texts if role in ("system", "developer") else prompt.texts
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for part_index, part in enumerate(content):
                _add_part(prompt, texts, part, f"{where}.content[{part_index}]", model)
        elif content is not None:  # None: an assistant turn that only called tools
            raise invalid(f"Invalid type for '{where}.content': expected a string or an array.", f"{where}.content")
    return prompt


def _add_part(prompt: Prompt, texts: list[str], part: Any, where: str, model: str) -> None:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        texts.append(str(part.get("text", "")))
    elif kind == "refusal":
        return  # an earlier assistant refusal carries nothing to answer from
    elif kind == "image_url":
        mime, data = parse_data_url((part.get("image_url") or {}).get("url"), f"{where}.image_url.url")
        if mime not in IMAGE_TYPES:
            raise invalid(
                f"Invalid MIME type {mime!r}. Only image types are supported.",
                f"{where}.image_url.url",
                "invalid_value",
            )
        prompt.media.append(media_item(data, mime))
    elif kind == "file":
        file = part.get("file") or {}
        if "file_data" not in file:
            raise invalid("The emulator has no OpenAI Files API: send file_data.", f"{where}.file", "invalid_value")
        mime, data = parse_data_url(file.get("file_data"), f"{where}.file.file_data")
        if mime != "application/pdf":  # Chat Completions takes PDFs only (Responses takes more)
            raise invalid(
                f"Invalid file data: '{where}.file.file_data'. Expected a PDF, got MIME type {mime!r}.",
                f"{where}.file.file_data",
                "invalid_value",
            )
        prompt.media.append(media_item(data, mime))
    elif kind == "input_audio":
        if "audio" not in model:  # gpt-audio*, gpt-4o-audio-preview: the only Chat models that hear
            raise invalid(
                "Invalid content type. input_audio is only supported by certain models.",
                f"{where}.type",
                "invalid_value",
            )
        audio = part.get("input_audio") or {}
        audio_mime = AUDIO_TYPES.get(str(audio.get("format")))
        if audio_mime is None:
            raise invalid("Invalid 'input_audio.format': expected 'wav' or 'mp3'.", f"{where}.input_audio.format")
        prompt.media.append(media_item(decode_base64(audio.get("data"), f"{where}.input_audio.data"), audio_mime))
    else:
        raise invalid(
            f"Invalid value: {kind!r}. "
            "Supported values are: 'text', 'image_url', 'input_audio', 'refusal', and 'file'.",
            f"{where}.type",
            "invalid_value",
        )


# ---- response_format ------------------------------------------------------------------------


def _response_format(value: Any) -> dict[str, Any]:
    """The Gemini generation config that asks the answer engine for the same output."""
    if value is None or (isinstance(value, dict) and value.get("type") == "text"):
        return {}
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind != "json_schema":
        raise invalid(
            f"Invalid value: {kind!r}. Supported values are: 'text', 'json_object', and 'json_schema'.",
            "response_format.type",
            "invalid_value",
        )
    spec = value.get("json_schema") or {}
    name = spec.get("name")
    if not isinstance(name, str) or not _SCHEMA_NAME_RE.match(name):
        raise invalid(
            "Invalid 'response_format.json_schema.name': expected [a-zA-Z0-9_-], at most 64 characters.",
            "response_format.json_schema.name",
            "invalid_value",
        )
    schema = spec.get("schema")
    if not isinstance(schema, dict):
        return {"responseMimeType": "application/json"}
    if spec.get("strict"):
        problem = strict_schema_problem(schema)
        if problem:
            raise invalid(f"Invalid schema for response_format '{name}': {problem}", "response_format", "invalid_value")
    return {"responseMimeType": "application/json", "responseJsonSchema": schema}


def strict_schema_problem(schema: dict[str, Any]) -> str | None:
    """OpenAI's strict-mode rules (notes/cross-model.md section 2), or None when the schema obeys them."""
    if schema.get("type") != "object":
        return f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{schema.get('type')}\"'."
    return _strict_walk(schema, ())


def _strict_walk(node: Any, context: tuple[str, ...]) -> str | None:
    if not isinstance(node, dict):
        return None
    for keyword in _STRICT_FORBIDDEN:
        if keyword in node:
            return f"In context={context!r}, '{keyword}' is not permitted."
    properties = node.get("properties")
    if node.get("type") == "object" or isinstance(properties, dict):
        if node.get("additionalProperties") is not False:
            return f"In context={context!r}, 'additionalProperties' is required to be supplied and to be false."
        missing = [key for key in properties or {} if key not in (node.get("required") or [])]
        if missing:
            return (
                f"In context={context!r}, 'required' is required to be supplied and to be an array including "
                f"every key in properties. Missing '{missing[0]}'."
            )
    children: list[tuple[tuple[str, ...], Any]] = [
        ((*context, "properties", key), sub) for key, sub in (properties or {}).items()
    ]
    children.append(((*context, "items"), node.get("items")))
    for keyword in ("anyOf", "$defs", "definitions"):
        branches = node.get(keyword)
        pairs = branches.items() if isinstance(branches, dict) else enumerate(branches or [])
        children += [((*context, keyword, str(key)), sub) for key, sub in pairs]
    return next((p for path, sub in children if (p := _strict_walk(sub, path))), None)


# ---- errors and headers -------------------------------------------------------------------


def error_response(error: ProviderError, model: str) -> Response:
    status = 503 if error.kind == "overloaded" else error.status  # OpenAI has no 529
    headers: dict[str, str] = {}
    message, kind, code = error.message, "invalid_request_error", error.code
    if error.kind == "rate_limit":
        retry_s = error.retry_after_s or 1.0
        kind = "tokens" if error.quota == "TPM" else "requests"
        code = "rate_limit_exceeded"
        limit = error.limit or NOMINAL_LIMITS[kind]  # a scripted 429 with no rpm knob set
        message = (
            f"Rate limit reached for {model} in organization org-emulator on {_QUOTA_WORDS[error.quota]}: "
            f"Limit {limit}. Please try again in {go_duration(retry_s)}. "
            "Visit https://platform.openai.com/account/rate-limits to learn more."
        )
        headers = {"retry-after": str(math.ceil(retry_s)), "retry-after-ms": str(math.ceil(retry_s * 1000))}
    elif status >= 500:
        kind, message = "server_error", _SERVER_MESSAGES.get(status, message)
    body = {"error": {"message": message, "type": kind, "param": error.param, "code": code}}
    return Response.json(body, status=status, headers=headers)


def rate_limit_headers(store: StateStore, model: str) -> dict[str, str]:
    use = store.behaviour.minute_use(model)
    headers: dict[str, str] = {}
    for name, window in (("requests", use["requests"]), ("tokens", use["input_tokens"])):
        limit = window.limit if window.limit is not None else NOMINAL_LIMITS[name]
        headers[f"x-ratelimit-limit-{name}"] = str(limit)
        headers[f"x-ratelimit-remaining-{name}"] = str(max(limit - window.used, 0))
        headers[f"x-ratelimit-reset-{name}"] = go_duration(window.reset_s)
    return headers
