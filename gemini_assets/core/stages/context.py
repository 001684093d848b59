"""What every step of one day's run shares: storage, the day, the configuration-derived objects."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from gemini_assets.core.audit.events import AuditEvent
from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.config import Settings
from gemini_assets.core.privacy.filters import TextFilter
from gemini_assets.core.storage.lease import Lease, LeaseSettings, holder_id
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.tasks.catalog import TaskCatalog

Log = Callable[[str], None]
_log = logging.getLogger("gemini_assets")


@dataclass
class DayContext:
    """One partition's run of one step. ``log`` receives progress lines (the Dagster log)."""

    store: ObjectStore
    day: str
    settings: Settings
    catalog: TaskCatalog = field(default_factory=TaskCatalog)
    text_filter: TextFilter = field(default_factory=TextFilter)
    run_id: str | None = None
    log: Log = _log.info
    leases: list[Lease] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        settings: Settings,
        day: str,
        pins: dict[str, str] | None = None,
        run_id: str | None = None,
        log: Log | None = None,
    ) -> DayContext:
        store = ObjectStore.from_settings(settings)
        return cls(
            store=store,
            day=day,
            settings=settings,
            catalog=TaskCatalog.load(store, settings.releases_file, pins),
            text_filter=TextFilter.load(settings.sensitive_words_file, settings.pii_patterns_file),
            run_id=run_id,
            log=log or _log.info,
        )

    @property
    def audit(self) -> AuditLog:
        return AuditLog.from_settings(self.store, self.settings)

    def record(self, events: list[AuditEvent]) -> int:
        """Append this step's events to the day's audit chain and sign its end (with no events,
        only sign what the step appended call by call)."""
        count = self.audit.append(self.day, events, run_id=self.run_id, sign=True)
        if count:
            self.log(f"audit: {count} events appended for {self.day}")
        return count

    @contextmanager
    def model_calls(self, tasks: Iterable[str]) -> Iterator[None]:
        """Hold the day's model-call lease of each task (core/storage/lease.py): one run at a time
        calls the model for a day and task; a second one waits, then finds the answers archived."""
        settings = LeaseSettings(ttl_s=self.settings.lease_ttl_s, wait_s=self.settings.lease_wait_s)
        holder = holder_id(self.run_id)
        held: list[Lease] = []
        try:
            for task in sorted(set(tasks)):  # one order for every run: no two runs wait on each other
                lease = Lease(self.store, f"model-calls/{self.day}/{task}", holder, settings)
                lease.acquire(on_wait=lambda who, task=task: self.log(f"{task}: waiting for {who}"))
                held.append(lease)
            self.leases = held
            yield
        finally:
            self.leases = []
            for lease in held:
                lease.release()

    def check_leases(self) -> None:
        """Raise LeaseLost if another run took over a lease this step holds."""
        for lease in self.leases:
            lease.check()

    @property
    def sanitized_retention(self) -> timedelta:
        return timedelta(days=self.settings.sanitized_retention_days)


def progress_logger(log: Log, label: str, every: int) -> Callable[[int, int], None]:
    """A progress callback that logs every ``every`` items and at the end."""

    def progress(done: int, total: int) -> None:
        if done % every == 0 or done == total:
            log(f"{label} {done}/{total}")

    return progress
