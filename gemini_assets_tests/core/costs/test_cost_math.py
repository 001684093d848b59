"""Cost of one call, checked against figures computed by hand from prices.csv."""

from datetime import date

import pytest

from gemini_assets.core.contracts.calls import Usage
from gemini_assets.core.gateway.pricing import PriceBook, load_prices

ON = date(2026, 11, 24)


def cost(model, usage, tier="standard", on=ON):
    return PriceBook().cost(model, on, usage, tier)


def test_flash_text_image_and_thinking():
    # 10,000 prompt tokens at $0.75 + (500 output + 300 thinking) at $3.75 per 1M.
    usage = Usage(
        input_tokens=10_000, output_tokens=500, thinking_tokens=300, by_modality={"text": 1_000, "image": 9_000}
    )
    assert cost("gemini-3.8-flash", usage) == (pytest.approx(0.0105, rel=1e-12), "gemini-3.8-flash@2026-01-01")


def test_long_context_tier_prices_the_whole_prompt_above_200k():
    # 250k prompt > 200k: 200k plain at $4.00, 50k cached at $0.40, 2k output at $18.00.
    long = Usage(input_tokens=250_000, cached_tokens=50_000, output_tokens=2_000)
    assert cost("gemini-3.1-pro-preview", long)[0] == pytest.approx(0.8 + 0.02 + 0.036, rel=1e-12)
    # Exactly 200k is still the standard tier: 200k at $2.00 + 2k at $12.00.
    edge = Usage(input_tokens=200_000, output_tokens=2_000)
    assert cost("gemini-3.1-pro-preview", edge)[0] == pytest.approx(0.4 + 0.024, rel=1e-12)


def test_audio_tokens_use_the_audio_rate():
    # 20k text at $0.50 + 80k audio at $1.00 + 1k output at $3.00.
    usage = Usage(input_tokens=100_000, output_tokens=1_000, by_modality={"text": 20_000, "audio": 80_000})
    assert cost("gemini-3-flash-preview", usage)[0] == pytest.approx(0.01 + 0.08 + 0.003, rel=1e-12)


def test_cached_tokens_use_the_cached_rate():
    # 40k plain at $1.50 + 60k cached at $0.15 + 10k output at $9.00.
    usage = Usage(input_tokens=100_000, cached_tokens=60_000, output_tokens=10_000)
    assert cost("gemini-3.5-flash", usage)[0] == pytest.approx(0.06 + 0.009 + 0.09, rel=1e-12)


def test_batch_halves_input_and_output_but_not_cached():
    usage = Usage(input_tokens=100_000, cached_tokens=60_000, output_tokens=10_000)
    value, price_id = cost("gemini-3.5-flash", usage, "batch")
    assert value == pytest.approx(0.03 + 0.009 + 0.045, rel=1e-12)
    assert price_id == "gemini-3.5-flash@2026-01-01/batch"


def test_flex_is_half_price():
    # 1M input at $0.75 x 0.5 + 100k output at $3.75 x 0.5.
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000)
    assert cost("gemini-3.8-flash", usage, "flex")[0] == pytest.approx(0.375 + 0.1875, rel=1e-12)


def test_price_in_force_on_the_call_date():
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert cost("gemini-3.8-flash", usage, on=date(2026, 12, 31))[0] == pytest.approx(0.75 + 3.75)
    assert cost("gemini-3.8-flash", usage, on=date(2027, 1, 1)) == (
        pytest.approx(1.50 + 7.50),
        "gemini-3.8-flash@2027-01-01",
    )


@pytest.mark.parametrize(
    ("model", "tier", "on", "message"),
    [
        ("gemini-99-ultra", "standard", ON, "no price for model 'gemini-99-ultra'"),
        ("gemini-3.8-flash", "standard", date(2025, 6, 1), "no price for model 'gemini-3.8-flash' on 2025-06-01"),
        ("gemini-3.8-flash", "priority", ON, "no 'priority' service-tier price"),
    ],
)
def test_unknown_model_date_or_tier_is_null_and_loud(caplog, model, tier, on, message):
    assert cost(model, Usage(input_tokens=10), tier, on) == (None, None)
    assert message in caplog.text


def test_missing_cached_price_falls_back_to_input_rate_with_a_warning(caplog):
    header = open_catalog_header()
    row = "m,2026-01-01,,1.00,2.00,,,,,,,0.5,0.5,test,2026-11-24"
    book = PriceBook(load_prices(header + "\n" + row))
    assert book.cost("m", ON, Usage(input_tokens=1_000_000, cached_tokens=500_000))[0] == pytest.approx(1.00)
    assert "no cached-token price" in caplog.text


def open_catalog_header() -> str:
    from importlib import resources

    return resources.files("gemini_assets.core.gateway").joinpath("prices.csv").read_text().splitlines()[0]


def test_every_catalog_row_has_a_source_and_date():
    for price in load_prices():
        assert price.source.strip() and price.source_date <= date.today()
        # half price where the source says so; unknown (null, never guessed) where it does not
        assert price.batch_multiplier in (0.5, None) and price.flex_multiplier in (0.5, None)
        if price.model.startswith("gemini"):
            assert price.batch_multiplier == 0.5 and price.flex_multiplier == 0.5
