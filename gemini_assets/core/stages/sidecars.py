"""Upload sidecars (``<upload>.meta.json``): who uploaded, consent, residency, free-text context.

A sidecar is refused before it is parsed when it is hostile (too large, nested deeper than a flat
object needs) or not a regular file (a link would read another file's bytes): the upload then
gets ``invalid_sidecar`` and the day goes on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gemini_assets.core.contracts.enums import SidecarStatus
from gemini_assets.core.storage.objectstore import ObjectStore

SIDECAR_SUFFIX = ".meta.json"
_SIDECAR_FIELDS: dict[str, type] = {"uploader": str, "consent": bool, "residency": str, "context": str}
# A sidecar is one flat object of four short fields: anything near these limits is hostile.
SIDECAR_MAX_BYTES = 64 * 1024
SIDECAR_MAX_DEPTH = 4
_QUOTE, _BACKSLASH, _OPENERS, _CLOSERS = ord('"'), ord("\\"), frozenset(b"[{"), frozenset(b"]}")


@dataclass(frozen=True)
class Sidecar:
    status: SidecarStatus
    fields: dict[str, Any] = field(default_factory=dict)
    problem: str = ""


def read_sidecar(store: ObjectStore, key: str) -> Sidecar:
    sidecar_key = key + SIDECAR_SUFFIX
    entry = store.entry(sidecar_key)
    if entry is None:
        return Sidecar(SidecarStatus.MISSING)
    if not entry.regular:  # a linked sidecar would read another file's bytes
        return Sidecar(SidecarStatus.INVALID, problem=f"the sidecar is a {entry.kind}, not a regular file")
    with store.open(sidecar_key) as handle:
        data = handle.read(SIDECAR_MAX_BYTES + 1)  # never more: a huge sidecar is refused, not read whole
    problem = hostile_sidecar_problem(data)
    if problem:
        return Sidecar(SidecarStatus.INVALID, problem=problem)
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        return Sidecar(SidecarStatus.INVALID, problem=f"sidecar is not JSON: {exc}")
    if not isinstance(raw, dict):
        return Sidecar(SidecarStatus.INVALID, problem="sidecar is not a JSON object")
    fields: dict[str, Any] = {}
    for name, kind in _SIDECAR_FIELDS.items():
        value = raw.get(name)
        if value is not None and not isinstance(value, kind):
            return Sidecar(SidecarStatus.INVALID, problem=f"sidecar field {name!r} must be {kind.__name__}")
        fields[name] = value
    if fields.get("residency") not in (None, "global", "restricted"):
        return Sidecar(SidecarStatus.INVALID, problem="sidecar residency must be 'global' or 'restricted'")
    return Sidecar(SidecarStatus.PRESENT, fields)


def hostile_sidecar_problem(data: bytes) -> str | None:
    """Why a sidecar is refused before it is parsed: too large, or nested deeper than a flat
    object needs (json.loads recurses once per level, so deep nesting would crash the step)."""
    if len(data) > SIDECAR_MAX_BYTES:
        return f"sidecar is larger than {SIDECAR_MAX_BYTES // 1024} KiB"
    if json_nesting(data) > SIDECAR_MAX_DEPTH:
        return f"sidecar nests deeper than {SIDECAR_MAX_DEPTH} levels"
    return None


def json_nesting(data: bytes) -> int:
    """The deepest ``[``/``{`` nesting of JSON text, counted in one pass without recursion;
    brackets inside strings do not count."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        elif byte in _CLOSERS:
            depth -= 1
    return deepest


def is_sidecar(key: str, landed: set[str]) -> bool:
    """``X.meta.json`` is X's sidecar only when X landed too; otherwise it is an upload of its own
    (a media file may be named like that), so it gets a row and a verdict like any other."""
    return key.endswith(SIDECAR_SUFFIX) and key.removesuffix(SIDECAR_SUFFIX) in landed
