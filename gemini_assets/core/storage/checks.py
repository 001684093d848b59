"""Pure checks behind the blocking asset checks: schema and conservation (DESIGN.md §3)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from gemini_assets.core.contracts.tables import TABLES


@dataclass
class CheckOutcome:
    passed: bool
    problems: list[str] = field(default_factory=list)
    metadata: dict[str, int | str] = field(default_factory=dict)

    @property
    def description(self) -> str:
        return "ok" if self.passed else "; ".join(self.problems)


def check_schema(table: str, frame: pd.DataFrame) -> CheckOutcome:
    """Columns exactly as declared, values castable to the declared types, keys non-null and unique."""
    spec = TABLES[table]
    problems: list[str] = []
    expected, actual = spec.column_names, list(frame.columns)
    missing = [c for c in expected if c not in actual]
    extra = [c for c in actual if c not in expected]
    if missing:
        problems.append(f"missing columns {missing}")
    if extra:
        problems.append(f"unexpected columns {extra}")
    if not missing:
        for column in spec.columns:
            try:
                pa.array(frame[column.name], type=column.type, from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
                problems.append(f"column {column.name} is not {column.type}: {str(exc)[:120]}")
                continue
            nulls = int(frame[column.name].isna().sum())
            if not column.nullable and nulls:
                problems.append(f"column {column.name} has {nulls} nulls")
        key = list(spec.key)
        duplicates = int(frame.duplicated(subset=key).sum())
        if duplicates:
            problems.append(f"{duplicates} duplicate keys on {key}")
    return CheckOutcome(not problems, problems, {"rows": len(frame), "columns": len(actual)})


def check_partition(source: set[str], parts: dict[str, set[str]], source_name: str) -> CheckOutcome:
    """Every id of ``source`` is in exactly one of ``parts``, and the parts hold nothing else."""
    problems: list[str] = []
    names = list(parts)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            both = parts[first] & parts[second]
            if both:
                problems.append(f"{len(both)} ids in both {first} and {second}, e.g. {sorted(both)[:3]}")
    union = set().union(*parts.values()) if parts else set()
    lost = source - union
    unknown = union - source
    if lost:
        problems.append(f"{len(lost)} {source_name} ids in none of {names}, e.g. {sorted(lost)[:3]}")
    if unknown:
        problems.append(f"{len(unknown)} ids not in {source_name}, e.g. {sorted(unknown)[:3]}")
    counts: dict[str, int | str] = {source_name: len(source), **{n: len(v) for n, v in parts.items()}}
    return CheckOutcome(not problems, problems, counts)
