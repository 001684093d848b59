"""What the OpenAI and Anthropic wire formats share: media from bytes, the answer draft, the
served log, rate-limit arithmetic, and one neutral error that each format dresses in its own body.

Both formats run on Gemini's machinery on purpose: the same content gets the same schema-filled
answer (answers.py), the same input-token estimate (tokens.py) and the same per-model quota
windows and script (knobs.Behaviour), so a test can swap providers and compare like with like.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import math
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .degrade import degrade_text
from .errors import ApiError, InjectedError
from .faults import apply_shape, shape_in
from .generate import answer_text
from .media import MediaItem, attach_facts
from .prompt import Prompt
from .protocol import Response
from .state import StateStore, rfc3339, utc_now
from .tokens import prompt_token_details, text_tokens, usage_metadata

logger = logging.getLogger("gemini_devkit.emulator")

COMPLETE, TRUNCATED, REFUSED = "complete", "truncated", "refused"
_ID_ALPHABET = string.ascii_letters + string.digits
_DATA_URL_RE = re.compile(r"^data:(?P<mime>[^;,]*)(?P<params>(?:;[^;,]*)*?);base64,(?P<data>.*)$", re.DOTALL)


class ProviderError(Exception):
    """An error before it is dressed in a wire format.

    kind: invalid | auth | permission | not_found | rate_limit | server | unavailable | timeout | overloaded
    """

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after_s: float | None = None,
        quota: str = "RPM",
        limit: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message
        self.param, self.code = param, code  # OpenAI's error fields
        self.retry_after_s = retry_after_s
        self.quota, self.limit = quota, limit  # for a 429: which quota (RPM | TPM | RPD) ran out, and its limit


_KIND_BY_STATUS = {
    400: "invalid",
    403: "permission",
    404: "not_found",
    500: "server",
    503: "unavailable",
    504: "timeout",
}


def as_provider_error(exc: Exception) -> ProviderError:
    if isinstance(exc, ProviderError):
        return exc
    if not isinstance(exc, ApiError):
        logger.exception("unexpected error answering an OpenAI/Anthropic call")
        return ProviderError(500, "server", "Internal server error.")
    if exc.code == 429:
        return _rate_limit_error(exc)
    if isinstance(exc, InjectedError) and exc.requested_code == 529:
        return ProviderError(529, "overloaded", "Overloaded")
    # Gemini's messages (e.g. "Unable to process input image.") read fine in any format.
    return ProviderError(exc.code, _KIND_BY_STATUS.get(exc.code, "server"), exc.message)


def _rate_limit_error(error: ApiError) -> ProviderError:
    """The quota's facts from the Gemini-shaped 429 that Behaviour raised (QuotaFailure + RetryInfo)."""
    retry_s, quota_id, limit = 1.0, "", None
    for detail in error.details:
        if detail.get("@type", "").endswith("RetryInfo"):
            retry_s = float(str(detail.get("retryDelay", "1s")).rstrip("s"))
        for violation in detail.get("violations", []):
            quota_id, limit = violation.get("quotaId", ""), int(violation.get("quotaValue", 0))
    quota = "TPM" if "Tokens" in quota_id else "RPD" if "PerDay" in quota_id else "RPM"
    return ProviderError(429, "rate_limit", error.message, retry_after_s=retry_s, quota=quota, limit=limit)


def invalid(message: str, param: str | None = None, code: str | None = None) -> ProviderError:
    return ProviderError(400, "invalid", message, param=param, code=code)


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


# ---- media --------------------------------------------------------------------------------


def decode_base64(text: Any, param: str) -> bytes:
    if not isinstance(text, str):
        raise invalid(f"Invalid '{param}': expected a base64 string.", param)
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"Invalid '{param}': the data is not valid base64.", param) from None


def parse_data_url(url: Any, param: str) -> tuple[str, bytes]:
    """(MIME type, bytes) of a ``data:<mime>;base64,...`` URL."""
    match = _DATA_URL_RE.match(url) if isinstance(url, str) else None
    if match is None:
        # The emulator is offline by design: it never fetches http(s) URLs.
        raise invalid(f"Invalid '{param}': the emulator only accepts base64 data: URLs.", param, "invalid_value")
    return match.group("mime").strip().lower(), decode_base64(match.group("data"), param)


