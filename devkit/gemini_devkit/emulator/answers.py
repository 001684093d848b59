"""Fill a response schema with values derived from the request's media and text.

Generic: walks any schema; property names only steer which true fact goes where.
Deterministic: same request in, same answer out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from .prompt import Prompt
from .schema import enum_values, int_bound, number_bounds, ordered_properties, resolve, type_of

MAX_DEPTH = 8
_ALIASES = {"grey": "gray", "jpg": "jpeg"}
_FALLBACK_ENUMS = ("other", "unknown")


@dataclass
class _Context:
    prompt: Prompt
    root: dict[str, Any]
    text_matched: bool = False


def describe(prompt: Prompt) -> str:
    """One true sentence per media part; the plain-text answer and every description field."""
    if not prompt.media:
        return "No media was provided."
    return " ".join(item.sentence() for item in prompt.media)


def fill_schema(prompt: Prompt, schema: dict[str, Any]) -> Any:
    # First pass only learns whether any enum matched the text, which sets confidence;
    # the confidence field may come before that enum in property order.
    probe = _Context(prompt, schema)
    _fill(probe, schema, "", 0)
    final = _Context(prompt, schema, text_matched=probe.text_matched)
    return _fill(final, schema, "", 0)


def choose_enum_value(prompt: Prompt, schema: dict[str, Any]) -> Any:
    """For text/x.enum answers: the single enum value the rules pick."""
    context = _Context(prompt, schema)
    return _choose_enum(context, enum_values(resolve(schema, schema)))


def _fill(ctx: _Context, node: Any, name: str, depth: int) -> Any:
    node = resolve(node, ctx.root)
    kind = type_of(node)
    if depth > MAX_DEPTH:
        return {"object": {}, "array": []}.get(kind)
    values = enum_values(node)
    if kind == "array":
        return _fill_array(ctx, node, name, depth)
    if values:
        return _choose_enum(ctx, values)
    if kind == "object":
        return {prop: _fill(ctx, sub, prop, depth + 1) for prop, sub in ordered_properties(node)}
    if kind in ("integer", "number"):
        return _fill_number(ctx, node, name, kind)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _fill_string(ctx, node, name)


# ---- enums --------------------------------------------------------------------------------


def _norm(value: Any) -> str:
    text = str(value).strip().lower()
    return _ALIASES.get(text, text)


def _media_facts(prompt: Prompt) -> list[str]:
    facts: list[str] = []
    for item in prompt.media:
        if item.image is not None:
            facts += item.image.colors
            facts += [item.image.orientation, item.image.brightness, _norm(item.image.format)]
        facts.append(item.kind)
    return facts


def _fact_matches(ctx: _Context, values: list[Any]) -> list[Any]:
    by_norm = {_norm(v): v for v in reversed(values)}
    matched: list[Any] = []
    for fact in _media_facts(ctx.prompt):
        value = by_norm.get(fact)
        if value is not None and value not in matched:
            matched.append(value)
    return matched


def _text_match(ctx: _Context, values: list[Any]) -> Any:
    # Context lines describe this very item, so they win over the generic prompt wording.
    for text in [*ctx.prompt.context_lines, "\n".join(ctx.prompt.texts)]:
        for value in values:
            words = re.escape(str(value)).replace("_", "[_ ]").replace(r"\-", "[- ]")
            if re.search(rf"(?<!\w){words}(?!\w)", text, re.IGNORECASE):
                return value
    return None


def _choose_enum(ctx: _Context, values: list[Any]) -> Any:
    matched = _fact_matches(ctx, values)
    if matched:
        return matched[0]
    found = _text_match(ctx, values)
    if found is not None:
        ctx.text_matched = True
        return found
    return next((v for v in values if _norm(v) in _FALLBACK_ENUMS), values[0])


# ---- arrays -------------------------------------------------------------------------------


def _is_color_name(name: str) -> bool:
    lowered = name.lower()
    return "color" in lowered or "colour" in lowered


def _fill_array(ctx: _Context, node: dict[str, Any], name: str, depth: int) -> list[Any]:
    low = int_bound(node, "minItems", "min_items") or 0
    high = int_bound(node, "maxItems", "max_items")
    items = resolve(node.get("items") or {}, ctx.root)
    values = enum_values(items)
    colors = _colors(ctx)
    result: list[Any]
    labelled = _labelled_fields(ctx, items, depth)
    if labelled is not None:
        result, spare = labelled, []
    elif values:
        result = _fact_matches(ctx, values) if _is_color_name(name) else []
        result = [v for v in result if _norm(v) in colors] or [_choose_enum(ctx, values)]
        spare = [v for v in values if v not in result]
    elif _is_color_name(name) and type_of(items) == "string" and colors:
        result = list(colors)
        spare = [c for c in ("red", "green", "blue", "black", "white", "gray") if c not in result]
    else:
        result = [_fill(ctx, items, name, depth + 1) for _ in range(max(1, low))]
        spare = []
    while len(result) < low:
        result.append(spare.pop(0) if spare else result[-1])
    return result[:high] if high is not None else result


def _labelled_fields(ctx: _Context, items: dict[str, Any], depth: int) -> list[dict[str, Any]] | None:
    """A document's ``Label: value`` lines, for an array of objects with a name and a value
    property (``key_fields``); None when the request has no such document or the items differ."""
    document = ctx.prompt.first_document
    if document is None or not document.fields or type_of(items) != "object":
        return None
    properties = dict(ordered_properties(items))
    label = next((p for p in properties if any(k in p.lower() for k in ("name", "label", "key"))), None)
    value = next((p for p in properties if "value" in p.lower()), None)
    if label is None or value is None or label == value:
        return None
    result = []
    for text_label, text_value in document.fields:
        entry = {prop: _fill(ctx, sub, prop, depth + 2) for prop, sub in properties.items()}
        entry[label] = bounded_text(resolve(properties[label], ctx.root), text_label)
        entry[value] = bounded_text(resolve(properties[value], ctx.root), text_value)
        result.append(entry)
    return result


def _colors(ctx: _Context) -> list[str]:
    image = ctx.prompt.first_image
    return list(image.colors) if image is not None else []


# ---- scalars ------------------------------------------------------------------------------


def _fill_number(ctx: _Context, node: dict[str, Any], name: str, kind: str) -> int | float:
    lowered = name.lower()
    image = ctx.prompt.first_image
    if image is not None and "width" in lowered:
        value: float = image.width
    elif image is not None and "height" in lowered:
        value = image.height
    elif "confidence" in lowered:
        value = 0.9 if ctx.text_matched else 0.6
    else:
        value = 0.0
    return _clamp(node, value, kind, default_high=1.0 if "confidence" in lowered else None)


def _clamp(node: dict[str, Any], value: float, kind: str, default_high: float | None) -> int | float:
    low, high, low_ex, high_ex = number_bounds(node)
    if high is None:
        high, high_ex = default_high, False
    if kind == "integer":
        low = None if low is None else (math.floor(low) + 1 if low_ex else math.ceil(low))
        high = None if high is None else (math.ceil(high) - 1 if high_ex else math.floor(high))
        value = round(value)
    else:
        low = None if low is None else (low + 1e-3 if low_ex else low)
        high = None if high is None else (high - 1e-3 if high_ex else high)
    if low is not None:
        value = max(low, value)
    if high is not None:
        value = min(high, value)
    return int(value) if kind == "integer" else float(value)


def _fill_string(ctx: _Context, node: dict[str, Any], name: str) -> str:
    return bounded_text(node, _string_for(ctx, node, name.lower()))


def bounded_text(node: dict[str, Any], text: str) -> str:
    """``text`` cut to the schema's maxLength, padded to its minLength."""
    high = int_bound(node, "maxLength", "max_length")
    low = int_bound(node, "minLength", "min_length") or 0
    if high is not None and len(text) > high:
        text = text[:high].rstrip() or text[:high]
    return text + "." * max(0, low - len(text))


