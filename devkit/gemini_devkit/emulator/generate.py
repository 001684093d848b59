"""generateContent and countTokens, each recorded in the served-request log."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from .answers import choose_enum_value, describe, fill_schema
from .degrade import degrade_text
from .errors import ApiError, invalid
from .faults import apply_shape, requested_shape
from .prompt import Prompt, parse_prompt
from .protocol import Request, Response, pick
from .schema import response_format
from .state import StateStore, rfc3339, utc_now
from .tokens import prompt_token_details, text_tokens, usage_metadata

# The script's answer shapes in Gemini's terms: a refused answer is withheld (finishReason SAFETY,
# no parts); a truncated one stops at the token budget (finishReason MAX_TOKENS).
SCRIPTED_SHAPES = {"refusal": "safety_finish", "truncate": "max_tokens"}


def generate_content(store: StateStore, request: Request, model: str) -> Response:
    return _served(store, "generateContent", model, lambda record: _generate(store, request, model, record))


def count_tokens(store: StateStore, request: Request, model: str) -> Response:
    return _served(store, "countTokens", model, lambda record: _count(store, request, model, record))


def _served(store: StateStore, method: str, model: str, run: Callable[[dict], Response]) -> Response:
    """Run a handler and append exactly one log line, whatever the outcome."""
    record: dict[str, Any] = {
        "ts": rfc3339(utc_now()),
        "method": method,
        "model": model,
        "status": 500,
        "usage": None,
        "media": [],
        "response_id": None,
    }
    try:
        response = run(record)
        record["status"] = response.status
        return response
    except ApiError as error:
        record["status"] = error.code
        raise
    finally:
        store.append_served(record)


def _generate(store: StateStore, request: Request, model: str, record: dict) -> Response:
    return Response.json(answer_document(store, request.json(), model, record))


def answer_document(
    store: StateStore, body: dict[str, Any], model: str, record: dict, online: bool = True
) -> dict[str, Any]:
    """The GenerateContentResponse for one request body (also used per batch line, online=False:
    batch lines skip the online knobs, latency, scripted errors and per-minute quotas)."""
    contents = body.get("contents") or []
    if contents and isinstance(contents[-1], dict) and contents[-1].get("role") == "model":
        # As Gemini does: a conversation must end on a user turn.
        raise invalid("Please ensure that multiturn requests end with a user role or a function response.")
    prompt = parse_prompt(store, body)
    record["media"] = [item.log_entry() for item in prompt.media]
    config = pick(body, "generationConfig", "generation_config", default={}) or {}
    details = prompt_token_details(prompt, model, pick(config, "mediaResolution", "media_resolution"))
    # Knobs: injected errors, quotas (429 with RetryInfo), latency; see knobs.py.
    scripted = store.behaviour.before_answer(model, sum(int(d["tokenCount"]) for d in details)) if online else None
    # Worse answers for a chosen model or prompt (the degrade knob), before any shape is applied.
    text = degrade_text(answer_text(prompt, config), prompt, config, model, store.behaviour)
    finish = "STOP"
    limit = pick(config, "maxOutputTokens", "max_output_tokens")
    if limit is not None and text_tokens(text) > int(limit):
        # Cut to the token budget the way a real model stops mid-answer.
        text, finish = text[: max(int(limit), 0) * 4], "MAX_TOKENS"
    usage = usage_metadata(details, text)
    block_reason = None
    shape = SCRIPTED_SHAPES.get(scripted or "") or requested_shape(body)
    if shape:
        shaped = apply_shape(shape, text)
        text, finish, block_reason = shaped.text or "", shaped.finish_reason or finish, shaped.block_reason
        usage = usage_metadata(details, text)
    response_id = secrets.token_urlsafe(16)
    record["usage"], record["response_id"] = usage, response_id
    document: dict[str, Any] = {"usageMetadata": usage, "modelVersion": model, "responseId": response_id}
    if block_reason:
        # A blocked prompt has no candidates at all, only promptFeedback.
        document["promptFeedback"] = {"blockReason": block_reason}
    else:
        parts = [{"text": text}] if text else []
        document["candidates"] = [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}]
    return document


def answer_text(prompt: Prompt, config: dict[str, Any]) -> str:
    mime, schema = response_format(config)
    if mime == "text/x.enum" and schema is not None:
        return str(choose_enum_value(prompt, schema))
    if mime == "application/json":
        if schema is not None:
            return json.dumps(fill_schema(prompt, schema))
        return json.dumps({"description": describe(prompt)})
    return describe(prompt)


def _count(store: StateStore, request: Request, model: str, record: dict) -> Response:
    body = request.json()
    # REST also allows wrapping a whole GenerateContentRequest; honour its config then.
    wrapped = pick(body, "generateContentRequest", "generate_content_request")
    source = wrapped if isinstance(wrapped, dict) else body
    prompt = parse_prompt(store, source)
    record["media"] = [item.log_entry() for item in prompt.media]
    config = pick(source, "generationConfig", "generation_config", default={}) or {}
    details = prompt_token_details(prompt, model, pick(config, "mediaResolution", "media_resolution"))
    document = {"totalTokens": sum(d["tokenCount"] for d in details), "promptTokensDetails": details}
    record["usage"] = document
    return Response.json(document)
