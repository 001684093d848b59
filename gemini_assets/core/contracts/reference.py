"""Markdown reference of tables and reason codes, generated from the code that enforces them.

docs/tables.md is this text; a test fails when the two drift apart
(regenerate: ``python -m gemini_assets.core.contracts.reference --write``).
"""

from __future__ import annotations

from pathlib import Path

from gemini_assets.core.contracts.reasons import QUARANTINE_DOCS, REVIEW_DOCS
from gemini_assets.core.contracts.schema import Column
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


def _type_name(column: Column) -> str:
    text = str(column.type)
    return {"string": "string", "int64": "int64", "double": "float64", "bool": "bool"}.get(text, text)


def tables_markdown() -> str:
    parts = []
    for spec in TABLES.values():
        parts.append(f"### `{spec.name}`: {spec.doc} (key: {', '.join(spec.key)})\n")
        parts.append("| column | type | null | meaning |\n|---|---|---|---|")
        for column in spec.columns:
            doc = column.doc.replace("|", "\\|")  # a bare pipe would split the table cell
            parts.append(f"| `{column.name}` | {_type_name(column)} | {'yes' if column.nullable else 'no'} | {doc} |")
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
