"""Read JSON Schema and the OpenAPI subset (responseSchema) through one small interface."""

from __future__ import annotations

from typing import Any

from .protocol import pick

_TYPE_BY_PYTHON = {str: "string", bool: "boolean", int: "integer", float: "number"}


def resolve(node: Any, root: dict[str, Any]) -> dict[str, Any]:
    """Follow $ref/allOf and drop the null branch of Optional, returning a concrete schema."""
    seen = 0
    current: dict[str, Any] = node if isinstance(node, dict) else {}
    while seen < 32:  # guards against self-referencing $ref chains
        seen += 1
        ref = current.get("$ref")
        if isinstance(ref, str):
            target = _lookup_ref(ref, root)
            current = {**target, **{k: v for k, v in current.items() if k != "$ref"}}
            continue
        all_of = current.get("allOf")
        if isinstance(all_of, list) and all_of:
            merged: dict[str, Any] = {k: v for k, v in current.items() if k != "allOf"}
            for branch in all_of:
                merged = {**resolve(branch, root), **merged}
            current = merged
            continue
        branches = pick(current, "anyOf", "any_of", "oneOf", "one_of")
        if isinstance(branches, list) and branches:
            concrete = [b for b in branches if not is_null_schema(b)] or branches
            rest = {k: v for k, v in current.items() if k not in ("anyOf", "any_of", "oneOf", "one_of")}
            current = {**resolve(concrete[0], root), **{k: v for k, v in rest.items() if k not in ("type",)}}
            continue
        return current
    return current


def _lookup_ref(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    if not ref.startswith("#/"):
        return {}
    target: Any = root
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        target = target.get(token, {}) if isinstance(target, dict) else {}
    return target if isinstance(target, dict) else {}


def is_null_schema(node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    kind = node.get("type")
    return isinstance(kind, str) and kind.lower() == "null"


def type_of(node: dict[str, Any]) -> str:
    """Lower-case type name; inferred when the schema leaves it out."""
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "null")
    if isinstance(kind, str) and kind and kind.upper() != "TYPE_UNSPECIFIED":
        return kind.lower()
    if "properties" in node:
        return "object"
    if "items" in node:
        return "array"
    values = enum_values(node)
    if values:
        return _TYPE_BY_PYTHON.get(type(values[0]), "string")
    if "const" in node:
        return _TYPE_BY_PYTHON.get(type(node["const"]), "string")
    return "string"


def enum_values(node: dict[str, Any]) -> list[Any]:
    values = node.get("enum")
    if isinstance(values, list) and values:
        return values
    if "const" in node:
        return [node["const"]]
    return []


def ordered_properties(node: dict[str, Any]) -> list[tuple[str, Any]]:
    properties = node.get("properties") or {}
    ordering = pick(node, "propertyOrdering", "property_ordering", default=[]) or []
    names = [n for n in ordering if n in properties]
    names += [n for n in properties if n not in names]
    return [(name, properties[name]) for name in names]


def number_bounds(node: dict[str, Any]) -> tuple[float | None, float | None, bool, bool]:
    """(low, high, low_exclusive, high_exclusive) across JSON Schema and OpenAPI spellings."""
    low, high = node.get("minimum"), node.get("maximum")
    low_ex = high_ex = False
    ex_min, ex_max = (
        pick(node, "exclusiveMinimum", "exclusive_minimum"),
        pick(node, "exclusiveMaximum", "exclusive_maximum"),
    )
    if isinstance(ex_min, bool):
        low_ex = ex_min
    elif isinstance(ex_min, (int, float)):
        low, low_ex = ex_min, True
    if isinstance(ex_max, bool):
        high_ex = ex_max
    elif isinstance(ex_max, (int, float)):
        high, high_ex = ex_max, True
    return _num(low), _num(high), low_ex, high_ex


def int_bound(node: dict[str, Any], *names: str) -> int | None:
    value = pick(node, *names)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _num(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def response_format(config: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """The answer's MIME type (lower case) and the schema it must follow, if any, from a
    generation config (JSON Schema wins over the OpenAPI ``responseSchema``)."""
    mime = str(pick(config, "responseMimeType", "response_mime_type", default="text/plain")).lower()
    json_schema = pick(config, "responseJsonSchema", "response_json_schema", "_responseJsonSchema")
    open_api_schema = pick(config, "responseSchema", "response_schema")
    schema = json_schema if isinstance(json_schema, dict) else open_api_schema
    return mime, schema if isinstance(schema, dict) else None
