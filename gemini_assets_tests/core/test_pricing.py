from datetime import date

import pytest

from gemini_assets.core.contracts.calls import Usage
from gemini_assets.core.gateway.pricing import PriceBook


def test_flash_cost_by_hand():
    # 1,000,000 input at $0.75 + 200,000 output and 100,000 thinking at $3.75 per 1M tokens.
    usage = Usage(input_tokens=1_000_000, output_tokens=200_000, thinking_tokens=100_000)
    cost, price_id = PriceBook().cost("gemini-3.8-flash", date(2026, 11, 24), usage)
    assert cost == pytest.approx(0.75 + 0.3 * 3.75)
    assert price_id == "gemini-3.8-flash@2026-01-01"


def test_price_changes_on_date():
    usage = Usage(input_tokens=1_000_000)
    assert PriceBook().cost("gemini-3.8-flash", date(2027, 1, 1), usage)[0] == pytest.approx(1.50)


def test_long_context_tier_and_audio_rate():
    book = PriceBook()
    long = Usage(input_tokens=300_000, output_tokens=10_000)
    assert book.cost("gemini-3.1-pro-preview", date(2026, 11, 1), long)[0] == pytest.approx(0.3 * 4.00 + 0.01 * 18.00)
    short = Usage(input_tokens=100_000, output_tokens=10_000)
    assert book.cost("gemini-3.1-pro-preview", date(2026, 11, 1), short)[0] == pytest.approx(0.1 * 2.00 + 0.01 * 12.00)
    audio = Usage(input_tokens=300_000, by_modality={"audio": 100_000, "text": 200_000})
    assert book.cost("gemini-3.1-flash-lite", date(2026, 11, 1), audio)[0] == pytest.approx(0.2 * 0.25 + 0.1 * 0.50)


def test_unknown_model_is_null_not_zero(caplog):
    cost, price_id = PriceBook().cost("gemini-99-ultra", date(2026, 11, 1), Usage(input_tokens=10))
    assert cost is None and price_id is None
    assert "no price for model 'gemini-99-ultra'" in caplog.text
