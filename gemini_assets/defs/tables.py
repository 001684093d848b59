"""How every table asset reports: schema check, conservation checks and at-a-glance metadata."""


from collections.abc import Iterable
from typing import Any

import dagster as dg
import pandas as pd

from gemini_assets.core.storage.contracts import CheckOutcome, check_schema
from gemini_assets.core.storage.schemas import TABLES
from gemini_assets.core.storage.tables import empty_frame

PREVIEW_ROWS = 5


def schema_check_name(table: str) -> str:
    return f"{table}_schema"


def check_specs(table: str, *extra: tuple[str, str]) -> list[dg.AssetCheckSpec]:
    """A blocking schema check for the table plus named extra checks (name, description)."""
    specs = [
        dg.AssetCheckSpec(
            schema_check_name(table),
            asset=table,
            blocking=True,
            description=f"columns, types, non-null and unique keys of {table} (README: tables)",
        )
    ]
    specs += [dg.AssetCheckSpec(name, asset=table, blocking=True, description=doc) for name, doc in extra]
    return specs


def check_result(table: str, name: str, outcome: CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=table,
        check_name=name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=outcome.description,
        metadata={k: v for k, v in outcome.metadata.items()},
    )


def frame_for(table: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    if not rows:
        return empty_frame(TABLES[table])
    # Columns a stage does not know yet (e.g. duration for images) are null; a missing
    # non-null column shows up in the schema check instead of as a KeyError.
    return pd.DataFrame(rows).reindex(columns=TABLES[table].column_names)


def counts_md(series: pd.Series) -> dg.MetadataValue:
    counts = series.value_counts(dropna=False)
    lines = ["| value | rows |", "|---|---|"] + [f"| {value} | {count} |" for value, count in counts.items()]
    return dg.MetadataValue.md("\n".join(lines) if len(counts) else "_none_")


def preview(frame: pd.DataFrame, columns: Iterable[str]) -> dg.MetadataValue:
    shown = frame[list(columns)].head(PREVIEW_ROWS)
    if shown.empty:
        return dg.MetadataValue.md("_empty_")
    def short(value: Any) -> str:
        text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
        return text if len(text) <= 60 else text[:57] + "..."

    return dg.MetadataValue.md(shown.map(short).to_markdown(index=False))


def emit(
    table: str,
    frame: pd.DataFrame,
    metadata: dict[str, Any],
    extra_checks: Iterable[tuple[str, CheckOutcome]] = (),
    multi: bool = False,
) -> Iterable[dg.Output | dg.AssetCheckResult]:
    """Yield the table (to the IO manager) and its check results; ``multi`` for multi_asset outputs."""
    meta = {"rows": dg.MetadataValue.int(len(frame)), **metadata}
    yield dg.Output(frame, output_name=table if multi else "result", metadata=meta)
    yield check_result(table, schema_check_name(table), check_schema(table, frame))
    for name, outcome in extra_checks:
        yield check_result(table, name, outcome)
