"""Behaviour knobs of one emulator instance: latency, quotas, injected failures, file states.

Set them with `start_emulator(state_dir, knobs={...})`, the CLI (`--knobs FILE.json`, or the
env GEMINI_EMULATOR_KNOBS holding JSON or a path to a JSON file), or at run time over HTTP:
`POST /_emulator/knobs` merges a JSON object into the current knobs, `GET /_emulator/knobs`
shows them, `GET /_emulator/stats` counts what was served. Unknown knob names are rejected so a
typo never silently tests the happy path.

The same knobs drive every wire format the emulator speaks (Gemini, OpenAI Chat Completions,
Anthropic Messages): one ``script``, one ``error_rate`` and the same per-model quota windows.
Script entries:
  500 | 503 | 504 | 429  that HTTP error (429 with the quota-shaped body and Retry-After);
  529                    Anthropic's "overloaded"; Gemini and OpenAI have no 529 and answer 503;
  "slow"                 answer after ``slow_s``;
  "ok"                   answer normally (a placeholder to skip a call);
  "refusal"              the model declines: OpenAI ``message.refusal`` (content null), Anthropic
                         ``stop_reason: "refusal"``, Gemini a candidate with ``finishReason: SAFETY``;
  "truncate"             the answer is cut in half as if the output budget ran out: OpenAI
                         ``finish_reason: "length"``, Anthropic ``stop_reason: "max_tokens"``,
                         Gemini ``finishReason: MAX_TOKENS``.

``degrade`` makes a chosen model and/or prompt version answer worse (degrade.py), in every wire
format and in batch lines: a list of rules, the first that matches a request applies,
  {"model": "gemini-x", "prompt_contains": "a phrase", "wrong_rate": 0.5, "confidence": 0.95}
(at least one of model / prompt_contains; wrong_rate required; confidence defaults to 0.95).
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ApiError, InjectedError

KNOBS_ENV = "GEMINI_EMULATOR_KNOBS"
# Script entries (see the module docstring): an HTTP error code, or one of SCRIPT_WORDS.
# Each code's Gemini status; 529 has none, so Gemini answers its own "model is overloaded" 503.
SCRIPT_CODES = {
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    529: "UNAVAILABLE",
}
ANSWER_SHAPES = ("refusal", "truncate")  # script entries that shape the answer instead of failing it
SCRIPT_WORDS = ("slow", "ok", *ANSWER_SHAPES)
BATCH_OUTCOMES = ("SUCCEEDED", "FAILED", "EXPIRED")
LINE_ERROR_CODES = {
    400: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class KnobsError(ValueError):
    """Knobs that cannot be used; the message says where they came from and what is wrong."""


# A knob's annotation -> the JSON values it takes (an int is a fine float; a bool is neither).
_ACCEPTED: dict[str, tuple[type, ...]] = {
    "float": (int, float),
    "float | None": (int, float, type(None)),
    "int": (int,),
    "int | None": (int, type(None)),
    "str": (str,),
}


@dataclass
class Knobs:
    latency_s: float = 0.0  # added to every generateContent answer
    latency_jitter_s: float = 0.0  # uniform extra 0..jitter
    rpm: int | None = None  # per model, like the real per-project-per-model quotas
    tpm: int | None = None  # input tokens per minute window
    rpd: int | None = None
    minute_s: float = 60.0  # length of the "minute" window (tests shrink it; reports must say so)
    day_s: float = 86400.0
    error_rate: float = 0.0  # share of answered calls (any wire format) failed with a random error_codes entry
    error_codes: list[int] = field(default_factory=lambda: [500, 503, 504])  # any of SCRIPT_CODES
    script: list[Any] = field(default_factory=list)  # consumed one entry per answered call, any wire format
    slow_s: float = 30.0  # how long a "slow" script entry waits before answering
    script_retry_s: float = 1.0  # retryDelay a scripted 429 advertises
    processing_s: float = 0.0  # uploaded files stay PROCESSING this long
    processing_outcome: str = "ACTIVE"  # ACTIVE | FAILED once processing ends
    file_ttl_s: float | None = None  # None = the real 48 h
    seed: int | None = None
    # Batches (batches.py): snapshotted into each batch when it is created.
    batch_pending_s: float = 0.0  # BATCH_STATE_PENDING this long after create, then RUNNING
    batch_delay_s: float = 2.0  # done this long after create (the real target is 24 h)
    batch_outcome: str = "SUCCEEDED"  # SUCCEEDED | FAILED | EXPIRED once the delay is over
    batch_line_error_keys: list[str] = field(default_factory=list)  # these request keys get an error object
    batch_line_error_rate: float = 0.0  # share of lines (chosen by a hash of batch id + key) that get one
    batch_line_error_code: int = 500  # HTTP code of the injected line error (500/503 retryable, 400 not)
    # Uploads (files_api.py): a flaky network and lost sessions.
    upload_drops: int = 0  # per upload session: this many chunks have their connection cut ...
    upload_drop_after_bytes: int = 1024 * 1024  # ... after this many of their bytes (kept: query reports them)
    upload_lose_sessions: int = 0  # this many upload sessions vanish after their first chunk (404 from then on)
    upload_chunk_delay_s: float = 0.0  # each upload chunk is acknowledged this long after it arrived
    # Answer quality (degrade.py): rules that make a chosen model and/or prompt answer worse.
    degrade: list[dict[str, Any]] = field(default_factory=list)

    def update(self, changes: dict[str, Any]) -> None:
        names = {f.name for f in fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(
                f"unknown emulator knob(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(names))}"
            )
        for name, value in changes.items():
            _check_type(name, value, self._annotation(name))
        before = {name: getattr(self, name) for name in changes}
        for name, value in changes.items():
            setattr(self, name, value)
        try:
            self._validate()
        except ValueError:
            for name, value in before.items():  # a refused change leaves the knobs as they were
                setattr(self, name, value)
            raise

    def _validate(self) -> None:
        if self.batch_outcome not in BATCH_OUTCOMES:
            raise ValueError(f"batch_outcome must be one of {BATCH_OUTCOMES}")
        if self.batch_line_error_code not in LINE_ERROR_CODES:
            raise ValueError(f"batch_line_error_code must be one of {sorted(LINE_ERROR_CODES)}")
        if min(self.upload_drops, self.upload_drop_after_bytes, self.upload_lose_sessions) < 0:
            raise ValueError("upload_drops, upload_drop_after_bytes and upload_lose_sessions must be >= 0")
        if self.processing_outcome not in ("ACTIVE", "FAILED"):
            raise ValueError("processing_outcome must be ACTIVE or FAILED")
        for entry in self.script:
            if isinstance(entry, bool) or (entry not in SCRIPT_WORDS and entry not in SCRIPT_CODES):
                words = ", ".join(repr(word) for word in SCRIPT_WORDS)
                raise ValueError(f"script entries are {words} or one of {sorted(SCRIPT_CODES)}, not {entry!r}")
        for code in self.error_codes:
            if isinstance(code, bool) or code not in SCRIPT_CODES:
                raise ValueError(f"error_codes entries are among {sorted(SCRIPT_CODES)}, not {code!r}")
        degrade_rules(self.degrade)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _annotation(self, name: str) -> str:
        return str(next(f.type for f in fields(self) if f.name == name))


@dataclass(frozen=True)
class DegradeRule:
    """One entry of the ``degrade`` knob (matching and effect: degrade.py)."""

    wrong_rate: float
    model: str | None = None
    prompt_contains: str | None = None
    confidence: float = 0.95

    def matches(self, model: str, texts: list[str]) -> bool:
        if self.model is not None and self.model != model:
            return False
        return self.prompt_contains is None or any(self.prompt_contains in text for text in texts)


def degrade_rules(entries: list[Any]) -> list[DegradeRule]:
    """The ``degrade`` knob's rules; ValueError saying which entry is wrong and why."""
    rules = []
    for index, entry in enumerate(entries):
        where = f"degrade[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} must be an object, not {entry!r}")
        known = sorted(f.name for f in fields(DegradeRule))
        unknown = sorted(set(entry) - set(known))
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; known: {', '.join(known)}")
        for key in ("model", "prompt_contains"):
            if entry.get(key) is not None and (not isinstance(entry[key], str) or not entry[key]):
                raise ValueError(f"{where}.{key} must be a non-empty string")
        if entry.get("model") is None and entry.get("prompt_contains") is None:
            raise ValueError(f"{where} names no model and no prompt_contains: it would degrade every answer")
        for key in ("wrong_rate", "confidence"):
            value = entry.get(key, 0.95 if key == "confidence" else None)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f"{where}.{key} must be a number in 0..1, not {value!r}")
        rules.append(DegradeRule(**entry))
    return rules


