"""Read the provider's billing export dropped under ``<storage root>/billing/`` (README "Billing export").

Accepted: CSV files with a header row, Cloud Billing export columns. Header names are
normalised (case and punctuation ignored: ``sku.description``, ``SKU description`` and
``sku_description`` are one column), so both a BigQuery export query saved as CSV and the
console's cost-table CSV are read without editing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from gemini_assets.core.storage.objectstore import ObjectStore

BILLING_PREFIX = "billing"
DATE_COLUMNS = ("usage_date", "usage_start_time", "usage_start_date", "date")
COST_COLUMNS = ("unrounded_cost", "cost", "cost_usd")
GEMINI_SERVICES = ("gemini", "generative language")


@dataclass
class BillingExport:
    """Billing rows in USD with their usage day and model; problems say what could not be read."""

    rows: pd.DataFrame
    problems: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def on(self, day: date) -> pd.DataFrame:
        return self.rows[self.rows["usage_date"] == day] if len(self.rows) else self.rows


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _slug(text: str) -> str:
    return "-" + re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") + "-"


def model_from_sku(sku: str, models: set[str]) -> str | None:
    """The longest catalog model named in a SKU description ('Gemini 2.5 Flash Lite Input' -> gemini-2.5-flash-lite)."""
    slug = _slug(sku)
    found = [model for model in models if _slug(model) in slug]
    return max(found, key=len) if found else None


def _first(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((name for name in names if name in frame.columns), None)


def _read_file(store: ObjectStore, key: str, models: set[str]) -> tuple[pd.DataFrame, list[str]]:
    with store.open(key) as handle:
        raw = pd.read_csv(handle, dtype=str, keep_default_na=False)
    raw.columns = [_normalise(c) for c in raw.columns]
    date_col, cost_col = _first(raw, DATE_COLUMNS), _first(raw, COST_COLUMNS)
    missing = [what for what, col in (("usage date", date_col), ("cost", cost_col)) if col is None]
    if "model" not in raw.columns and "sku_description" not in raw.columns:
        missing.append("model or sku_description")
    if missing or date_col is None or cost_col is None:
        return pd.DataFrame(), [f"{key}: no {', '.join(missing)} column (have {list(raw.columns)})"]
    if "service_description" in raw.columns:
        service = raw["service_description"].str.lower()
        raw = raw[service.apply(lambda s: any(name in s for name in GEMINI_SERVICES))]
    problems: list[str] = []
    out = []
    for number, (_, row) in enumerate(raw.iterrows(), start=2):  # line 1 is the header
        where = f"{key} line {number}"
        try:
            stamp = pd.Timestamp(row[date_col])
            day = (stamp.tz_convert("UTC") if stamp.tzinfo else stamp).date()
            cost = float(row[cost_col])
            credits = float(row["credits"]) if row.get("credits", "") not in ("", None) else 0.0
        except (ValueError, TypeError) as exc:
            problems.append(f"{where}: unreadable date or amount ({exc})")
            continue
        currency = (row.get("currency") or "USD").strip().upper()
        if currency != "USD":
            rate = row.get("currency_conversion_rate", "")
            if not rate:
                problems.append(f"{where}: cost in {currency} without currency_conversion_rate")
                continue
            cost, credits = cost / float(rate), credits / float(rate)
        sku = row.get("sku_description", "")
        model = (row.get("model") or "").strip() or model_from_sku(sku, models) or f"unmatched: {sku}"
        out.append({"usage_date": day, "model": model, "cost_usd": cost, "credits_usd": credits, "file": key})
    return pd.DataFrame(out), problems


def read_billing(store: ObjectStore, models: set[str]) -> BillingExport:
    """Every CSV under billing/; a file that cannot be read becomes a problem, never a silent skip."""
    frames, problems, files = [], [], []
    for obj in store.walk_files(BILLING_PREFIX):
        if not obj.key.lower().endswith(".csv"):
            continue
        files.append(obj.key)
        try:
            frame, file_problems = _read_file(store, obj.key, models)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            frame, file_problems = pd.DataFrame(), [f"{obj.key}: not a readable CSV ({exc})"]
        frames.append(frame)
        problems.extend(file_problems)
    frames = [f for f in frames if len(f)]
    columns = ["usage_date", "model", "cost_usd", "credits_usd", "file"]
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return BillingExport(rows, problems, files)
