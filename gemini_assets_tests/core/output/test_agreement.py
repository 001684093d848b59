"""Field agreement between two answers: each rule against values worked out by hand."""

from __future__ import annotations

import pytest

from gemini_assets.core.output.agreement import field_agreement, mean_agreement, text_similarity, value_agreement
from gemini_assets.core.tasks.catalog import TaskCatalog

CATALOG = TaskCatalog()


def test_a_product_answer_is_compared_field_by_field_by_its_schema():
    schema = CATALOG.get("product_recognition").response_schema
    left = {
        "product_name": "Red ceramic mug",
        "category": "kitchenware",
        "dominant_colors": ["red", "white"],
        "description": "A red mug.",
        "confidence": 0.9,
    }
    right = {
        "product_name": "red  ceramic MUG!",  # the same text once case, spacing and punctuation go
        "category": "kitchenware",
        "dominant_colors": ["red"],  # {red} against {red, white}: 1/2
        "description": "A red mug.",
        "confidence": 0.2,  # self-reported: never compared
    }
    fields = field_agreement(left, right, schema)
    assert fields == {"product_name": 1.0, "category": 1.0, "dominant_colors": 0.5, "description": 1.0}
    assert mean_agreement(fields) == pytest.approx(0.875)
    assert field_agreement(left, {**right, "category": "toy"}, schema)["category"] == 0.0  # enums: exact


def test_objects_in_a_list_match_on_their_normalised_text():
    schema = CATALOG.get("document_extraction").response_schema
    left = {"key_fields": [{"name": "Total", "value": "12.00"}]}
    right = {"key_fields": [{"name": "total", "value": "12.00"}, {"name": "Date", "value": "2026-11-20"}]}
    assert field_agreement(left, right, schema)["key_fields"] == pytest.approx(0.5)
    assert field_agreement({"key_fields": []}, {"key_fields": []}, schema)["key_fields"] == 1.0


@pytest.mark.parametrize(
    ("left", "right", "spec", "expected"),
    [
        (100, 101.5, {"type": "number"}, 1.0),  # 1.5 % apart: within the 2 % tolerance
        (100, 103, {"type": "number"}, 0.0),
        (0, 0.0, {"type": "integer"}, 1.0),
        (True, False, {"type": "boolean"}, 0.0),
        (None, None, {"type": "string"}, 1.0),
        ("x", None, {"type": "string"}, 0.0),
        ("abcd", "abce", {"type": "string"}, 0.75),  # difflib: 2 * 3 matching / 8 characters
        ("Café", "cafe", {"type": "string"}, 1.0),  # accents and case are not a disagreement
    ],
)
def test_each_kind_of_value_has_its_rule(left, right, spec, expected):
    assert value_agreement(left, right, spec) == pytest.approx(expected)


def test_unrelated_texts_score_low():
    assert text_similarity("an invoice from ACME", "a dog on a beach") < 0.5