def _check_type(name: str, value: Any, annotation: str) -> None:
    accepted = (list,) if annotation.startswith("list[") else _ACCEPTED.get(annotation)
    if accepted is None:
        return
    if isinstance(value, bool) or not isinstance(value, accepted):  # no knob is a bool; True is an int
        raise ValueError(f"knob {name} must be {annotation}, not {type(value).__name__} {value!r}")


def load_knobs(source: str | dict[str, Any] | Knobs | None, origin: str = "knobs") -> Knobs:
    """Knobs from a dict, a Knobs, a JSON string or a path to a JSON file.

    Raises KnobsError naming ``origin`` (e.g. the environment variable) and what is wrong.
    """
    if isinstance(source, Knobs):
        return source
    knobs = Knobs()
    if not source:
        return knobs
    try:
        knobs.update(_knob_values(source))
    except ValueError as exc:
        raise KnobsError(f"{origin}: {exc}") from None
    return knobs


def _knob_values(source: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(source, dict):
        return dict(source)
    text = source.strip()
    if not text.startswith(("{", "[")):  # not JSON itself: the path of a JSON file
        try:
            text = Path(text).read_text()
        except OSError as exc:
            raise ValueError(f"neither a JSON object nor a readable JSON file ({exc.strerror}: {source!r})") from None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(values, dict):
        raise ValueError(f"expected a JSON object of knob names and values, not a JSON {type(values).__name__}")
    return values


def knobs_from_env() -> Knobs:
    return load_knobs(os.environ.get(KNOBS_ENV), origin=KNOBS_ENV)


class Behaviour:
    """Applies the knobs to generateContent: script, random errors, quotas, latency."""

    def __init__(self, knobs: Knobs) -> None:
        self.knobs = knobs
        self._lock = threading.Lock()
        self._random = random.Random(knobs.seed)  # noqa: S311 - fault injection, not security
        self._windows: dict[str, _ModelWindows] = {}
        self.stats: dict[str, int] = {}

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.stats[name] = self.stats.get(name, 0) + amount

    def update(self, changes: dict[str, Any]) -> None:
        with self._lock:
            self.knobs.update(changes)
            if "seed" in changes:
                self._random = random.Random(self.knobs.seed)  # noqa: S311 - fault injection
            if {"rpm", "tpm", "rpd", "minute_s", "day_s"} & set(changes):
                self._windows.clear()

    def upload_session(self, change: int) -> None:
        """+1 when an upload session starts, -1 when it finalizes or is lost. The high-water mark
        (``upload_sessions_open_max``) is how many uploads a client had in flight at once, the
        signal a test of concurrent uploads needs that does not depend on timing."""
        with self._lock:
            now_open = self.stats.get("upload_sessions_open", 0) + change
            self.stats["upload_sessions_open"] = now_open
            self.stats["upload_sessions_open_max"] = max(now_open, self.stats.get("upload_sessions_open_max", 0))

    def take_session_loss(self) -> bool:
        """True for the next ``upload_lose_sessions`` sessions that ask (then the knob is spent)."""
        with self._lock:
            if self.knobs.upload_lose_sessions <= 0:
                return False
            self.knobs.upload_lose_sessions -= 1
            self.stats["upload_sessions_lost"] = self.stats.get("upload_sessions_lost", 0) + 1
            return True

    def before_answer(self, model: str, input_tokens: int) -> str | None:
        """Raise the injected or quota error, or sleep; called once the request was read.

        Returns the script entry that shapes this answer ("refusal" or "truncate"), else None.
        """
        with self._lock:
            entry = self.knobs.script.pop(0) if self.knobs.script else None
            if entry is None and self.knobs.error_rate and self._random.random() < self.knobs.error_rate:
                entry = self._random.choice(self.knobs.error_codes)
            if entry in SCRIPT_CODES and entry != 429:
                raise injected_error(entry)
            if entry == 429:
                raise quota_error(
                    model, "GenerateRequestsPerMinutePerProjectPerModel", self.knobs.rpm or 0, self.knobs.script_retry_s
                )
            self._admit(model, input_tokens)
            delay = self.knobs.latency_s + self._random.uniform(0, self.knobs.latency_jitter_s)
            if entry == "slow":
                delay = self.knobs.slow_s
        if delay > 0:
            time.sleep(delay)
        return entry if entry in ANSWER_SHAPES else None

    def note_output(self, model: str, output_tokens: int) -> None:
        """Count an answer's output tokens in its model's minute window (only reported, never enforced)."""
        with self._lock:
            self._windows.setdefault(model, _ModelWindows()).output.append((time.monotonic(), output_tokens))

    def minute_use(self, model: str) -> dict[str, WindowUse]:
        """What the model's current minute window holds, for rate-limit headers: requests,
        input_tokens (limits: the rpm and tpm knobs) and output_tokens (no knob)."""
        with self._lock:
            windows = self._windows.setdefault(model, _ModelWindows())
            now, span = time.monotonic(), self.knobs.minute_s
            for log in (windows.minute, windows.output):
                while log and log[0][0] <= now - span:
                    log.popleft()

            def reset(log: deque) -> float:
                # Fully replenished once the newest entry has left the window.
                return max(log[-1][0] + span - now, 0.0) if log else 0.0

            return {
                "requests": WindowUse(self.knobs.rpm, len(windows.minute), reset(windows.minute)),
                "input_tokens": WindowUse(self.knobs.tpm, sum(t for _, t in windows.minute), reset(windows.minute)),
                "output_tokens": WindowUse(None, sum(t for _, t in windows.output), reset(windows.output)),
            }

    def _admit(self, model: str, input_tokens: int) -> None:
        windows = self._windows.setdefault(model, _ModelWindows())
        now = time.monotonic()
        k = self.knobs
        checks = (
            ("GenerateRequestsPerMinutePerProjectPerModel", k.rpm, k.minute_s, windows.minute, 1),
            ("GenerateContentInputTokensPerModelPerMinute", k.tpm, k.minute_s, windows.minute, input_tokens),
            ("GenerateRequestsPerDayPerProjectPerModel", k.rpd, k.day_s, windows.day, 1),
        )
        for quota_id, limit, window, log, weight in checks:
            if limit is None:
                continue
            while log and log[0][0] <= now - window:
                log.popleft()
            used = len(log) if "Requests" in quota_id else sum(t for _, t in log)
            if used + weight > limit:
                retry = (log[0][0] + window - now) if log else window
                self.stats["quota_429"] = self.stats.get("quota_429", 0) + 1
                raise quota_error(model, quota_id, limit, retry)
        windows.minute.append((now, input_tokens))
        windows.day.append((now, input_tokens))


@dataclass
class _ModelWindows:
    # (monotonic time, input tokens) of every admitted request, oldest first
    minute: deque = field(default_factory=deque)
    day: deque = field(default_factory=deque)
    output: deque = field(default_factory=deque)  # (monotonic time, output tokens) of answers


@dataclass(frozen=True)
class WindowUse:
    limit: int | None  # the enforcing knob; None when nothing is enforced
    used: int
    reset_s: float  # seconds until the window is fully replenished


def injected_error(code: int) -> InjectedError:
    message = (
        "The model is overloaded. Please try again later."
        if code == 529
        else f"Injected {code} by the emulator script."
    )
    return InjectedError(SCRIPT_CODES[code], message, requested_code=code)


def quota_error(model: str, quota_id: str, limit: int, retry_s: float) -> ApiError:
    """A 429 shaped like the real one: QuotaFailure + Help + RetryInfo, and a Retry-After header."""
    retry_s = max(retry_s, 0.001)
    details: list[dict[str, Any]] = [
        {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [
                {
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
                    "quotaId": quota_id,
                    "quotaDimensions": {"location": "global", "model": model},
                    "quotaValue": str(limit),
                }
            ],
        },
        {
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [
                {
                    "description": "Learn more about Gemini API quotas",
                    "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                }
            ],
        },
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_s:.3f}s"},
    ]
    message = (
        f"You exceeded your current quota, please check your plan and billing details. Quota exceeded for metric: "
        f"{quota_id}, limit: {limit}, model: {model}. Please retry in {retry_s:.3f}s."
    )
    return ApiError("RESOURCE_EXHAUSTED", message, details, headers={"Retry-After": str(math.ceil(retry_s))})
