"""One exception tree: every error the project raises on purpose derives from GeminiAssetsError.

Callers catch the branch they can handle: ``ConfigurationError`` means "fix a setting and run
again" (the message says which); ``CallAbandoned`` carries the attempts already made, so the
ledger never loses a billed call; ``MediaRejected`` is a verdict on an upload, not a failure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gemini_assets.core.contracts.calls import Attempt
from gemini_assets.core.contracts.reasons import QuarantineReason


class GeminiAssetsError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigurationError(GeminiAssetsError, ValueError):
    """A setting is missing or invalid; the message names it and says what to set."""


class BackendNotConfigured(ConfigurationError):
    """The chosen model backend cannot be reached as configured (no key, no URL)."""


class UnknownTask(GeminiAssetsError, KeyError):
    """No task (or task version) of that name in the catalog."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class UnsafeKeyError(GeminiAssetsError, ValueError):
    """A storage key would resolve outside the storage root."""


class MediaRejected(GeminiAssetsError):
    """An upload failed validation: it is quarantined with this reason.

    ``detail`` is the short sentence people read in the tables (no paths, errno numbers or
    exception names); ``diagnostic`` is the parser's full message, kept in the quarantine's
    reason.json for whoever debugs the parser.
    """

    def __init__(
        self,
        reason: QuarantineReason | str,
        detail: str,
        sniffed_mime: str | None = None,
        diagnostic: str | None = None,
    ):
        super().__init__(f"{reason}: {detail}")
        self.reason = QuarantineReason(reason)
        self.detail = detail
        self.sniffed_mime = sniffed_mime
        self.diagnostic = diagnostic

    def __reduce__(self) -> tuple[Any, ...]:  # crosses the process boundary from the probe child
        return (MediaRejected, (str(self.reason), self.detail, self.sniffed_mime, self.diagnostic))


class ProbeUnavailable(GeminiAssetsError, RuntimeError):
    """The probe could not judge a file for reasons outside the file (storage, credentials)."""


class SanitizeError(GeminiAssetsError, ValueError):
    """Metadata could not be stripped losslessly: the item must not leave."""


class EmptyReplaceRefused(GeminiAssetsError):
    """A day that had rows would be replaced by an empty one: most likely the wrong storage root
    or a lost landing folder, so the step stops instead (the message names the option that allows it)."""


class DecisionError(GeminiAssetsError, ValueError):
    """A review decision that cannot be accepted (unknown item, invalid record ...)."""


class GoldenSetError(GeminiAssetsError, ValueError):
    """A golden item that cannot be added: a label that does not fit the task, media that intake
    refused, a review item without an approved or edited record. The message says which."""


class GatewayError(GeminiAssetsError):
    """The model gateway could not do what was asked."""


class CallAbandoned(GatewayError):
    """The gateway stopped calling before an answer; ``attempts`` are the calls already made."""

    def __init__(self, message: str, model: str, attempts: list[Attempt] | None = None):
        super().__init__(message)
        self.model = model
        self.attempts: list[Attempt] = list(attempts or [])


class UploadFailed(GatewayError):
    """A resumable upload gave up: ``failures`` says what went wrong on each attempt, in order."""

    def __init__(self, display_name: str, failures: list[str], committed: int, size: int, sessions: int):
        last = failures[-1] if failures else "no detail"
        super().__init__(
            f"upload of {display_name} gave up after {len(failures)} failed requests in {sessions} session(s), "
            f"{committed} of {size} bytes confirmed; last: {last}"
        )
        self.display_name, self.failures = display_name, list(failures)
        self.committed, self.size, self.sessions = committed, size, sessions

    def __reduce__(self) -> tuple[Any, ...]:
        return (UploadFailed, (self.display_name, self.failures, self.committed, self.size, self.sessions))


class ModelUnavailable(CallAbandoned):
    """The model's circuit breaker is open: the call was not made."""

    def __init__(self, model: str, attempts: list[Attempt] | None = None):
        super().__init__(f"circuit breaker open for {model} after repeated API failures", model, attempts)


class QuotaWaitExceeded(CallAbandoned):
    """The client-side quota would not admit the call within the allowed wait (e.g. RPD spent)."""

    def __init__(self, model: str, dimension: str, waited_s: float, attempts: list[Attempt] | None = None):
        super().__init__(
            f"{dimension} quota of {model} did not admit the call within {waited_s:.0f} s", model, attempts
        )
        self.dimension, self.waited_s = dimension, waited_s


class QuotaExhausted(CallAbandoned):
    """A quota that frees up only much later (the day's requests, RPD) is spent: no call is made
    and no time is spent waiting; the item goes to review with the time the quota resets."""

    def __init__(self, model: str, dimension: str, resets_at: datetime, attempts: list[Attempt] | None = None):
        when = resets_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        super().__init__(f"{dimension} quota of {model} is spent until {when} UTC", model, attempts)
        self.dimension, self.resets_at = dimension, resets_at


class CallCancelled(CallAbandoned):
    """The run is being stopped (terminated from the UI, SIGTERM): no further call or wait."""

    def __init__(self, model: str, attempts: list[Attempt] | None = None):
        super().__init__(f"the run is stopping: {model} was not called", model, attempts)


class BatchWaitExceeded(GatewayError):
    """The batch is still running after the configured wait; it stays submitted (resume later)."""

    def __init__(self, name: str, state: str, waited_s: float):
        super().__init__(
            f"batch {name} is still {state} after {waited_s:.0f} s: it stays submitted; "
            "re-run the partition (or let the step retry) to resume waiting without resubmitting"
        )
        self.name, self.state = name, state


class LeaseBusy(GeminiAssetsError, RuntimeError):
    """Another run holds the lease (a day and task's model calls) and did not let go in time."""

    def __init__(self, name: str, holder: str, waited_s: float):
        super().__init__(
            f"{name} is held by {holder}; waited {waited_s:.0f} s. Another run of this day is calling the "
            "model: let it finish and re-run this one (nothing is called twice), or raise "
            "GEMINI_ASSETS_LEASE_WAIT_S. A holder that was killed is taken over once its heartbeat is "
            "older than GEMINI_ASSETS_LEASE_TTL_S."
        )
        self.name, self.holder, self.waited_s = name, holder, waited_s

    def __reduce__(self) -> tuple[Any, ...]:
        return (LeaseBusy, (self.name, self.holder, self.waited_s))


class LeaseLost(GeminiAssetsError, RuntimeError):
    """This run's lease was taken over (its heartbeat was presumed dead): it must stop calling."""

    def __init__(self, name: str):
        super().__init__(f"the lease {name} was taken over by another run; this run stops calling the model")
        self.name = name

    def __reduce__(self) -> tuple[Any, ...]:
        return (LeaseLost, (self.name,))
