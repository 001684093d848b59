"""The review workflow end to end: CLI decisions, append-only storage, effect at the next materialization."""

import io
import json

import dagster as dg
import pytest
from click.testing import CliRunner
from PIL import Image

from gemini_assets.cli import main
from gemini_assets.core.review.decisions import decisions_for_day
from gemini_assets.core.stages.intake import media_id_for
from gemini_assets.core.storage.tables import read_partition
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import default_resources

# Whole-day materializations through Dagster and the emulator: slow.
pytestmark = pytest.mark.slow

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


def test_review_decisions_take_effect_at_next_materialization(store, reviewed_day):
    code, out = cli("list")
    assert code == 0 and out.count(DAY) == 3 and "low_confidence" in out and "3 item(s)" in out

    low, invalid, sensitive = (reviewed_day[s] for s in SHAPES)
    code, out = cli("show", low[:8])
    assert code == 0 and "low_confidence" in out and '"confidence": 0.1' in out

    code, out = cli("approve", invalid, "--reviewer", "ana")
    assert code == 4 and "use `review edit`" in out
    code, out = cli("edit", invalid, "--json", json.dumps({**GOOD_RECORD, "category": "spaceship"}))
    assert code == 4 and "category" in out
    code, out = cli("edit", invalid, "--json", json.dumps(GOOD_RECORD), "--set", "confidence=0.8", "--reviewer", "ana")
    assert code == 0 and "edit recorded" in out

    assert cli("reject", low, "--reviewer", "ben", "--note", "blurry")[0] == 0
    assert cli("approve", low, "--reviewer", "ben", "--note", "looked again")[0] == 0
    assert cli("reject", sensitive, "--reviewer", "ana")[0] == 0

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