def _string_for(ctx: _Context, node: dict[str, Any], name: str) -> str:
    prompt, image = ctx.prompt, ctx.prompt.first_image
    fmt = str(node.get("format", "")).lower()
    if fmt == "date-time":
        return "1970-01-01T00:00:00Z"
    if fmt == "date":
        return "1970-01-01"
    if any(key in name for key in ("description", "summary", "caption")):
        return describe(prompt)
    if _is_color_name(name):
        return image.colors[0] if image else "unknown"
    document = prompt.first_document
    if "title" in name and document is not None and (document.title or document.first_line):
        # A PDF stripped of its metadata (as the pipeline sends it) has no /Title: a reader
        # takes the heading printed on the first page.
        return document.title or document.first_line
    if any(key in name for key in ("name", "title", "product")):
        return product_phrase(prompt)
    if image is not None:
        for key, value in (
            ("format", image.format),
            ("orientation", image.orientation),
            ("brightness", image.brightness),
        ):
            if key in name:
                return value
    if "mime" in name and prompt.media:
        return prompt.media[0].mime_type
    if image is not None:
        return f"{image.colors[0]} {image.orientation} image"
    return f"{prompt.media[0].kind} file" if prompt.media else "no media"


def product_phrase(prompt: Prompt) -> str:
    lines = prompt.context_lines
    if not lines:
        return "unidentified item"
    head = re.split(r"[,.;:!?()\[\]]", lines[0], maxsplit=1)[0]
    words = re.findall(r"[\w'&-]+", head)[:4]
    if not words:
        return "unidentified item"
    image = prompt.first_image
    color = image.colors[0] if image is not None else ""
    return f"{color} {' '.join(words)}".strip()
