"""What every step of one day's run shares: storage, the day, the configuration-derived objects."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from gemini_assets.core.audit.events import AuditEvent
from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.config import Settings
from gemini_assets.core.privacy.filters import TextFilter
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

    @classmethod
    def create(
        cls,
        settings: Settings,
        day: str,
        pins: dict[str, str] | None = None,
        run_id: str | None = None,
        log: Log | None = None,
    ) -> DayContext:
        return cls(
            store=ObjectStore.from_settings(settings),
            day=day,
            settings=settings,
            catalog=TaskCatalog(pins),
            text_filter=TextFilter.load(settings.sensitive_words_file, settings.pii_patterns_file),
            run_id=run_id,
            log=log or _log.info,
        )

    @property
    def audit(self) -> AuditLog:
        return AuditLog.from_settings(self.store, self.settings)

    def record(self, events: list[AuditEvent]) -> int:
        """Append this step's events to the day's audit chain."""
        count = self.audit.append(self.day, events, run_id=self.run_id)
        if count:
            self.log(f"audit: {count} events appended for {self.day}")
        return count

    @property
    def sanitized_retention(self) -> timedelta:
        return timedelta(days=self.settings.sanitized_retention_days)


def progress_logger(log: Log, label: str, every: int) -> Callable[[int, int], None]:
    """A progress callback that logs every ``every`` items and at the end."""

    def progress(done: int, total: int) -> None:
        if done % every == 0 or done == total:
            log(f"{label} {done}/{total}")

    return progress
