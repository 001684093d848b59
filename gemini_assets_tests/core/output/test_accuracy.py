"""Accuracy against golden labels and agreement with reviewers: figures worked out by hand."""

from __future__ import annotations

import pytest

from gemini_assets.core.contracts.enums import ReviewAction
from gemini_assets.core.output.accuracy import (
    ReviewOutcome,
    reviewer_agreement,
    score_record,
    summarise_accuracy,
)
from gemini_assets.core.output.calibration import calibrate
from gemini_assets.core.tasks.catalog import TaskCatalog

PRODUCT = TaskCatalog().get("product_recognition").response_schema
LABEL = {"product_name": "red ceramic mug", "category": "kitchenware", "dominant_colors": ["red", "white"]}
# (answer, confidence): the label names three fields; description is not labelled, never scored.
ANSWERS = [
    # name 1 (case and punctuation go), category 1, colours 1 -> mean 1.0: correct
    ({"product_name": "Red Ceramic Mug!", "category": "kitchenware", "dominant_colors": ["white", "red"]}, 0.9),
    # name 1, category 0, colours 1 -> 2/3 = 0.6667: incorrect
    ({"product_name": "red ceramic mug", "category": "toy", "dominant_colors": ["red", "white"]}, 0.9),
    # name: difflib ratio 2*7/(7+15) = 0.6364 ("red " and "mug" match); category 1;
    # colours {red} vs {red, white} = 1/2 -> (0.6364 + 1 + 0.5) / 3 = 0.7121: incorrect
    ({"product_name": "red mug", "category": "kitchenware", "dominant_colors": ["red"]}, 0.7),
    # no valid answer: 0 on each labelled field
    (None, None),
    # name 2*15/(15+21) = 0.8333; category 1; colours {white, red, gray} vs {red, white} = 2/3
    # -> (0.8333 + 1 + 0.6667) / 3 = 0.8333: correct
    (
        {
            "product_name": "white red ceramic mug",
            "category": "kitchenware",
            "dominant_colors": ["white", "red", "gray"],
        },
        0.6,
    ),
]


def _with_description(answer):
    return None if answer is None else {**answer, "description": "anything at all", "confidence": 0.5}


def test_each_answer_is_scored_on_the_labelled_fields():
    scores = [score_record(_with_description(answer), LABEL, PRODUCT) for answer, _ in ANSWERS]
    assert [set(s.fields) for s in scores] == [set(LABEL)] * 5
    assert scores[2].fields == pytest.approx({"product_name": 14 / 22, "category": 1.0, "dominant_colors": 0.5})
    assert [s.mean for s in scores] == pytest.approx([1.0, 2 / 3, (14 / 22 + 1.5) / 3, 0.0, (30 / 36 + 1 + 2 / 3) / 3])
    assert [s.correct for s in scores] == [True, False, False, False, True]


def test_the_set_summary_and_its_calibration():
    scores = [score_record(_with_description(answer), LABEL, PRODUCT) for answer, _ in ANSWERS]
    summary = summarise_accuracy(scores)
    assert (summary.items, summary.correct, summary.accuracy) == (5, 2, 0.4)
    # (1 + 0.6667 + 0.7121 + 0 + 0.8333) / 5 = 0.6424
    assert summary.mean_score == pytest.approx((1 + 2 / 3 + (14 / 22 + 1.5) / 3 + 0 + (30 / 36 + 5 / 3) / 3) / 5)
    assert summary.field_accuracy == pytest.approx(
        {
            "product_name": (1 + 1 + 14 / 22 + 0 + 30 / 36) / 5,  # 0.6939
            "category": (1 + 0 + 1 + 0 + 1) / 5,  # 0.6
            "dominant_colors": (1 + 1 + 0.5 + 0 + 2 / 3) / 5,  # 0.6333
        }
    )
    # The answered four: 0.9 right, 0.9 wrong (bucket 0.9: confidence 0.9, accuracy 0.5, gap 0.4),
    # 0.7 wrong (gap 0.7), 0.6 right (gap 0.4): ECE = (2*0.4 + 0.7 + 0.4) / 4 = 0.475
    points = [(conf, s.correct) for (_, conf), s in zip(ANSWERS, scores, strict=True) if conf is not None]
    result = calibrate(points)
    assert result.items == 4 and result.ece == pytest.approx(0.475)
    top = result.buckets[9]
    assert (top.count, top.mean_confidence, top.accuracy) == (2, pytest.approx(0.9), 0.5)


def test_numbers_within_tolerance_booleans_exact_and_text_arrays_as_sets():
    schema = {
        "properties": {
            "weight_kg": {"type": "number"},
            "in_stock": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
        }
    }
    label = {"weight_kg": 2.0, "in_stock": True, "tags": ["Blue", "mug"]}
    # 2.03 is within 2% (0.03 <= 0.02 * 2.03); tags {blue, cup} vs {blue, mug}: 1/3
    close = score_record({"weight_kg": 2.03, "in_stock": True, "tags": ["blue", "cup"]}, label, schema)
    assert close.fields == pytest.approx({"weight_kg": 1.0, "in_stock": 1.0, "tags": 1 / 3})
    assert close.mean == pytest.approx(7 / 9) and not close.correct  # 0.7778 < 0.8
    # 2.05 is not (0.05 > 0.041); a flipped boolean is 0
    far = score_record({"weight_kg": 2.05, "in_stock": False, "tags": ["mug", "BLUE"]}, label, schema)
    assert far.fields == {"weight_kg": 0.0, "in_stock": 0.0, "tags": 1.0}
    assert score_record({"weight_kg": 2.0, "in_stock": True, "tags": ["blue"]}, label, schema, correct_at=0.8).correct


def test_a_label_must_name_scorable_fields_of_the_schema():
    with pytest.raises(ValueError, match="colour"):
        score_record({}, {"colour": "red"}, PRODUCT)
    with pytest.raises(ValueError, match="no field"):
        score_record({}, {"confidence": 0.9}, PRODUCT)


def test_reviewer_agreement_approve_one_reject_zero_edit_by_fields():
    model = {"product_name": "red mug", "category": "toy", "dominant_colors": ["red"], "description": "A red mug."}
    fixed = {**model, "category": "kitchenware", "dominant_colors": ["red", "white"]}
    outcomes = [
        ReviewOutcome(ReviewAction.APPROVE, model, model),  # 1
        ReviewOutcome(ReviewAction.REJECT, model),  # 0
        # name 1, category 0, colours {red} vs {red, white} 1/2, description 1 -> 2.5 / 4 = 0.625
        ReviewOutcome(ReviewAction.EDIT, model, fixed),
        ReviewOutcome(ReviewAction.EDIT, {**model, "confidence": 0.2}, {**model, "confidence": 0.9}),  # 1
        ReviewOutcome(ReviewAction.EDIT, None, fixed),  # no model answer: not scored
    ]
    result = reviewer_agreement(outcomes, PRODUCT)
    assert (result.decided, result.approved, result.edited, result.rejected, result.without_answer) == (4, 1, 2, 1, 1)
    assert result.agreement == pytest.approx((1 + 0 + 0.625 + 1) / 4)  # 0.65625
    assert result.approval_rate == 0.25
    assert reviewer_agreement([], PRODUCT).agreement is None
