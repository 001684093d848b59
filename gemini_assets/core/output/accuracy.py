"""How right answers are: against golden labels, and in the eyes of the reviewers.

Field scores are agreement.py's (exact for enums and booleans, a relative tolerance for numbers,
normalised similarity for text, set overlap for arrays), each 0..1.

A golden label may name only some of a task's fields: a free-text summary has no one right
wording, so a label vouches for the facts it knows and only the fields it names are scored.
A record is **correct** when the mean score of its labelled fields is at least ``CORRECT_AT``
(0.8). With four labelled fields one wrong enum (0.75) makes it incorrect, while a name that
differs by a word ("white red ceramic mug" for "red ceramic mug": 0.83) does not. An item
without a valid answer scores 0 on every labelled field: for the user it is not a right answer.

Reviewer agreement is measured on the items a person decided: approving the model's answer
agrees fully (1), rejecting it not at all (0), and an edit agrees as much as the model's answer
agrees with the edited record, field by field (an edit of the confidence alone agrees fully).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gemini_assets.core.contracts.enums import ReviewAction
from gemini_assets.core.output.agreement import NOT_COMPARED, Schema, field_agreement, mean_agreement

CORRECT_AT = 0.8


@dataclass(frozen=True)
class RecordScore:
    """One answer against its label: a 0..1 score per labelled field."""

    fields: dict[str, float]
    correct_at: float = CORRECT_AT

    @property
    def mean(self) -> float:
        return mean_agreement(self.fields) or 0.0

    @property
    def correct(self) -> bool:
        return self.mean >= self.correct_at


def labelled_fields(expected: dict[str, Any], schema: Schema) -> list[str]:
    """The fields a label can be scored on: the schema's, without the self-reported confidence."""
    properties = schema.get("properties", {})
    unknown = sorted(set(expected) - set(properties))
    if unknown:
        raise ValueError(f"the label names fields the schema does not have: {unknown}")
    return [name for name in expected if name not in NOT_COMPARED]


def score_record(
    record: dict[str, Any] | None, expected: dict[str, Any], schema: Schema, correct_at: float = CORRECT_AT
) -> RecordScore:
    """``record`` against the golden ``expected`` fields; ``None`` (no valid answer) scores 0."""
    names = labelled_fields(expected, schema)
    if not names:
        raise ValueError("the label names no field that can be scored")
    if record is None:
        return RecordScore(dict.fromkeys(names, 0.0), correct_at)
    return RecordScore(field_agreement(record, expected, schema, only=names), correct_at)


@dataclass(frozen=True)
class AccuracySummary:
    items: int
    correct: int
    accuracy: float | None  # correct / items
    mean_score: float | None  # mean of the records' mean field scores
    field_accuracy: dict[str, float]  # mean score per field, over the items whose label names it


def summarise_accuracy(scores: Iterable[RecordScore]) -> AccuracySummary:
    scored = list(scores)
    if not scored:
        return AccuracySummary(0, 0, None, None, {})
    per_field: dict[str, list[float]] = {}
    for score in scored:
        for name, value in score.fields.items():
            per_field.setdefault(name, []).append(value)
    correct = sum(score.correct for score in scored)
    return AccuracySummary(
        items=len(scored),
        correct=correct,
        accuracy=correct / len(scored),
        mean_score=sum(score.mean for score in scored) / len(scored),
        field_accuracy={name: sum(values) / len(values) for name, values in per_field.items()},
    )


@dataclass(frozen=True)
class ReviewOutcome:
    """A person's latest decision on one item, beside the answer the model had given."""

    action: ReviewAction
    candidate: dict[str, Any] | None  # the model's schema-valid answer, if it gave one
    published: dict[str, Any] | None = None  # the record approved or written (None on reject)


@dataclass(frozen=True)
class ReviewerAgreement:
    decided: int  # decisions on a model answer (the ones scored)
    approved: int
    edited: int
    rejected: int
    agreement: float | None  # mean per decision: approve 1, reject 0, edit the field agreement
    approval_rate: float | None  # approved / decided
    without_answer: int  # decisions on items the model gave no valid answer for: nothing to agree with


def reviewer_agreement(outcomes: Iterable[ReviewOutcome], schema: Schema) -> ReviewerAgreement:
    counts = dict.fromkeys(ReviewAction, 0)
    scores: list[float] = []
    without_answer = 0
    for outcome in outcomes:
        if outcome.candidate is None:
            without_answer += 1
            continue
        counts[outcome.action] += 1
        scores.append(_decision_score(outcome, schema))
    decided = len(scores)
    return ReviewerAgreement(
        decided=decided,
        approved=counts[ReviewAction.APPROVE],
        edited=counts[ReviewAction.EDIT],
        rejected=counts[ReviewAction.REJECT],
        agreement=sum(scores) / decided if decided else None,
        approval_rate=counts[ReviewAction.APPROVE] / decided if decided else None,
        without_answer=without_answer,
    )


def _decision_score(outcome: ReviewOutcome, schema: Schema) -> float:
    if outcome.action == ReviewAction.APPROVE:
        return 1.0
    if outcome.action == ReviewAction.REJECT or outcome.published is None or outcome.candidate is None:
        return 0.0
    return mean_agreement(field_agreement(outcome.candidate, outcome.published, schema)) or 0.0
