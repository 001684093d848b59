from pathlib import Path

from gemini_assets.core.storage.reference import reasons_markdown, tables_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_documents_every_table_and_reason_as_enforced():
    text = README.read_text()
    assert tables_markdown() in text, "regenerate the README tables: python -m gemini_assets.core.storage.reference"
    assert reasons_markdown() in text
