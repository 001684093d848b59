import pandas as pd

from gemini_assets.core.contracts.tables import TABLES
from gemini_assets.core.storage.checks import check_partition, check_schema
from gemini_assets.core.storage.tables import empty_frame


def _costs_row(**overrides):
    row = dict.fromkeys(TABLES["daily_costs"].column_names, 0)
    row.update(model="m", task="t", media_kind="image", cost_usd=0.5, cost_per_item_usd=0.5)
    row.update(overrides)
    return row


def test_schema_passes_on_declared_columns():
    assert check_schema("daily_costs", pd.DataFrame([_costs_row()])).passed
    assert check_schema("raw_media", empty_frame(TABLES["raw_media"])).passed


def test_schema_reports_missing_extra_wrong_type_null_key_and_duplicates():
    frame = pd.DataFrame([_costs_row(), _costs_row()]).drop(columns=["calls"]).assign(bonus=1)
    outcome = check_schema("daily_costs", frame)
    assert not outcome.passed
    assert any("missing columns ['calls']" in p for p in outcome.problems)
    assert any("unexpected columns ['bonus']" in p for p in outcome.problems)

    typed = pd.DataFrame([_costs_row(items="many")])
    assert any("items" in p for p in check_schema("daily_costs", typed).problems)
    null_key = pd.DataFrame([_costs_row(model=None)])
    assert any("model has 1 nulls" in p for p in check_schema("daily_costs", null_key).problems)
    dupes = pd.DataFrame([_costs_row(), _costs_row()])
    assert any("duplicate keys" in p for p in check_schema("daily_costs", dupes).problems)


def test_partition_conservation():
    assert check_partition({"a", "b"}, {"x": {"a"}, "y": {"b"}}, "src").passed
    lost = check_partition({"a", "b", "c"}, {"x": {"a"}, "y": {"b"}}, "src")
    assert not lost.passed and "1 src ids in none" in lost.description
    both = check_partition({"a", "b"}, {"x": {"a", "b"}, "y": {"b"}}, "src")
    assert not both.passed and "in both x and y" in both.description
    unknown = check_partition({"a"}, {"x": {"a", "z"}, "y": set()}, "src")
    assert not unknown.passed and "not in src" in unknown.description
