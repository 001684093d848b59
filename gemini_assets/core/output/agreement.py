"""Field-level agreement between two answers to the same task, each field scored 0..1.

The kind of comparison follows the task's JSON schema, so every task gets it without code:
- enums and booleans: exact;
- numbers: equal within a relative tolerance (``NUMBER_REL_TOLERANCE``);
- free text: normalised similarity (case, accents, punctuation and spacing ignored; difflib's
  ratio: stdlib, and no other library is needed for strings this short);
- arrays: set overlap (Jaccard) of the normalised elements;
- nested objects: the mean of their fields.
The model's own ``confidence`` is not a fact about the media, so it is not compared.
Used by model_comparison (champion vs challenger) and meant for golden-set accuracy too.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable
from difflib import SequenceMatcher
from typing import Any

NUMBER_REL_TOLERANCE = 0.02
NOT_COMPARED = frozenset({"confidence"})

Schema = dict[str, Any]


def field_agreement(
    left: dict[str, Any], right: dict[str, Any], schema: Schema, only: Iterable[str] | None = None
) -> dict[str, float]:
    """Agreement per top-level field of ``schema`` (``confidence`` left out); with ``only``, just
    those fields (a golden label that names some fields is scored on those alone)."""
    properties: dict[str, Schema] = schema.get("properties", {})
    defs: dict[str, Schema] = schema.get("$defs", {})
    wanted = None if only is None else set(only)
    return {
        name: value_agreement(left.get(name), right.get(name), _resolve(spec, defs), defs)
        for name, spec in properties.items()
        if name not in NOT_COMPARED and (wanted is None or name in wanted)
    }


def mean_agreement(fields: dict[str, float]) -> float | None:
    return sum(fields.values()) / len(fields) if fields else None


def value_agreement(left: Any, right: Any, spec: Schema, defs: dict[str, Schema] | None = None) -> float:
    defs = defs or {}
    spec = _resolve(spec, defs)
    if left is None or right is None:
        return 1.0 if left is None and right is None else 0.0
    kind = spec.get("type")
    if "enum" in spec or "const" in spec or kind == "boolean":
        return 1.0 if left == right else 0.0
    if kind in ("number", "integer"):
        return 1.0 if _close(left, right) else 0.0
    if kind == "array":
        return _overlap(left, right, _resolve(spec.get("items", {}), defs))
    if kind == "object" or isinstance(left, dict):
        if not isinstance(left, dict) or not isinstance(right, dict):
            return 0.0
        nested = {**spec, "$defs": defs}
        mean = mean_agreement(field_agreement(left, right, nested)) if spec.get("properties") else None
        return mean if mean is not None else (1.0 if left == right else 0.0)
    return text_similarity(str(left), str(right))


def text_similarity(left: str, right: str) -> float:
    a, b = normalise_text(left), normalise_text(right)
    if a == b:
        return 1.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def normalise_text(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w\s]", " ", plain).split())


def _close(left: Any, right: Any) -> bool:
    try:
        a, b = float(left), float(right)
    except (TypeError, ValueError):
        return bool(left == right)
    return math.isclose(a, b, rel_tol=NUMBER_REL_TOLERANCE, abs_tol=1e-9)


def _overlap(left: Any, right: Any, items: Schema) -> float:
    if not isinstance(left, list) or not isinstance(right, list):
        return 0.0
    a, b = {_element_key(v, items) for v in left}, {_element_key(v, items) for v in right}
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _element_key(value: Any, items: Schema) -> str:
    if isinstance(value, str) and "enum" not in items:
        return normalise_text(value)
    if isinstance(value, dict):
        # Objects in a list (a document's key fields) match when their text matches after normalising.
        return json.dumps({k: normalise_text(v) if isinstance(v, str) else v for k, v in value.items()}, sort_keys=True)
    return json.dumps(value, sort_keys=True)


def _resolve(spec: Schema, defs: dict[str, Schema]) -> Schema:
    ref = spec.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return defs.get(ref.removeprefix("#/$defs/"), {})
    if "anyOf" in spec:  # Optional[X]: compare as X
        options = [s for s in spec["anyOf"] if s.get("type") != "null"]
        return _resolve(options[0], defs) if len(options) == 1 else spec
    return spec
