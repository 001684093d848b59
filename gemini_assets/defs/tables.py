"""How every table asset reports: schema check, conservation checks and at-a-glance metadata."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import dagster as dg
import pandas as pd

from gemini_assets.core.contracts.schema import Row
from gemini_assets.core.storage.checks import CheckOutcome, check_schema
from gemini_assets.core.storage.tables import frame_of

PREVIEW_ROWS = 5
PREVIEW_WIDTH = 60
Emitted = Iterator[dg.Output[pd.DataFrame] | dg.AssetCheckResult]


def schema_check_name(table: str) -> str:
    return f"{table}_schema"


def check_specs(table: str, *extra: tuple[str, str]) -> list[dg.AssetCheckSpec]:
    """A blocking schema check for the table plus named extra checks (name, description)."""
    specs = [
        dg.AssetCheckSpec(
            schema_check_name(table),
            asset=table,
            blocking=True,
            description=f"columns, types, non-null and unique keys of {table} (docs/tables.md)",
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
        metadata=dict(outcome.metadata.items()),
    )


def counts(values: Iterable[Any]) -> dg.MetadataValue:
    """A markdown table of how often each value occurs (most common first)."""
    tally = Counter(str(value) for value in values)
    lines = ["| value | rows |", "|---|---|"] + [f"| {value} | {count} |" for value, count in tally.most_common()]
    return dg.MetadataValue.md("\n".join(lines) if tally else "_none_")


def preview(rows: Sequence[Row], columns: Sequence[str]) -> dg.MetadataValue:
    """The first rows' chosen columns as markdown, long values shortened."""
    if not rows:
        return dg.MetadataValue.md("_empty_")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows[:PREVIEW_ROWS]:
        values = [_short(getattr(row, column)) for column in columns]
        lines.append("| " + " | ".join(values) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def _short(value: Any) -> str:
    text = "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= PREVIEW_WIDTH else text[: PREVIEW_WIDTH - 3] + "..."


def usd(value: float | None) -> dg.MetadataValue:
    # NaN, not 0, when a cost is unknown: the UI's plot shows a gap instead of a fake zero.
    return dg.MetadataValue.float(float(value) if value is not None else float("nan"))


def emit(
    table: str,
    rows: Sequence[Row],
    metadata: dict[str, Any],
    extra_checks: Iterable[tuple[str, CheckOutcome | None]] = (),
    multi: bool = False,
) -> Emitted:
    """Yield the table (to the IO manager) and its check results; ``multi`` for multi_asset outputs."""
    frame = frame_of(table, rows)
    meta = {"rows": dg.MetadataValue.int(len(frame)), **metadata}
    yield dg.Output(frame, output_name=table if multi else "result", metadata=meta)
    yield check_result(table, schema_check_name(table), check_schema(table, frame))
    for name, outcome in extra_checks:
        yield check_result(table, name, outcome or CheckOutcome(False, ["the check did not run"]))
