"""Who acted, as the audit trail records it: a person's name and where that name came from.

A review decision's audit event carries three fields: ``reviewer`` (who decided),
``recorded_by`` (the operating-system account of the process that wrote the decision) and
``identity`` (how ``reviewer`` was established: the OS account itself, the user an
authenticating proxy passed on, or an explicit admin override naming someone else).

This module sits in the audit layer, below core.review, so that ``audit verify`` can check the
identity of every decision event with the very validator the review entry points use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gemini_assets.core.contracts.errors import DecisionError

NAME_MAX_CHARS = 64
# Login-like names (POSIX portable characters) plus "@" for the e-mail-shaped users an
# authenticating proxy passes on. No spaces, no "/", no non-ASCII look-alikes, no control
# characters: the name lands in file-backed tables, terminals and the audit trail, and two
# names that print alike must be the same name. The first character is never "." (no "..")
# nor "-" (never read as an option).
_FIRST = re.compile(r"[A-Za-z0-9_]")
_ALLOWED = re.compile(r"[A-Za-z0-9._@-]")
REVIEWED_EVENT = "reviewed"


class IdentityError(DecisionError):
    """A reviewer's identity cannot be established or is not allowed (nothing is recorded)."""


class IdentitySource(StrEnum):
    OS_USER = "os_user"  # the OS account that ran the command decided (reviewer == recorded_by)
    PROXY = "proxy"  # the user an authenticating reverse proxy passed on (web entry points)
    ADMIN_OVERRIDE = "admin_override"  # recorded_by named someone else explicitly


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a person's name in the audit trail (None: it can)."""
    if not 1 <= len(name) <= NAME_MAX_CHARS:
        return f"a reviewer name has 1 to {NAME_MAX_CHARS} characters, not {len(name)}"
    refused = next((char for char in name if not _ALLOWED.fullmatch(char)), None)
    if refused is not None:
        return f"{refused!r} is not allowed in a reviewer name: use letters a-z A-Z, digits and . _ - @"
    if not _FIRST.fullmatch(name[0]):
        return f"a reviewer name starts with a letter, a digit or _, not {name[0]!r}"
    return None


def checked_name(name: str, what: str = "reviewer name") -> str:
    problem = name_problem(name)
    if problem:
        raise IdentityError(f"invalid {what}: {problem}")
    return name


@dataclass(frozen=True)
class Identity:
    """Who decided (``name``), which OS account recorded it, and how ``name`` was established."""

    name: str
    recorded_by: str
    source: IdentitySource

    def __post_init__(self) -> None:
        checked_name(self.name)
        checked_name(self.recorded_by, "recording user")
        if self.source == IdentitySource.OS_USER and self.name != self.recorded_by:
            raise IdentityError(f"{self.name!r} is not the OS user {self.recorded_by!r}")

    def event_fields(self) -> dict[str, Any]:
        return {"reviewer": self.name, "recorded_by": self.recorded_by, "identity": str(self.source)}


def event_identity_problem(event: dict[str, Any]) -> str | None:
    """What is wrong with the identity a review-decision event carries (None: nothing)."""
    reviewer, recorded_by, source = event.get("reviewer"), event.get("recorded_by"), event.get("identity")
    if not isinstance(source, str) or source not in {s.value for s in IdentitySource}:
        return f"no reviewer identity source (identity={_shown(source)})"
    for field, value in (("reviewer", reviewer), ("recorded_by", recorded_by)):
        problem = name_problem(value) if isinstance(value, str) else f"missing ({value!r})"
        if problem:
            return f"{field} {_shown(value)}: {problem}"
    if source == IdentitySource.OS_USER and reviewer != recorded_by:
        return f"reviewer {reviewer!r} is recorded as the OS user, but the OS user was {recorded_by!r}"
    return None


def identity_problems(records: Iterable[dict[str, Any]], first_index: int = 0) -> list[str]:
    """One problem per review-decision event (from ``first_index`` on) whose identity is not valid.

    The hash chain proves an event was not changed after it was written; this proves each
    decision was written with an established identity, by the rules the entry points enforce.
    """
    problems = []
    for index, record in enumerate(records, start=first_index):
        if record.get("event") == REVIEWED_EVENT:
            problem = event_identity_problem(record)
            if problem:
                problems.append(f"record {index}: review decision without a valid reviewer identity: {problem}")
    return problems


def _shown(value: object) -> str:
    """A value safe to print in a verification report (escaped, and cut when long)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
