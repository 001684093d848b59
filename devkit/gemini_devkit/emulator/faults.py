"""Answer shapes a test can ask for, per request, to exercise output validation end to end.

A request whose text contains ``[[emulate:<shape>]]`` (e.g. in the uploader's context line)
gets a deliberately bad answer of that shape; ``[[emulate:<shape>:once]]`` misbehaves only on
the first call of a conversation, so the client's repair retry gets a good answer. Real Gemini
never sees these markers: only the emulator reads them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

DIRECTIVE = re.compile(r"\[\[emulate:([a-z_]+)(:once)?\]\]")
PII_SENTENCE = " Contact jane.doe@example.com or +49 30 1234 5678."
SENSITIVE_SENTENCE = " This item is strictly confidential."

SHAPES = (
    "fenced_json",
    "missing_field",
    "extra_field",
    "wrong_type",
    "oversized_array",
    "pii",
    "sensitive",
    "low_confidence",
    "max_tokens",
    "safety_block",
    "safety_finish",
    "not_json",
)


@dataclass
class Shaped:
    text: str | None
    finish_reason: str | None
    block_reason: str | None = None


def requested_shape(body: dict[str, Any]) -> str | None:
    """The shape asked for, or None when this call should be answered normally."""
    contents = body.get("contents") or []
    repair = any(isinstance(c, dict) and c.get("role") == "model" for c in contents)
    texts = [str((part or {}).get("text") or "") for content in contents for part in (content or {}).get("parts") or []]
    return shape_in(texts, repair)


def shape_in(texts: list[str], repair: bool) -> str | None:
    """The shape the texts ask for; ``repair``: the conversation already has a model turn."""
    for text in texts:
        match = DIRECTIVE.search(text)
        if match and match.group(1) in SHAPES:
            return None if (match.group(2) and repair) else match.group(1)
    return None


def apply_shape(shape: str, text: str) -> Shaped:
    if shape == "safety_block":
        return Shaped(None, None, "SAFETY")
    if shape == "safety_finish":
        return Shaped("", "SAFETY")
    if shape == "max_tokens":
        return Shaped(text[: max(len(text) // 2, 1)], "MAX_TOKENS")
    if shape == "not_json":
        return Shaped("Sure! Here is what I see: " + text[:60], "STOP")
    if shape == "fenced_json":
        return Shaped(f"```json\n{text}\n```", "STOP")
    try:
        answer = json.loads(text)
    except ValueError:
        return Shaped(text, "STOP")
    if isinstance(answer, dict):
        _reshape(shape, answer)
    return Shaped(json.dumps(answer), "STOP")


def _reshape(shape: str, answer: dict[str, Any]) -> None:
    strings = [k for k, v in answer.items() if isinstance(v, str)]
    if shape == "missing_field" and answer:
        answer.pop(next(iter(answer)))
    elif shape == "extra_field":
        answer["unexpected_field"] = "not in the schema"
    elif shape == "wrong_type":
        numbers = [k for k, v in answer.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        answer[numbers[0] if numbers else next(iter(answer))] = "high"
    elif shape == "oversized_array":
        for key, value in answer.items():
            if isinstance(value, list):
                answer[key] = (value or ["item"]) * 25
    elif shape == "low_confidence" and "confidence" in answer:
        answer["confidence"] = 0.1
    elif shape in ("pii", "sensitive") and strings:
        target = next((k for k in strings if k in ("description", "summary")), strings[0])
        answer[target] = answer[target] + (PII_SENTENCE if shape == "pii" else SENSITIVE_SENTENCE)
