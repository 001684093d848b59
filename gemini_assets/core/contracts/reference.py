"""Markdown reference of tables and reason codes, generated from the code that enforces them.

docs/tables.md is this text; a test fails when the two drift apart
(regenerate: ``python -m gemini_assets.core.contracts.reference --write``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pyarrow as pa
from pydantic import BaseModel

from gemini_assets.core.contracts.reasons import QUARANTINE_DOCS, REVIEW_DOCS
from gemini_assets.core.contracts.schema import arrow_type
from gemini_assets.core.contracts.tables import TABLES

DOC = Path(__file__).resolve().parents[3] / "docs" / "tables.md"
INTRO = """# Tables

Every table is hive-partitioned Parquet under `<storage root>/warehouse/<table>/date=<YYYY-MM-DD>/`.
Read them all with DuckDB:
`duckdb.read_parquet('data/warehouse/<table>/**/*.parquet', hive_partitioning=true)`.
Column names never change; new columns are added (older partitions read them as null).
This page is generated from the row models in `gemini_assets/core/contracts/tables.py`:
`python -m gemini_assets.core.contracts.reference --write`.
"""


def _type_name(data_type: pa.DataType) -> str:
    if pa.types.is_list(data_type):
        return f"list<{_type_name(data_type.value_type)}>"
    if pa.types.is_struct(data_type):
        return "struct"
    text = str(data_type)
    return {"string": "string", "int64": "int64", "double": "float64", "bool": "bool"}.get(text, text)


def _rows(fields: list[tuple[str, pa.DataType, bool, str]]) -> list[str]:
    lines = ["| column | type | null | meaning |", "|---|---|---|---|"]
    for name, data_type, nullable, doc in fields:
        doc = doc.replace("|", "\\|")  # a bare pipe would split the table cell
        lines.append(f"| `{name}` | {_type_name(data_type)} | {'yes' if nullable else 'no'} | {doc} |")
    return lines


def _struct_of(annotation: Any) -> type[BaseModel] | None:
    """The model behind a struct, list-of-struct or optional-struct field."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _fields(model: type[BaseModel], path: str) -> list[str]:
    """A table of a struct's fields, then one per nested struct (e.g. attempt_log, its usage)."""
    described = [
        (name, *arrow_type(field.annotation), field.description or "") for name, field in model.model_fields.items()
    ]
    parts = [f"\nFields of `{path}`:\n", *_rows(described)]
    for name, field in model.model_fields.items():
        nested = _struct_of(field.annotation)
        if nested is not None:
            parts += _fields(nested, f"{path}.{name}")
    return parts


def tables_markdown() -> str:
    parts = []
    for spec in TABLES.values():
        parts.append(f"### `{spec.name}`: {spec.doc} (key: {', '.join(spec.key)})\n")
        parts += _rows([(c.name, c.type, c.nullable, c.doc) for c in spec.columns])
        for name, field in spec.row.model_fields.items():
            struct = _struct_of(field.annotation)
            if struct is not None:
                parts += _fields(struct, name)
        parts.append("")
    return "\n".join(parts).strip()


def reasons_markdown() -> str:
    lines = ["| table | reason_code | meaning |", "|---|---|---|"]
    lines += [f"| quarantined_media | `{code}` | {doc} |" for code, doc in QUARANTINE_DOCS.items()]
    lines += [f"| review_queue | `{code}` | {doc} |" for code, doc in REVIEW_DOCS.items()]
    return "\n".join(lines)


def document() -> str:
    return f"{INTRO}\n## Tables\n\n{tables_markdown()}\n\n## Reason codes\n\n{reasons_markdown()}\n"


if __name__ == "__main__":
    import sys

    if "--write" in sys.argv:
        DOC.write_text(document())
        print(f"wrote {DOC}")
    else:
        print(document())
