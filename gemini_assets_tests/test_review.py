"""The review workflow end to end: CLI decisions, append-only storage, effect at the next materialization."""

import io
import json

import dagster as dg
import pytest
from click.testing import CliRunner
from PIL import Image

from gemini_assets.cli import main
from gemini_assets.core.contracts.tables import ReviewQueueRow
from gemini_assets.core.review.decisions import decisions_for_day
from gemini_assets.core.stages.intake import media_id_for
from gemini_assets.core.storage.tables import frame_of, read_partition, write_partition
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import default_resources
from gemini_assets_tests.landing import land
from gemini_devkit.samples.media import make_pdf

DAY = "2026-11-18"
SHAPES = ["low_confidence", "missing_field", "sensitive"]
GOOD_RECORD = {
    "product_name": "blue mug",
    "category": "kitchenware",
    "dominant_colors": ["blue"],
    "description": "A blue mug.",
    "confidence": 0.95,
}


def cli(*args):
    result = CliRunner().invoke(main, ["review", *args])
    return result.exit_code, result.output


@pytest.fixture
def reviewed_day(store):
    ids = {}
    for index, shape in enumerate(SHAPES):
        key = f"landing/{DAY}/product_recognition/{shape}.png"
        buffer = io.BytesIO()
        Image.new("RGB", (80, 60), (30 * index, 90, 200)).save(buffer, format="PNG")
        store.write_bytes(key, buffer.getvalue())
        store.write_bytes(
            key + ".meta.json", json.dumps({"consent": True, "context": f"blue mug [[emulate:{shape}]]"}).encode()
        )
        ids[shape] = media_id_for(key)
    assert dg.materialize(ASSETS, partition_key=DAY, resources=default_resources()).success
    return ids


# Whole-day materializations through Dagster and the emulator: slow.
@pytest.mark.slow
def test_review_decisions_take_effect_at_next_materialization(store, reviewed_day):
    code, out = cli("list")
    assert code == 0 and out.count(DAY) == 3 and "low_confidence" in out and "3 item(s)" in out

    low, invalid, sensitive = (reviewed_day[s] for s in SHAPES)
    code, out = cli("show", low[:8])
    assert code == 0 and "low_confidence" in out and '"confidence": 0.1' in out

    code, out = cli("approve", invalid, "--reviewer", "ana", "--as-admin")
    assert code == 4 and "use `review edit`" in out
    code, out = cli("edit", invalid, "--json", json.dumps({**GOOD_RECORD, "category": "spaceship"}))
    assert code == 4 and "category" in out
    code, out = cli(
        "edit", invalid, "--json", json.dumps(GOOD_RECORD), "--set", "confidence=0.8", "--reviewer", "ana", "--as-admin"
    )
    assert code == 0 and "edit recorded" in out

    assert cli("reject", low, "--reviewer", "ben", "--as-admin", "--note", "blurry")[0] == 0
    assert cli("approve", low, "--reviewer", "ben", "--as-admin", "--note", "looked again")[0] == 0
    assert cli("reject", sensitive, "--reviewer", "ana", "--as-admin")[0] == 0

    code, out = cli("list")
    assert out.strip() == "nothing to review"

    # decisions are kept append-only: all four, oldest first
    decisions = decisions_for_day(store, DAY)
    assert [(d.media_id, d.action) for d in decisions] == [
        (invalid, "edit"),
        (low, "reject"),
        (low, "approve"),
        (sensitive, "reject"),
    ]

    # only the records step is re-run: no new model call is needed for a decision
    result = dg.materialize(
        ASSETS, partition_key=DAY, resources=default_resources(), selection=["validated_records", "review_queue"]
    )
    assert result.success
    records = read_partition(store, "validated_records", DAY).set_index("media_id")
    review = read_partition(store, "review_queue", DAY).set_index("media_id")
    assert set(records.index) == {low, invalid} and set(review.index) == {sensitive}
    assert records.loc[low, "source"] == "review" and records.loc[low, "reviewed_by"] == "ben"
    assert json.loads(records.loc[low, "record_json"])["confidence"] == 0.1
    assert json.loads(records.loc[invalid, "record_json"]) == {**GOOD_RECORD, "confidence": 0.8}
    assert review.loc[sensitive, "review_status"] == "rejected" and review.loc[sensitive, "reviewed_by"] == "ana"
    assert all(e.passed for e in result.get_asset_check_evaluations())


# ---- the output filters apply to what a person publishes too ------------------------------------
DOCUMENT = {"title": "Invoice 42", "document_type": "invoice", "summary": "An invoice.", "key_fields": []}
CARD_AND_MAIL = "Paid by card 4111 1111 1111 1111, questions to jane.doe@example.com."
MASKED = "Paid by card [CARD REDACTED], questions to [EMAIL REDACTED]."


def queue(store, **candidates) -> dict[str, str]:
    """A review_queue partition with one low-confidence item per task (name → its answer)."""
    ids, rows = {}, []
    for task, candidate in candidates.items():
        ids[task] = media_id_for(f"landing/{DAY}/{task}/upload")
        rows.append(
            ReviewQueueRow(
                media_id=ids[task],
                task=task,
                sha256="0" * 64,
                stage="validation",
                reason_code="low_confidence",
                reason_detail="confidence 0.10 < 0.50",
                task_version="1.0.0",
                candidate_json=json.dumps({**candidate, "confidence": 0.1}),
                review_status="pending",
            )
        )
    write_partition(store, "review_queue", DAY, frame_of("review_queue", rows))
    return ids


