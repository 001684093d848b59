"""Prices as data (prices.csv, one row per model and validity range) and the cost of one call.

Rules (README "Pricing catalog"; figures and their sources in prices.csv):
- a prompt longer than ``long_context_threshold`` tokens is priced entirely at the long-context
  rates (input, output and cached), as Google prices prompts above 200k tokens;
- audio prompt tokens use the audio input rate when the model has one;
- cached prompt tokens use the cached rate; a row without one prices them as plain input
  (an upper bound) and says so in the log;
- ``batch`` and ``flex`` multiply the input, audio and output rates (50 % off today); cached
  tokens stay at the standard cached rate, as genai-prices records for Gemini batch;
- an unknown model, date or service tier yields a loud warning and a null cost, never zero:
  a silent zero is how a day's spend disappears from a report.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import date
from importlib import resources

from gemini_assets.core.contracts.calls import Usage

log = logging.getLogger(__name__)
MTOK = 1_000_000
SERVICE_TIERS = ("standard", "batch", "flex")


@dataclass(frozen=True)
class Price:
    model: str
    valid_from: date
    valid_to: date | None
    input: float
    output: float
    audio_input: float | None
    cached_input: float | None
    long_context_threshold: int | None
    input_long: float | None
    output_long: float | None
    cached_input_long: float | None
    batch_multiplier: float | None
    flex_multiplier: float | None
    source: str
    source_date: date

    @property
    def price_id(self) -> str:
        return f"{self.model}@{self.valid_from.isoformat()}"

    def multiplier(self, tier: str) -> float | None:
        return {"standard": 1.0, "batch": self.batch_multiplier, "flex": self.flex_multiplier}.get(tier)


@dataclass(frozen=True)
class CostBreakdown:
    """USD per token category of one call; ``total`` is what the ledger stores."""

    input_usd: float
    audio_usd: float
    cached_usd: float
    output_usd: float
    long_context: bool

    @property
    def total(self) -> float:
        return self.input_usd + self.audio_usd + self.cached_usd + self.output_usd


def _num(value: str | None) -> float | None:
    return float(value) if value and value.strip() else None


def load_prices(text: str | None = None) -> list[Price]:
    if text is None:
        text = resources.files("gemini_assets.core.gateway").joinpath("prices.csv").read_text()
    prices = []
    for row in csv.DictReader(text.splitlines()):
        prices.append(
            Price(
                model=row["model"],
                valid_from=date.fromisoformat(row["valid_from"]),
                valid_to=date.fromisoformat(row["valid_to"]) if row["valid_to"] else None,
                input=float(row["input_usd_per_mtok"]),
                output=float(row["output_usd_per_mtok"]),
                audio_input=_num(row["audio_input_usd_per_mtok"]),
                cached_input=_num(row["cached_input_usd_per_mtok"]),
                long_context_threshold=int(row["long_context_threshold"]) if row["long_context_threshold"] else None,
                input_long=_num(row["input_long_usd_per_mtok"]),
                output_long=_num(row["output_long_usd_per_mtok"]),
                cached_input_long=_num(row.get("cached_input_long_usd_per_mtok")),
                batch_multiplier=_num(row.get("batch_multiplier")),
                flex_multiplier=_num(row.get("flex_multiplier")),
                source=row["source"],
                source_date=date.fromisoformat(row["source_date"]),
            )
        )
    return prices


class PriceBook:
    def __init__(self, prices: list[Price] | None = None):
        self.prices = prices if prices is not None else load_prices()
        self._warned: set[tuple[str, ...]] = set()

    def models(self) -> set[str]:
        return {price.model for price in self.prices}

    def _warn_once(self, key: tuple[str, ...], message: str, *args: object) -> None:
        # Loud, but once per cause: a day of 10,000 unpriced calls should not drown the log.
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)

    def find(self, model: str, on: date) -> Price | None:
        for price in self.prices:
            if price.model == model and price.valid_from <= on and (price.valid_to is None or on <= price.valid_to):
                return price
        self._warn_once(("model", model, on.isoformat()), "no price for model %r on %s: cost left null", model, on)
        return None

    def breakdown(
        self, model: str, on: date, usage: Usage, tier: str = "standard"
    ) -> tuple[CostBreakdown | None, str | None]:
        price = self.find(model, on)
        if price is None:
            return None, None
        multiplier = price.multiplier(tier)
        if multiplier is None:
            self._warn_once(("tier", model, tier), "no %r service-tier price for model %r: cost left null", tier, model)
            return None, None
        long = price.long_context_threshold is not None and usage.input_tokens > price.long_context_threshold
        input_rate = price.input_long if long and price.input_long is not None else price.input
        output_rate = price.output_long if long and price.output_long is not None else price.output
        cached_rate = price.cached_input_long if long and price.cached_input_long is not None else price.cached_input
        if cached_rate is None:
            if usage.cached_tokens:
                self._warn_once(("cached", model), "no cached-token price for %r: cached tokens priced as input", model)
            cached_rate = input_rate
        audio_rate = price.audio_input if price.audio_input is not None else input_rate
        audio = usage.by_modality.get("audio", 0)
        cached = usage.cached_tokens
        plain = max(usage.input_tokens - audio - cached, 0)
        costs = CostBreakdown(
            input_usd=plain * input_rate * multiplier / MTOK,
            audio_usd=audio * audio_rate * multiplier / MTOK,
            cached_usd=cached * cached_rate / MTOK,
            output_usd=(usage.output_tokens + usage.thinking_tokens) * output_rate * multiplier / MTOK,
            long_context=long,
        )
        price_id = price.price_id if tier == "standard" else f"{price.price_id}/{tier}"
        return costs, price_id

    def cost(self, model: str, on: date, usage: Usage, tier: str = "standard") -> tuple[float | None, str | None]:
        """USD cost of one call and the price row used; (None, None) when unpriced."""
        costs, price_id = self.breakdown(model, on, usage, tier)
        return (costs.total, price_id) if costs is not None else (None, None)
