"""Prices as data (prices.csv, one row per model and validity range) and the cost of one call.

An unknown model or date yields a loud warning and a null cost, never zero: a silent zero is
how a day's spend disappears from a report.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import date
from importlib import resources

from gemini_assets.core.gateway.base import Usage

log = logging.getLogger(__name__)
MTOK = 1_000_000


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
    source: str

    @property
    def price_id(self) -> str:
        return f"{self.model}@{self.valid_from.isoformat()}"


def _num(value: str) -> float | None:
    return float(value) if value.strip() else None


def load_prices() -> list[Price]:
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
                source=row["source"],
            )
        )
    return prices


class PriceBook:
    def __init__(self, prices: list[Price] | None = None):
        self.prices = prices if prices is not None else load_prices()

    def find(self, model: str, on: date) -> Price | None:
        for price in self.prices:
            if price.model == model and price.valid_from <= on and (price.valid_to is None or on <= price.valid_to):
                return price
        log.warning("no price for model %r on %s: cost left null", model, on)
        return None

    def cost(self, model: str, on: date, usage: Usage) -> tuple[float | None, str | None]:
        """USD cost of one call and the price row used; (None, None) when unpriced."""
        price = self.find(model, on)
        if price is None:
            return None, None
        long = price.long_context_threshold is not None and usage.input_tokens > price.long_context_threshold
        input_rate = price.input_long if long and price.input_long is not None else price.input
        output_rate = price.output_long if long and price.output_long is not None else price.output
        audio = usage.by_modality.get("audio", 0)
        cached = usage.cached_tokens
        audio_rate = price.audio_input if price.audio_input is not None else input_rate
        cached_rate = price.cached_input if price.cached_input is not None else input_rate
        plain = max(usage.input_tokens - audio - cached, 0)
        cost = (
            plain * input_rate
            + audio * audio_rate
            + cached * cached_rate
            + (usage.output_tokens + usage.thinking_tokens) * output_rate
        ) / MTOK
        return cost, price.price_id
