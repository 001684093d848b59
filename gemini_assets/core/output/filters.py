"""Sensitive-word and PII filter on model output text, before anything reaches analysts.

Regexes for the structured PII kinds (email, phone, card numbers with a Luhn check, IBAN with
its mod-97 check, IPv4/IPv6): these are exact formats that a pattern plus checksum catches
reliably offline, with no model download. Each task chooses per finding kind whether to
``redact`` (record kept, values masked, flags noted) or ``flag`` (item goes to review).
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

WORDS_ENV = "GEMINI_ASSETS_SENSITIVE_WORDS"
PATTERNS_ENV = "GEMINI_ASSETS_PII_PATTERNS"  # JSON file {"employee_id": "\\bEMP-\\d{6}\\b", ...}

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
# International (+), bracketed or trunk-prefixed (0) numbers only: bare digit runs are far more
# often sizes, dates or ids in model output than phone numbers.
_PHONE = re.compile(r"(?<![\w+])(?:\+|\(|0)[\d\s().-]{7,}\d(?!\w)")
_CARD = re.compile(r"\b(?:\d[ -]?){13,19}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b")
_IP = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{1,4}\b")


def luhn_ok(digits: str) -> bool:
    total, double = 0, False
    for char in reversed(digits):
        value = int(char) * (2 if double else 1)
        total += value - 9 if value > 9 else value
        double = not double
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    rotated = compact[4:] + compact[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rotated)
    return 15 <= len(compact) <= 34 and int(numeric) % 97 == 1


def _valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# kind -> (pattern, validator of a match)
PII_PATTERNS = {
    "email": (_EMAIL, lambda m: True),
    "iban": (_IBAN, iban_ok),
    "card": (_CARD, lambda m: 13 <= len(re.sub(r"\D", "", m)) <= 19 and luhn_ok(re.sub(r"\D", "", m))),
    "ip": (_IP, _valid_ip),
    "phone": (_PHONE, lambda m: 9 <= len(re.sub(r"\D", "", m)) <= 15),
}


def pii_patterns() -> dict:
    """Built-in PII kinds plus the organisation's own ID patterns from $GEMINI_ASSETS_PII_PATTERNS."""
    path = os.environ.get(PATTERNS_ENV)
    if not path:
        return PII_PATTERNS
    import json

    try:
        custom = {name: (re.compile(regex), lambda m: True) for name, regex in json.loads(open(path).read()).items()}
    except (OSError, ValueError, re.error) as exc:
        raise ValueError(f"{PATTERNS_ENV}={path}: expected a JSON object of name -> regex ({exc})") from None
    return {**custom, **PII_PATTERNS}


def redact_text(text: str) -> tuple[str, list[str]]:
    """Mask every PII match in free text (sidecar context before it reaches a prompt)."""
    result = filter_output({"text": text}, OutputPolicy(pii_action="redact", sensitive_words=()))
    return result.value["text"], [f.split("@", 1)[0] for f in result.findings]


def default_sensitive_words() -> tuple[str, ...]:
    path = os.environ.get(WORDS_ENV)
    text = open(path).read() if path else resources.files("gemini_assets.core.output").joinpath("sensitive_words.txt").read_text()
    return tuple(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#"))


@dataclass(frozen=True)
class OutputPolicy:
    pii_action: str = "redact"  # redact | flag
    sensitive_action: str = "flag"  # redact | flag
    sensitive_words: tuple[str, ...] | None = None  # None: the packaged list (or $GEMINI_ASSETS_SENSITIVE_WORDS)

    def words(self) -> tuple[str, ...]:
        return self.sensitive_words if self.sensitive_words is not None else default_sensitive_words()


@dataclass
class FilterResult:
    value: Any
    findings: list[str] = field(default_factory=list)  # e.g. "pii:email@description"
    flagged: list[str] = field(default_factory=list)  # findings whose action is flag

    @property
    def flags(self) -> str | None:
        return ",".join(sorted(set(self.findings))) or None


def filter_output(record: dict[str, Any], policy: OutputPolicy) -> FilterResult:
    result = FilterResult(value=None)
    words = policy.words()
    word_pattern = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE) if words else None
    result.value = _walk(record, "", policy, word_pattern, result)
    return result


def _walk(value: Any, path: str, policy: OutputPolicy, words: re.Pattern | None, result: FilterResult) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, f"{path}.{k}" if path else k, policy, words, result) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, f"{path}[{i}]", policy, words, result) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    text = value
    for kind, (pattern, valid) in pii_patterns().items():
        def mask(match: re.Match, kind=kind, valid=valid) -> str:
            if not valid(match.group(0)):
                return match.group(0)
            finding = f"pii:{kind}@{path}"
            result.findings.append(finding)
            if policy.pii_action == "flag":
                result.flagged.append(finding)
                return match.group(0)
            return f"[{kind.upper()} REDACTED]"

        text = pattern.sub(mask, text)
    if words is not None:
        def mask_word(match: re.Match) -> str:
            finding = f"sensitive:{match.group(0).lower()}@{path}"
            result.findings.append(finding)
            if policy.sensitive_action == "flag":
                result.flagged.append(finding)
                return match.group(0)
            return "[REDACTED]"

        text = words.sub(mask_word, text)
    return text
