"""Worse answers on request (the ``degrade`` knob), so quality measurement can be tested:
a canary that should be rolled back, a confidence that should not be trusted.

**Which requests.** A rule ``{"model", "prompt_contains", "wrong_rate", "confidence"}`` applies
when every selector it names matches; the first matching rule of the list wins:
- ``model``: the model the request names, exactly (Gemini: ``models/<model>`` in the URL, a batch
  line: its batch's model; OpenAI and Anthropic: the body's ``model``);
- ``prompt_contains``: a substring (case-sensitive) of the system instruction or of any text part.
The pipeline sends no task version, only the version's prompt, so a version is chosen by a phrase
only its prompt has: product_recognition 1.1.0 is the one whose instructions contain
``name the product's own colour, never the background's``.

**What changes.** Each top-level field of a JSON-object answer except the confidence is wrong with
probability ``wrong_rate``, decided by a hash of the ``seed`` knob, the media's SHA-256 (the text
when there is no media) and the field name: the same content gets the same fields wrong on every
call, and another seed picks other ones. Wrong values still fit the schema (degraded answers are
wrong, not invalid): another enum value, the other boolean, a number moved away, unrelated words
for free text, enum arrays replaced by values the answer did not have, other arrays and objects
element by element. An answer with a wrong field reports ``confidence`` (default 0.95) in its
confidence fields: over-confident exactly where it is wrong. Plain-text and enum answers are left
as they are. ``/_emulator/stats`` counts ``degraded_answers`` and ``degraded_fields``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .answers import bounded_text
from .knobs import Behaviour, DegradeRule, degrade_rules
from .prompt import Prompt
from .schema import enum_values, int_bound, number_bounds, ordered_properties, resolve, response_format, type_of

# Words no answer about the sample media contains: a text made of them is plainly wrong.
UNRELATED = ("striped", "vintage", "lantern", "bicycle", "velvet", "harbour", "quartz", "meadow", "compass", "violin")


def degrade_text(text: str, prompt: Prompt, config: dict[str, Any], model: str, behaviour: Behaviour) -> str:
    rules = degrade_rules(behaviour.knobs.degrade)
    rule = next((r for r in rules if r.matches(model, [*prompt.system_texts, *prompt.texts])), None)
    mime, schema = response_format(config)
    if rule is None or mime != "application/json" or schema is None:
        return text
    try:
        answer = json.loads(text)
    except ValueError:
        return text
    if not isinstance(answer, dict):
        return text
    wrong = degrade_answer(answer, schema, rule, f"{behaviour.knobs.seed}:{_content(prompt)}")
    if not wrong:
        return text
    behaviour.count("degraded_answers")
    behaviour.count("degraded_fields", len(wrong))
    return json.dumps(answer)


def degrade_answer(answer: dict[str, Any], schema: dict[str, Any], rule: DegradeRule, salt: str) -> list[str]:
    """Make fields of ``answer`` wrong in place, as ``rule`` says; returns the names made wrong."""
    root = resolve(schema, schema)
    wrong: list[str] = []
    confidences: list[tuple[str, dict[str, Any]]] = []
    for name, node in ordered_properties(root):
        if name not in answer:
            continue
        if "confidence" in name.lower():
            confidences.append((name, resolve(node, schema)))
            continue
        key = f"{salt}:{name}"
        if _draw(key) < rule.wrong_rate:
            changed = _wrong(answer[name], node, schema, key)
            if changed != answer[name]:
                answer[name] = changed
                wrong.append(name)
    if wrong:
        for name, node in confidences:
            low, high, _, _ = number_bounds(node)
            answer[name] = min(max(rule.confidence, low if low is not None else 0.0), high if high is not None else 1.0)
    return wrong


def _content(prompt: Prompt) -> str:
    if prompt.media:
        return ",".join(item.sha256 for item in prompt.media)
    return hashlib.sha256("\n".join(prompt.texts).encode()).hexdigest()


def _draw(key: str) -> float:
    """A number in [0, 1) fixed by ``key``."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:13], 16) / 16**13


def _pick(key: str, count: int) -> int:
    return int(hashlib.sha256(f"{key}#pick".encode()).hexdigest()[:8], 16) % count


def _wrong(value: Any, node: Any, root: dict[str, Any], key: str) -> Any:
    node = resolve(node, root)
    kind = type_of(node)
    if kind == "array":
        return _wrong_array(value, node, root, key)
    values = enum_values(node)
    if values:
        others = [v for v in values if v != value]
        return others[_pick(key, len(others))] if others else value
    if kind == "boolean" and isinstance(value, bool):
        return not value
    if kind in ("integer", "number") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _moved(value, node, kind)
    if kind == "object" and isinstance(value, dict):
        properties = dict(ordered_properties(node))
        return {k: _wrong(v, properties.get(k, {}), root, f"{key}.{k}") for k, v in value.items()}
    if kind == "string" and isinstance(value, str) and not (node.get("format") or node.get("pattern")):
        return _unrelated(node, key)
    return value  # a format or pattern the emulator cannot promise to keep: left right


def _wrong_array(value: Any, node: dict[str, Any], root: dict[str, Any], key: str) -> Any:
    if not isinstance(value, list):
        return value
    items = resolve(node.get("items") or {}, root)
    low = int_bound(node, "minItems", "min_items") or 0
    high = int_bound(node, "maxItems", "max_items")
    values = enum_values(items)
    if values:
        spare = [v for v in values if v not in value]
        if not spare:
            return value
        start = _pick(key, len(spare))
        size = max(len(value), low, 1)
        return (spare[start:] + spare[:start])[: size if high is None else min(size, high)]
    if value:
        return [_wrong(v, items, root, f"{key}[{i}]") for i, v in enumerate(value)]
    if type_of(items) == "string" and (high is None or high >= 1):
        return [_unrelated(items, f"{key}[0]")]
    return value


def _unrelated(node: dict[str, Any], key: str) -> str:
    words = [UNRELATED[_pick(f"{key}:{i}", len(UNRELATED))] for i in range(3)]
    return bounded_text(node, " ".join(words))


def _moved(value: float, node: dict[str, Any], kind: str) -> int | float:
    step = max(1.0, abs(value))
    low, high, _, _ = number_bounds(node)
    moved = value + step
    if high is not None and moved > high:
        moved = value - step if low is None or value - step >= low else (low + value) / 2
    return round(moved) if kind == "integer" else moved
