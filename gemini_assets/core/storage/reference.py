"""Markdown reference of tables and reason codes, generated from the code that enforces them.

The README embeds this text; a test fails when the two drift apart.
"""

from __future__ import annotations

from gemini_assets.core.media.policy import REASON_DOCS
from gemini_assets.core.output.records import REVIEW_DOCS
from gemini_assets.core.storage.schemas import TABLES


def _type_name(column) -> str:
    text = str(column.type)
    return {"string": "string", "int64": "int64", "double": "float64", "bool": "bool"}.get(text, text)


def tables_markdown() -> str:
    parts = []
    for spec in TABLES.values():
        parts.append(f"#### `{spec.name}`: {spec.doc} (key: {', '.join(spec.key)})\n")
        parts.append("| column | type | null | meaning |\n|---|---|---|---|")
        for column in spec.columns:
            doc = column.doc.replace("|", "\\|")  # a bare pipe would split the table cell
            parts.append(f"| `{column.name}` | {_type_name(column)} | {'yes' if column.nullable else 'no'} | {doc} |")
        parts.append("")
    return "\n".join(parts).strip()


def reasons_markdown() -> str:
    lines = ["| table | reason_code | meaning |", "|---|---|---|"]
    lines += [f"| quarantined_media | `{code}` | {doc} |" for code, doc in REASON_DOCS.items()]
    lines += [f"| review_queue | `{code}` | {doc} |" for code, doc in REVIEW_DOCS.items()]
    return "\n".join(lines)


def update_readme(path: str = "README.md") -> None:
    """Rewrite the generated sections between the README's markers."""
    import re

    text = open(path).read()
    for name, body in (("tables", tables_markdown()), ("reasons", reasons_markdown())):
        pattern = re.compile(f"<!-- {name}:begin -->.*?<!-- {name}:end -->", re.DOTALL)
        text = pattern.sub(lambda _m, n=name, b=body: f"<!-- {n}:begin -->\n{b}\n<!-- {n}:end -->", text)
    with open(path, "w") as handle:
        handle.write(text)


if __name__ == "__main__":
    import sys

    if "--update-readme" in sys.argv:
        update_readme()
    else:
        print(tables_markdown())
        print()
        print(reasons_markdown())
