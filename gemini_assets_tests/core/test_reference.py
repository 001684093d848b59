from gemini_assets.core.contracts.reference import DOC, document


def test_docs_describe_every_table_and_reason_as_enforced():
    assert DOC.read_text() == document(), "regenerate: python -m gemini_assets.core.contracts.reference --write"


def test_every_table_and_reason_code_is_in_the_reference():
    from gemini_assets.core.contracts.reasons import QuarantineReason, ReviewReason
    from gemini_assets.core.contracts.tables import TABLES

    text = document()
    for spec in TABLES.values():
        assert f"### `{spec.name}`" in text
        for column in spec.column_names:
            assert f"| `{column}` |" in text
    for reason in [*QuarantineReason, *ReviewReason]:
        assert f"`{reason}`" in text
