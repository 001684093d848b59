"""Read the providers' billing exports dropped under ``<storage root>/billing/`` (docs/costs.md).

Each CSV file is recognised by its header, never its name (billing_formats.FORMATS): a Google
Cloud Billing export, an OpenAI costs export, an Anthropic cost report (API or Console) or a
gateway's spend CSV. A file that matches none, or a row that cannot be read, is a problem line
naming what was expected: a bill that is silently skipped would read as "nothing was charged".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

import pandas as pd

from gemini_assets.core.contracts.errors import GeminiAssetsError
from gemini_assets.core.costs.billing_formats import (
    PROVIDER_COLUMNS,
    BillingFormat,
    Row,
    catalog_model,
    detect,
    model_from_sku,
    normalise,
    provider_of,
    unrecognised,
)
from gemini_assets.core.storage.objectstore import ObjectStore

__all__ = ["BILLING_PREFIX", "COLUMNS", "BillingExport", "model_from_sku", "read_billing"]

BILLING_PREFIX = "billing"
COLUMNS = ["usage_date", "provider", "model", "cost_usd", "credits_usd", "file", "format"]


@dataclass
class BillingExport:
    """Billing rows in USD by usage day, provider and model; problems say what could not be read.

    ``covered`` holds every (provider, day) an export has a row for, an empty bucket included:
    a provider's bill for a day is only awaited while none of its exports reaches that day.
    """

    rows: pd.DataFrame
    problems: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    covered: set[tuple[str, date]] = field(default_factory=set)

    def on(self, day: date) -> pd.DataFrame:
        return self.rows[self.rows["usage_date"] == day] if len(self.rows) else self.rows

    def providers_on(self, day: date) -> set[str]:
        return {provider for provider, covered_day in self.covered if covered_day == day}


class _Unreadable(GeminiAssetsError, ValueError):
    """A value of one row that cannot be read; becomes that row's problem line."""


def _amount(text: str) -> Decimal:
    # Dashboards format money for people: "$1,234.5678" (LiteLLM's Spend ($) column).
    cleaned = text.strip().replace(",", "").replace("$", "")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise _Unreadable(f"amount {text!r} is not a number") from None


def _day(text: str) -> date:
    value = text.strip()
    try:
        # Unix seconds (OpenAI's start_time) or milliseconds; 8 digits is a YYYYMMDD date, not 1970.
        if value.isdigit() and len(value) > 8:
            seconds = int(value) / 1000 if len(value) > 11 else int(value)
            return datetime.fromtimestamp(seconds, UTC).date()
        stamp = pd.Timestamp(value)
    except (ValueError, OverflowError, OSError):
        raise _Unreadable(f"date {text!r} is not a date") from None
    if pd.isna(stamp):
        raise _Unreadable(f"date {text!r} is not a date")
    return (stamp.tz_convert("UTC") if stamp.tzinfo else stamp).date()


@dataclass
class _FileReader:
    key: str
    spec: BillingFormat
    header: set[str]
    models: set[str]
    rows: list[dict[str, object]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    covered: set[tuple[str, date]] = field(default_factory=set)

    def column(self, group: tuple[str, ...]) -> str:
        return self.spec.column(self.header, group)

    def read(self, row: Row, line: int) -> None:
        where = f"{self.key} line {line}"
        if not self.spec.keep(row):
            return
        date_text, cost_text = row[self.column(self.spec.date)], row[self.column(self.spec.cost)].strip()
        raw_model = self.spec.model(row, self.models)
        try:
            day = _day(date_text)
            if raw_model is None and (not cost_text or _amount(cost_text) == 0):
                # An empty bucket (OpenAI writes one per day without cost): nothing billed, day covered.
                if self.spec.provider is not None:
                    self.covered.add((str(self.spec.provider), day))
                return
            cost = _amount(cost_text) * self.spec.scale
            credits = _amount(row["credits"]) if row.get("credits", "").strip() else Decimal(0)
        except _Unreadable as exc:
            self.problems.append(f"{where}: unreadable date or amount ({exc})")
            return
        if raw_model is None:
            hint = f": {self.spec.no_model_hint}" if self.spec.no_model_hint else ""
            self.problems.append(f"{where}: a cost without a model{hint}")
            return
        declared = next((row[c] for c in PROVIDER_COLUMNS if row.get(c, "").strip()), "")
        provider = self.spec.provider or provider_of(raw_model, declared)
        if provider is None:
            why = "add a provider or custom_llm_provider column"
            self.problems.append(f"{where}: cannot tell the provider of model {raw_model!r} ({why})")
            return
        currency_column = next((c for c in self.spec.currency if c in self.header), None)
        currency = (row[currency_column].strip() if currency_column else "").upper() or "USD"
        if currency != "USD":
            rate = row.get("currency_conversion_rate", "").strip()
            if not rate:
                self.problems.append(f"{where}: cost in {currency} without currency_conversion_rate")
                return
            try:
                cost, credits = cost / _amount(rate), credits / _amount(rate)
            except (_Unreadable, ArithmeticError) as exc:
                self.problems.append(f"{where}: unreadable currency_conversion_rate ({exc})")
                return
        self.covered.add((str(provider), day))
        self.rows.append(
            {
                "usage_date": day,
                "provider": str(provider),
                "model": catalog_model(raw_model, self.models),
                "cost_usd": float(cost),
                "credits_usd": float(credits),
                "file": self.key,
                "format": self.spec.name,
            }
        )


def _read_file(store: ObjectStore, key: str, models: set[str]) -> _FileReader | str:
    with store.open(key) as handle:
        raw = pd.read_csv(handle, dtype=str, keep_default_na=False)
    header = [normalise(str(column)) for column in raw.columns]
    spec = detect(set(header))
    if spec is None:
        return unrecognised(key, header)
    raw.columns = pd.Index(header)
    reader = _FileReader(key, spec, set(header), models)
    for line, record in enumerate(raw.to_dict("records"), start=2):  # line 1 is the header
        reader.read({str(name): str(value) for name, value in record.items()}, line)
    return reader


def read_billing(store: ObjectStore, models: set[str]) -> BillingExport:
    """Every CSV under billing/; a file that cannot be read becomes a problem, never a silent skip."""
    frames: list[pd.DataFrame] = []
    problems: list[str] = []
    files: list[str] = []
    covered: set[tuple[str, date]] = set()
    for obj in store.walk_files(BILLING_PREFIX):
        if not obj.key.lower().endswith(".csv"):
            continue
        files.append(obj.key)
        try:
            result = _read_file(store, obj.key, models)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            problems.append(f"{obj.key}: not a readable CSV ({exc})")
            continue
        if isinstance(result, str):
            problems.append(result)
            continue
        problems.extend(result.problems)
        covered |= result.covered
        if result.rows:
            frames.append(pd.DataFrame(result.rows, columns=COLUMNS))
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    return BillingExport(rows, problems, files, covered)
