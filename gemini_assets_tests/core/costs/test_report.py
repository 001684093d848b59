"""`gemini-assets costs report`: table and PNG from daily_costs partitions."""

import pandas as pd
from click.testing import CliRunner

from gemini_assets.cli import main
from gemini_assets.core.contracts.tables import TABLES
from gemini_assets.core.storage.tables import write_partition


def _day(store, day, rows):
    frame = pd.DataFrame([dict.fromkeys(TABLES["daily_costs"].column_names, 0) | row for row in rows])
    write_partition(store, "daily_costs", day, frame)


def test_report_prints_costs_by_day_and_model_and_writes_a_png(store, tmp_path):
    base = {"task": "product_recognition", "media_kind": "image"}
    _day(
        store,
        "2026-11-20",
        [
            base | {"model": "gemini-3.8-flash", "calls": 10, "items": 9, "cost_usd": 0.25},
            base | {"model": "gemini-3.8-flash", "media_kind": "document", "calls": 2, "items": 2, "cost_usd": 0.05},
            base | {"model": "gemini-3.1-pro-preview", "calls": 1, "items": 1, "cost_usd": 1.5},
        ],
    )
    _day(
        store,
        "2026-11-22",
        [base | {"model": "gemini-3.8-flash", "calls": 4, "items": 4, "cost_usd": None, "unpriced_calls": 1}],
    )
    _day(
        store, "2026-11-25", [base | {"model": "gemini-3.8-flash", "calls": 99, "items": 99, "cost_usd": 9.0}]
    )  # outside the range
    chart = tmp_path / "out" / "chart.png"

    result = CliRunner().invoke(
        main, ["costs", "report", "--from", "2026-11-20", "--to", "2026-11-23", "--chart", str(chart)]
    )

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(
        "2026-11-20" in line and "gemini-3.8-flash" in line and "0.300000" in line and "12" in line for line in lines
    )
    assert any("2026-11-20" in line and "gemini-3.1-pro-preview" in line and "1.500000" in line for line in lines)
    assert any("2026-11-22" in line and "unpriced" in line for line in lines)
    assert not any("2026-11-25" in line for line in lines)
    assert "total: 17 calls, cost unknown (unpriced calls)" in result.output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 5_000


def test_report_rejects_a_reversed_range():
    result = CliRunner().invoke(main, ["costs", "report", "--from", "2026-11-23", "--to", "2026-11-20"])
    assert result.exit_code == 2 and "before --from" in result.output