def test_an_edit_carrying_what_the_task_flags_is_refused_and_nothing_is_recorded(store):
    """Guards: `review edit` published a card number, an email and sensitive words that a model's
    answer could never have published (product_recognition flags PII and sensitive words)."""
    ids = queue(store, product_recognition=GOOD_RECORD)
    code, out = cli(
        "edit", ids["product_recognition"], "--set", f"description={CARD_AND_MAIL}", "--reviewer", "ana", "--as-admin"
    )
    assert code == 4 and "pii:email@description, pii:card@description" in out
    assert "product_recognition does not publish these" in out and "take them out of the record" in out
    code, out = cli("edit", ids["product_recognition"], "--set", "description=A strictly confidential mug.")
    assert code == 4 and "sensitive:confidential@description" in out
    assert decisions_for_day(store, DAY) == []


def test_an_edit_carrying_what_the_task_redacts_is_recorded_masked_with_its_flags(store):
    """Guards: edited values skipping the PII filter of a task that redacts (document_extraction)."""
    ids = queue(store, document_extraction=DOCUMENT)
    code, out = cli(
        "edit", ids["document_extraction"], "--set", f"summary={CARD_AND_MAIL}", "--reviewer", "ana", "--as-admin"
    )
    assert code == 0, out
    (decision,) = decisions_for_day(store, DAY)
    assert decision.record["summary"] == MASKED and "4111" not in json.dumps(decision.record)
    assert decision.flags == "pii:card@summary,pii:email@summary"


def test_approving_masks_what_the_task_redacts_and_records_what_the_reviewer_signed_off(store):
    """Guards: an approved answer publishing PII its task redacts (a low-confidence answer is
    queued unfiltered), and a flagged finding approved without a trace in the record's flags."""
    ids = queue(
        store,
        document_extraction={**DOCUMENT, "summary": CARD_AND_MAIL},
        product_recognition={**GOOD_RECORD, "description": "Mail jane.doe@example.com for this mug."},
    )
    assert cli("approve", ids["document_extraction"], "--reviewer", "ana", "--as-admin")[0] == 0
    assert cli("approve", ids["product_recognition"], "--reviewer", "ben", "--as-admin")[0] == 0
    document, product = decisions_for_day(store, DAY)
    assert document.record["summary"] == MASKED and document.flags == "pii:card@summary,pii:email@summary"
    assert "jane.doe@example.com" in product.record["description"]  # flag policy: a person signed it off
    assert product.flags == "pii:email@description"


@pytest.mark.parametrize(
    "name, problem",
    [
        ("../../etc/passwd", "'/' is not allowed in a reviewer name"),
        ("x" * 100_000, "a reviewer name has 1 to 64 characters, not 100000"),
        ("ana\x1b[31m", "'\\x1b' is not allowed in a reviewer name"),
        ("ana\nben", "'\\n' is not allowed in a reviewer name"),
        ("", "a reviewer name has 1 to 64 characters, not 0"),
        ("Ana María", "' ' is not allowed in a reviewer name"),
        ("maría", "'í' is not allowed in a reviewer name"),
        ("..", "a reviewer name starts with a letter, a digit or _, not '.'"),
        ("-ana", "a reviewer name starts with a letter, a digit or _, not '-'"),
    ],
)
def test_reviewer_names_are_short_login_like_names(store, name, problem):
    """Guards: --reviewer taking any text (paths, escape sequences, 100,000 characters, look-alike
    letters) into the decisions, the audit trail and validated_records.reviewed_by."""
    for command in (["approve", "abc"], ["reject", "abc"], ["edit", "abc", "--set", "a=1"]):
        for admin in ([], ["--as-admin"]):
            code, out = cli(*command, "--reviewer", name, *admin)
            assert code == 2 and problem in out and "Traceback" not in out, (command, out)


def test_a_valid_reviewer_name_gets_past_the_option_check(store):
    code, out = cli("reject", "abc", "--reviewer", "ana.lopez-2@qa_team", "--as-admin")
    assert code == 4 and "no review item 'abc'" in out  # refused for the item, not for the name


@pytest.fixture
def document_day(store):
    """A day with one low-confidence invoice (document_extraction redacts PII)."""
    key = f"landing/{DAY}/document_extraction/invoice.pdf"
    land(
        store,
        key,
        make_pdf([["Invoice 42", "Total 12.00 EUR"]], title="Invoice 42"),
        context="[[emulate:low_confidence]]",
    )
    assert dg.materialize(ASSETS, partition_key=DAY, resources=default_resources()).success
    return media_id_for(key)


@pytest.mark.slow
def test_an_edited_record_reaches_validated_records_masked_and_flagged(store, document_day):
    """Guards: a card number and an email typed into `review edit` reaching validated_records."""
    code, out = cli("edit", document_day, "--set", f"summary={CARD_AND_MAIL}", "--reviewer", "ana.maria", "--as-admin")
    assert code == 0, out
    result = dg.materialize(
        ASSETS, partition_key=DAY, resources=default_resources(), selection=["validated_records", "review_queue"]
    )
    assert result.success and all(e.passed for e in result.get_asset_check_evaluations())
    record = read_partition(store, "validated_records", DAY).set_index("media_id").loc[document_day]
    assert json.loads(record["record_json"])["summary"] == MASKED and "4111" not in record["record_json"]
    assert record["flags"] == "review:edit,pii:card@summary,pii:email@summary"
    assert record["source"] == "review" and record["reviewed_by"] == "ana.maria"