def media_item(data: bytes, mime_type: str) -> MediaItem:
    """A measured media part; unreadable bytes raise Gemini's 400, which callers translate."""
    item = MediaItem("inline", mime_type, len(data), hashlib.sha256(data).hexdigest())
    attach_facts(item, data)
    return item


# ---- one answered call ----------------------------------------------------------------------


class Call:
    """One OpenAI/Anthropic request and the single served-log line it produces."""

    def __init__(self, store: StateStore, provider: str, method: str) -> None:
        self.store = store
        self.model = ""
        self.record: dict[str, Any] = {
            "ts": rfc3339(utc_now()),
            "provider": provider,
            "method": method,
            "model": "",
            "status": 500,
            "usage": None,  # Gemini-shaped (promptTokenCount, ...), so one ledger check fits every provider
            "wire_usage": None,  # the usage object exactly as this provider sent it
            "finish_reason": None,  # the provider's own value (stop, length, end_turn, max_tokens, refusal, ...)
            "media": [],
            "response_id": None,
        }

    def set_model(self, model: str) -> None:
        self.model = self.record["model"] = model

    def serve(
        self, produce: Callable[[], dict[str, Any]], render_error: Callable[[ProviderError], Response]
    ) -> Response:
        """Answer with ``produce()`` or the error it raised; log exactly one line either way."""
        try:
            response = Response.json(produce())
        except Exception as exc:  # noqa: BLE001 - every failure must reach the client in its provider's shape
            response = render_error(as_provider_error(exc))
        self.record["status"] = response.status
        self.store.append_served(self.record)
        return response


@dataclass
class Draft:
    """The answer before a wire format dresses it."""

    text: str  # what the model wrote: cut when truncated, the refusal text when refused
    outcome: str  # COMPLETE | TRUNCATED | REFUSED
    input_tokens: int
    output_tokens: int


def draft_answer(
    call: Call,
    prompt: Prompt,
    config: dict[str, Any],
    max_output_tokens: int | None,
    refusal_text: str,
    repair: bool = False,
) -> Draft:
    """Gemini's answer for a Gemini-style generation ``config``, after the knobs had their say.
    ``repair``: the conversation already holds an assistant turn (``[[emulate:<shape>:once]]``)."""
    behaviour = call.store.behaviour
    details = prompt_token_details(prompt, call.model)
    call.record["media"] = [item.log_entry() for item in prompt.media]
    shape = behaviour.before_answer(call.model, sum(d["tokenCount"] for d in details))
    # An answer shape asked for in the request text (faults.py): blocks are refusals here.
    asked = shape_in(prompt.texts, repair) if shape is None else None
    if asked in ("safety_block", "safety_finish"):
        shape = "refusal"
    elif asked == "max_tokens":
        shape = "truncate"
    if shape == "refusal":
        text, outcome = refusal_text, REFUSED
    else:
        text, outcome = degrade_text(answer_text(prompt, config), prompt, config, call.model, behaviour), COMPLETE
        if asked and shape is None:
            text = apply_shape(asked, text).text or ""
        if shape == "truncate":
            text, outcome = text[: max(len(text) // 2, 1)], TRUNCATED
        elif max_output_tokens is not None and text_tokens(text) > max_output_tokens:
            text, outcome = text[: max_output_tokens * 4], TRUNCATED  # stops mid-answer, like a real model
    usage = usage_metadata(details, text)
    call.record["usage"] = usage
    behaviour.note_output(call.model, usage["candidatesTokenCount"])
    return Draft(text, outcome, usage["promptTokenCount"], usage["candidatesTokenCount"])


# ---- rate-limit arithmetic --------------------------------------------------------------------


def go_duration(seconds: float) -> str:
    """Go's time.Duration String() at millisecond precision (OpenAI's reset format): 0s, 250ms, 1.5s, 6m0s."""
    millis = round(max(seconds, 0.0) * 1000)
    if millis == 0:
        return "0s"
    if millis < 1000:
        return f"{millis}ms"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    text = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    if hours or minutes:
        text = f"{minutes}m{text}"
    return f"{hours}h{text}" if hours else text


def rfc3339_after(seconds: float) -> str:
    """Whole-second UTC time this far ahead (Anthropic's reset format)."""
    moment = utc_now() + timedelta(seconds=math.ceil(max(seconds, 0.0)))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
