"""Daily budget per task: an item is not sent when its projected cost would pass the limit.

Projection = spend already in call_ledger for calls started today (UTC; earlier runs and other
partitions included) + estimates reserved by calls in flight + this item's estimate. The
estimate comes from the price book and an upper-bound token count (documented token rates per
media kind, the task's full output limit), so the guard errs towards stopping early. When a
call returns, its reservation is replaced by the real cost from its usage.

Limits: runs that execute at the same moment in different processes see each other's spend
only once their call_ledger is written; the day is fixed when the guard is created.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gemini_assets.core.contracts.calls import Usage
from gemini_assets.core.contracts.enums import MediaKind, Variant
from gemini_assets.core.contracts.errors import ConfigurationError
from gemini_assets.core.contracts.tables import DeliveryPlan, ModelOutputRow, ValidatedMediaRow
from gemini_assets.core.costs.history import challenger_spend, spend_by_task
from gemini_assets.core.costs.ledger import attempt_cost
from gemini_assets.core.gateway import tokens
from gemini_assets.core.gateway.pricing import PriceBook
from gemini_assets.core.privacy.filters import TextFilter
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.tasks.catalog import TaskCatalog, TaskSpec

log = logging.getLogger(__name__)
BUDGETS_ENV = "GEMINI_ASSETS_BUDGETS"

# Unknown duration/pages: assume a low bitrate / small page so the estimate stays an upper bound.
AUDIO_BYTES_PER_S = 2_000  # 16 kbps
VIDEO_BYTES_PER_S = 31_250  # 250 kbps
PDF_BYTES_PER_PAGE = 20_000


class BudgetConfigError(ConfigurationError):
    """The budget file is not what the README documents; the message says what to fix."""


@dataclass(frozen=True)
class BudgetConfig:
    default_usd: float | None
    tasks: dict[str, float | None]
    source: str
    challenger_usd: float | None = None  # every challenger call of the day together (shadow or promoted)

    def limit(self, task: str) -> float | None:
        return self.tasks.get(task, self.default_usd)

    @property
    def any_limit(self) -> bool:
        limits = [self.default_usd, self.challenger_usd, *self.tasks.values()]
        return any(v is not None for v in limits)


def _amount(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or math.isnan(value):
        raise BudgetConfigError(f"{where}: expected a number of USD >= 0 or null, got {value!r}")
    return float(value)


def load_budgets(path: str | Path | None, task_names: list[str]) -> BudgetConfig:
    """The shipped budgets.yaml, or the file named by $GEMINI_ASSETS_BUDGETS."""
    if path:
        if not Path(path).is_file():
            raise BudgetConfigError(f"{BUDGETS_ENV}={path}: no such file")
        text, source = Path(path).read_text(), str(path)
    else:
        text = resources.files("gemini_assets.core.costs").joinpath("budgets.yaml").read_text()
        source = "gemini_assets/core/costs/budgets.yaml"
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise BudgetConfigError(f"{source}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or set(data) - {"default_usd", "tasks", "challenger_usd"}:
        raise BudgetConfigError(
            f"{source}: expected a mapping with keys default_usd and tasks (and optionally challenger_usd)"
        )
    tasks = data.get("tasks") or {}
    if not isinstance(tasks, dict):
        raise BudgetConfigError(f"{source}: tasks must map task names to USD")
    unknown = sorted(set(tasks) - set(task_names))
    if unknown:
        raise BudgetConfigError(f"{source}: unknown tasks {unknown}; known: {sorted(task_names)}")
    return BudgetConfig(
        default_usd=_amount(data.get("default_usd"), f"{source}: default_usd"),
        tasks={name: _amount(value, f"{source}: tasks.{name}") for name, value in tasks.items()},
        source=source,
        challenger_usd=_amount(data.get("challenger_usd"), f"{source}: challenger_usd"),
    )


def _media_tokens(item: ValidatedMediaRow, model: str) -> int:
    kind, size = item.media_kind, item.size_bytes
    legacy = tokens.is_legacy(model)
    if kind == MediaKind.IMAGE:
        if legacy and item.width and item.height:
            return tokens.legacy_image_tokens(item.width, item.height)
        return tokens.IMAGE_TOKENS
    if kind == MediaKind.AUDIO:
        return math.ceil((item.duration_s or size / AUDIO_BYTES_PER_S) * tokens.AUDIO_TOKENS_PER_S)
    if kind == MediaKind.VIDEO:
        return math.ceil((item.duration_s or size / VIDEO_BYTES_PER_S) * tokens.VIDEO_TOKENS_PER_S)
    pages = item.pages or max(1, math.ceil(size / PDF_BYTES_PER_PAGE))
    return pages * (tokens.LEGACY_PDF_PAGE_TOKENS if legacy else tokens.PDF_PAGE_TOKENS)


def estimate_usage(item: ValidatedMediaRow, task: TaskSpec, model: str, text_filter: TextFilter) -> Usage:
    """Upper-bound usage of one generate call, before it is made (no countTokens round trip)."""
    prompt = task.system_prompt + task.user_text(item.context, text_filter) + json.dumps(task.response_schema)
    text = math.ceil(tokens.text_tokens(len(prompt)))
    media = _media_tokens(item, model)
    return Usage(
        input_tokens=text + media,
        output_tokens=task.max_output_tokens,
        by_modality={"text": text, str(item.media_kind): media},
    )


class BudgetGuard:
    """Thread-safe: ``refusal`` runs in the worker threads, ``settle`` as results arrive."""

    def __init__(
        self,
        config: BudgetConfig,
        store: ObjectStore,
        catalog: TaskCatalog,
        text_filter: TextFilter,
        prices: PriceBook | None = None,
        day: date | None = None,
    ):
        self.config, self.store, self.catalog, self.text_filter = config, store, catalog, text_filter
        self.prices = prices or PriceBook()
        self.day = day or datetime.now(UTC).date()
        self._lock = threading.Lock()
        self._spent: dict[str, float] | None = None
        self._reserved: dict[str, float] = {}
        self._held: dict[tuple[str, str], tuple[str, float]] = {}
        self._challenger_spent: float | None = None
        self._challenger_reserved = 0.0
        self.refused = 0

    def _spent_so_far(self) -> dict[str, float]:
        if self._spent is None:
            self._spent = spend_by_task(self.store, self.day)
        return self._spent

    def refusal(self, item: ValidatedMediaRow, plan: DeliveryPlan) -> str | None:
        """None when the item may be sent (its estimate is then reserved), else why not."""
        task_name = item.task
        limit = self.config.limit(task_name)
        capped = plan.variant == Variant.CHALLENGER and self.config.challenger_usd is not None
        if limit is None and not capped:
            return None
        model = plan.model
        usage = estimate_usage(item, self.catalog.get(task_name), model, self.text_filter)
        estimate, _ = self.prices.cost(model, self.day, usage)
        with self._lock:
            if estimate is None:
                self.refused += 1
                what = f"the {limit:.2f} USD budget of {task_name}" if limit is not None else "the challenger budget"
                return f"no price for model {model!r} on {self.day}: spend cannot be projected against {what}"
            spent = self._spent_so_far().get(task_name, 0.0)
            reserved = self._reserved.get(task_name, 0.0)
            if limit is not None and spent + reserved + estimate > limit:
                return self._refuse(
                    f"daily budget of {task_name} is {limit:.4f} USD for {self.day} (UTC): spent {spent:.4f}, "
                    f"in flight {reserved:.4f}, this item est. {estimate:.4f}"
                )
            if capped and (why := self._challenger_refusal(estimate)):
                return self._refuse(why)
            self._reserved[task_name] = reserved + estimate
            self._held[(item.media_id, model)] = (task_name, estimate)
            if plan.variant == Variant.CHALLENGER:
                self._challenger_reserved += estimate
        return None

    def _challenger_refusal(self, estimate: float) -> str | None:
        cap = self.config.challenger_usd
        if self._challenger_spent is None:
            self._challenger_spent = challenger_spend(self.store, self.day)
        spent, reserved = self._challenger_spent, self._challenger_reserved
        if cap is None or spent + reserved + estimate <= cap:
            return None
        return (
            f"daily challenger budget is {cap:.4f} USD for {self.day} (UTC): spent {spent:.4f}, "
            f"in flight {reserved:.4f}, this call est. {estimate:.4f}"
        )

    def _refuse(self, why: str) -> str:
        self.refused += 1
        if self.refused == 1:
            log.warning("%s (%s): remaining items are not sent", why, self.config.source)
        return why

    def settle(self, row: ModelOutputRow) -> None:
        """Replace an item's reservation by the cost of the calls it really made."""
        cost = sum(attempt_cost(self.prices, row.model, a)[0] or 0.0 for a in row.attempt_log)
        with self._lock:
            task_name, held = self._held.pop((row.media_id, row.model), (row.task, 0.0))
            self._reserved[task_name] = self._reserved.get(task_name, 0.0) - held
            spent = self._spent_so_far()
            spent[task_name] = spent.get(task_name, 0.0) + cost
            if row.variant == Variant.CHALLENGER:
                self._challenger_reserved -= held
                self._challenger_spent = (self._challenger_spent or 0.0) + cost


def budget_guard(
    store: ObjectStore, config: BudgetConfig, catalog: TaskCatalog, text_filter: TextFilter
) -> BudgetGuard | None:
    """The guard for today's calls, or None when no task has a budget."""
    return BudgetGuard(config, store, catalog, text_filter) if config.any_limit else None
