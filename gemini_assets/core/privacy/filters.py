"""PII and sensitive-word filters on text: uploader context before a prompt, model answers after.

Regexes for the structured PII kinds (email, phone, card numbers with a Luhn check, IBAN with
its mod-97 check, IPv4/IPv6): these are exact formats that a pattern plus checksum catches
reliably offline, with no model download. Each task chooses per finding kind whether to
``redact`` (record kept, values masked, flags noted) or ``flag`` (item goes to review).
The organisation's own ID patterns and word list come from the configuration (TextFilter.load).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from gemini_assets.core.contracts.errors import ConfigurationError

Action = Literal["redact", "flag"]
Validator = Callable[[str], bool]

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
# International (+), bracketed or trunk-prefixed (0) numbers only: bare digit runs are far more
# often sizes, dates or ids in model output than phone numbers.
_PHONE = re.compile(r"(?<![\w+])(?:\+|\(|0)[\d\s().-]{7,}\d(?!\w)")
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")  # 13 to 19 digits, never the separator after them
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


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _always(_text: str) -> bool:
    return True


# kind -> (pattern, validator of a match)
PII_PATTERNS: dict[str, tuple[re.Pattern[str], Validator]] = {
    "email": (_EMAIL, _always),
    "iban": (_IBAN, iban_ok),
    "card": (_CARD, lambda m: 13 <= len(_digits(m)) <= 19 and luhn_ok(_digits(m))),
    "ip": (_IP, _valid_ip),
    "phone": (_PHONE, lambda m: 9 <= len(_digits(m)) <= 15),
}


@dataclass(frozen=True)
class OutputPolicy:
    """What a task does with findings in its answers."""

    pii_action: Action = "redact"
    sensitive_action: Action = "flag"
    sensitive_words: tuple[str, ...] | None = None  # None: the run's configured list


@dataclass
class FilterResult:
    value: Any
    findings: list[str] = field(default_factory=list)  # e.g. "pii:email@description"
    flagged: list[str] = field(default_factory=list)  # findings whose action is flag

    @property
    def flags(self) -> str | None:
        return ",".join(sorted(set(self.findings))) or None


def packaged_sensitive_words() -> tuple[str, ...]:
    return _words(resources.files("gemini_assets.core.privacy").joinpath("sensitive_words.txt").read_text())


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#"))


@dataclass(frozen=True)
class TextFilter:
    """The PII kinds and sensitive words of one run."""

    pii: dict[str, tuple[re.Pattern[str], Validator]] = field(default_factory=lambda: dict(PII_PATTERNS))
    sensitive_words: tuple[str, ...] = field(default_factory=packaged_sensitive_words)

    @classmethod
    def load(cls, words_file: Path | None = None, patterns_file: Path | None = None) -> TextFilter:
        """Built-in PII kinds plus the organisation's ID patterns (a JSON object name -> regex) and
        word list (one per line), from GEMINI_ASSETS_PII_PATTERNS / GEMINI_ASSETS_SENSITIVE_WORDS."""
        words = packaged_sensitive_words()
        if words_file is not None:
            try:
                words = _words(Path(words_file).read_text())
            except OSError as exc:
                raise ConfigurationError(f"GEMINI_ASSETS_SENSITIVE_WORDS={words_file}: {exc}") from None
        pii = dict(PII_PATTERNS)
        if patterns_file is not None:
            try:
                custom = json.loads(Path(patterns_file).read_text())
                if not isinstance(custom, dict):
                    raise ValueError("not a JSON object")
                pii = {**{name: (re.compile(regex), _always) for name, regex in custom.items()}, **PII_PATTERNS}
            except (OSError, ValueError, TypeError, re.error) as exc:
                raise ConfigurationError(
                    f"GEMINI_ASSETS_PII_PATTERNS={patterns_file}: expected a JSON object of name -> regex ({exc})"
                ) from None
        return cls(pii, words)

    def redact(self, text: str) -> tuple[str, list[str]]:
        """Mask every PII match in free text (sidecar context before it reaches a prompt)."""
        result = self.filter_output({"text": text}, OutputPolicy(pii_action="redact", sensitive_words=()))
        return result.value["text"], [f.split("@", 1)[0] for f in result.findings]

    def filter_output(self, record: Any, policy: OutputPolicy) -> FilterResult:
        result = FilterResult(value=None)
        words = policy.sensitive_words if policy.sensitive_words is not None else self.sensitive_words
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE) if words else None
        result.value = self._walk(record, "", policy, pattern, result)
        return result

    def _walk(
        self, value: Any, path: str, policy: OutputPolicy, words: re.Pattern[str] | None, result: FilterResult
    ) -> Any:
        if isinstance(value, dict):
            return {k: self._walk(v, f"{path}.{k}" if path else k, policy, words, result) for k, v in value.items()}
        if isinstance(value, list):
            return [self._walk(v, f"{path}[{i}]", policy, words, result) for i, v in enumerate(value)]
        if not isinstance(value, str):
            return value
        text = value
        for kind, (pattern, valid) in self.pii.items():
            text = _substitute(pattern, text, _pii_masker(kind, valid, path, policy, result))
        if words is not None:
            text = words.sub(_word_masker(path, policy, result), text)
        return text


def _substitute(pattern: re.Pattern[str], text: str, mask: Callable[[re.Match[str]], str | None]) -> str:
    """``pattern.sub(mask, text)``, except that a match ``mask`` refuses (None) is tried again one
    character further on. Written by hand because ``re.sub`` skips the whole refused span, and with
    it a valid match inside: a phone number run together with a card number matched as one long
    card (no Luhn) and one long phone number (too many digits), so neither was redacted."""
    parts, done, start = [], 0, 0
    while (match := pattern.search(text, start)) is not None:
        replacement = mask(match)
        if replacement is None:
            start = match.start() + 1
            continue
        parts += [text[done : match.start()], replacement]
        done = start = max(match.end(), match.start() + 1)
    return "".join(parts) + text[done:]


def _pii_masker(
    kind: str, valid: Validator, path: str, policy: OutputPolicy, result: FilterResult
) -> Callable[[re.Match[str]], str | None]:
    def mask(match: re.Match[str]) -> str | None:
        if not valid(match.group(0)):
            return None
        finding = f"pii:{kind}@{path}"
        result.findings.append(finding)
        if policy.pii_action == "flag":
            result.flagged.append(finding)
            return match.group(0)
        return f"[{kind.upper()} REDACTED]"

    return mask


def _word_masker(path: str, policy: OutputPolicy, result: FilterResult) -> Callable[[re.Match[str]], str]:
    def mask(match: re.Match[str]) -> str:
        finding = f"sensitive:{match.group(0).lower()}@{path}"
        result.findings.append(finding)
        if policy.sensitive_action == "flag":
            result.flagged.append(finding)
            return match.group(0)
        return "[REDACTED]"

    return mask
