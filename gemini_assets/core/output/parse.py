"""Never trust the model's JSON: parse strictly, validate with the task's pydantic model."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from gemini_assets.core.contracts.enums import ParseStatus

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(?P<body>.*?)\n\s*```\s*$", re.DOTALL)


@dataclass(frozen=True)
class Parsed:
    status: ParseStatus  # valid | repaired (fenced JSON unwrapped) | invalid
    value: dict[str, Any] | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.value is not None


def invalid(error: str) -> Parsed:
    return Parsed(ParseStatus.INVALID, None, error)


def parse_answer(text: str | None, model: type[BaseModel]) -> Parsed:
    if not text or not text.strip():
        return invalid("empty answer")
    status, body = ParseStatus.VALID, text
    fenced = _FENCE.match(text)
    if fenced:
        status, body = ParseStatus.REPAIRED, fenced.group("body")
    try:
        raw = json.loads(body)
    except json.JSONDecodeError as exc:
        return invalid(f"not JSON: {exc}")
    try:
        value = model.model_validate(raw)
    except ValidationError as exc:
        summary = "; ".join(f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors()[:5])
        return invalid(f"schema: {summary}")
    return Parsed(status, value.model_dump(mode="json"), None)
