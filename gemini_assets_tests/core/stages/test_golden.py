"""Golden sets on a real store: labelled media through intake, the manifest, review, the audit log."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.contracts.errors import GoldenSetError
from gemini_assets.core.contracts.tables import ReviewQueueRow
from gemini_assets.core.media.policy import DEFAULT_POLICY
from gemini_assets.core.review.workflow import Reviewer, find_item
from gemini_assets.core.stages.golden import GoldenSets, GoldenUpload, load_golden_set, manifest_key
from gemini_assets.core.stages.intake import scan_landing, validate_and_store
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.storage.tables import frame_of, write_partition
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_devkit.samples.golden import golden_samples, seed_golden_sets

TASK = "product_recognition"
DAY = "2026-11-18"
CONSENTED = GoldenUpload(uploader="studio", consent=True, residency="global", context="red ceramic mug")
LABEL = {"product_name": "red ceramic mug", "category": "kitchenware", "dominant_colors": ["red", "white"]}


@pytest.fixture
def audit(store: ObjectStore, tmp_path: Path) -> AuditLog:
    return AuditLog(store, tmp_path / "keys" / "audit.pem")


@pytest.fixture
def golden(store: ObjectStore, audit: AuditLog) -> GoldenSets:
    return GoldenSets(store, audit, TaskCatalog())


def _png(colour=(200, 30, 40)) -> bytes:
    image = Image.new("RGB", (320, 240), (245, 245, 245))
    image.paste(Image.new("RGB", (120, 120), colour), (100, 60))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _events(audit: AuditLog, day: str, name: str) -> list[dict]:
    return [e for e in audit.read(day) if e.get("event") == name]


def test_an_item_is_stored_with_its_label_once_per_content(store, audit, golden):
    first = golden.add(TASK, "mug.png", _png(), LABEL, CONSENTED, added_by="ana", day=DAY)
    item = first.item
    assert first.added and item.source == "seeded" and item.added_by == "ana" and item.task_version == "1.1.0"
    assert item.media_key == f"golden/{TASK}/media/{item.sha256}.png" and item.golden_id == item.sha256[:20]
    assert store.sha256(item.media_key) == item.sha256 and item.mime_type == "image/png"
    assert (item.media_kind, item.expected, item.context) == ("image", LABEL, "red ceramic mug")
    # the manifest is the documented JSON lines, one per item
    [line] = store.read_bytes(manifest_key(TASK)).decode().splitlines()
    assert json.loads(line)["expected"] == LABEL and load_golden_set(store, TASK) == [item]
    [event] = _events(audit, DAY, "golden_added")
    assert event["golden_id"] == item.golden_id and event["source"] == "seeded" and event["added_by"] == "ana"
    assert audit.verify(DAY).ok

    # the same bytes again, with another label and name: the first label stands, nothing is added
    again = golden.add(TASK, "other.png", _png(), {**LABEL, "category": "toy"}, CONSENTED, added_by="ben", day=DAY)
    assert not again.added and again.item == item
    assert len(golden.load(TASK)) == 1 and len(_events(audit, DAY, "golden_added")) == 1
    # other content is another item; scratch copies are gone
    assert golden.add(TASK, "blue.png", _png((30, 70, 200)), LABEL, CONSENTED, added_by="ana", day=DAY).added
    assert len(golden.load(TASK)) == 2 and not list(store.walk_files(f"golden/{TASK}/inbox"))
    assert not list(store.walk_files("staging"))


def test_golden_media_passes_intake_like_any_upload(store, golden):
    no_consent = GoldenUpload(uploader="studio", consent=False)
    with pytest.raises(GoldenSetError, match="no_consent") as refused:
        golden.add(TASK, "mug.png", _png(), LABEL, no_consent, added_by="ana")
    folder = str(refused.value).rsplit("kept at ", 1)[1].rstrip(")")
    assert folder.startswith(f"quarantine/golden/{TASK}/")
    assert store.read_json(f"{folder}/reason.json")["reason_code"] == "no_consent"

    html = b"<!DOCTYPE html><html><body>not an image</body></html>"
    with pytest.raises(GoldenSetError, match="unsupported_type"):
        golden.add(TASK, "photo.jpg", html, LABEL, CONSENTED, added_by="ana")
    truncated = _png()[:400]
    with pytest.raises(GoldenSetError, match=r"truncated|corrupt_media"):
        golden.add(TASK, "cut.png", truncated, LABEL, CONSENTED, added_by="ana")
    with pytest.raises(GoldenSetError, match="unsupported_extension"):
        golden.add(TASK, "../../mug.pdf", _png(), LABEL, CONSENTED, added_by="ana")  # the path is never a key
    assert golden.load(TASK) == [] and not store.exists(f"golden/{TASK}/media")
    assert not list(store.walk_files(f"golden/{TASK}/inbox"))


def test_media_already_in_storage_is_streamed_and_a_link_is_never_read(store, golden, tmp_path):
    key = f"landing/{DAY}/{TASK}/shop/mug.png"
    store.write_bytes(key, _png())
    item = golden.add_stored(TASK, key, LABEL, CONSENTED, added_by="ana").item
    assert item.sha256 == store.sha256(key) and store.exists(item.media_key) and store.exists(key)
    secret = tmp_path / "secret.png"
    secret.write_bytes(_png((30, 70, 200)))
    Path(store.path(f"landing/{DAY}/{TASK}/shop/link.png")).symlink_to(secret)
    with pytest.raises(GoldenSetError, match="not_regular_file"):
        golden.add_stored(TASK, f"landing/{DAY}/{TASK}/shop/link.png", LABEL, CONSENTED, added_by="ana")
    with pytest.raises(GoldenSetError, match="nothing is stored"):
        golden.add_stored(TASK, f"landing/{DAY}/{TASK}/shop/gone.png", LABEL, CONSENTED, added_by="ana")
    assert len(golden.load(TASK)) == 1


@pytest.mark.parametrize(
    ("label", "problem"),
    [
        ({**LABEL, "colour": "red"}, "has no field ['colour']"),
        ({**LABEL, "confidence": 0.9}, "confidence is the model's estimate"),
        ({"category": "spaceship"}, "category"),
        ({"dominant_colors": []}, "dominant_colors"),
        ({}, "at least one field"),
    ],
)
def test_a_label_must_fit_the_task(store, golden, label, problem):
    with pytest.raises(GoldenSetError, match=re.escape(problem)):
        golden.add(TASK, "mug.png", _png(), label, CONSENTED, added_by="ana")
    assert not store.exists(manifest_key(TASK)) and not list(store.walk_files("media"))


# ---- from review ------------------------------------------------------------------------------
def reviewed_day(store: ObjectStore) -> str:
    """One accepted product photo of DAY in review (low confidence) with the model's answer."""
    key = f"landing/{DAY}/{TASK}/shop/mug.png"
    store.write_bytes(key, _png())
    store.write_bytes(key + ".meta.json", json.dumps({"consent": True, "context": "red ceramic mug"}).encode())
    [raw] = scan_landing(store, DAY)
    media = validate_and_store(store, raw, DAY, DEFAULT_POLICY, TaskCatalog()).accepted
    write_partition(store, "validated_media", DAY, frame_of("validated_media", [media]))
    candidate = {**LABEL, "category": "toy", "description": "A red mug.", "confidence": 0.2}
    row = ReviewQueueRow(
        media_id=media.media_id,
        task=TASK,
        sha256=media.sha256,
        stage="validation",
        reason_code="low_confidence",
        reason_detail="confidence 0.20 < 0.50",
        task_version="1.1.0",
        candidate_json=json.dumps(candidate),
        review_status="pending",
        queued_at=datetime.now(UTC),
    )
    write_partition(store, "review_queue", DAY, frame_of("review_queue", [row]))
    return media.media_id


def test_an_edited_review_record_becomes_a_golden_item(store, audit, golden):
    media_id = reviewed_day(store)
    with pytest.raises(GoldenSetError, match="no approved or edited record"):
        golden.add_from_review(media_id, added_by="ana")
    reviewer = Reviewer(store, audit, TaskCatalog(), reviewer="ana")
    decision = reviewer.edit(find_item(store, media_id), {"category": "kitchenware", "confidence": 0.95})

    added = golden.add_from_review(media_id[:8], added_by="ben")
    item = added.item
    assert added.added and item.source == "review" and item.added_by == "ben"
    assert (item.decision_id, item.review_media_id, item.review_day) == (decision.decision_id, media_id, DAY)
    # the published record without the model's confidence is the label
    assert item.expected == {**LABEL, "description": "A red mug."}
    assert item.context == "red ceramic mug" and item.consent is True and store.exists(item.media_key)
    # audited in the day's chain, after the decision it comes from
    events = [e["event"] for e in audit.read(DAY) if e.get("event") in ("reviewed", "golden_added")]
    assert events == ["reviewed", "golden_added"]
    [event] = _events(audit, DAY, "golden_added")
    assert event["decision_id"] == decision.decision_id and event["media_id"] == media_id
    assert audit.verify(DAY).ok
    assert not golden.add_from_review(media_id, added_by="ben").added  # once per content


def test_a_rejected_item_is_not_golden(store, audit, golden):
    media_id = reviewed_day(store)
    Reviewer(store, audit, TaskCatalog(), reviewer="ana").reject(find_item(store, media_id), note="blurry")
    with pytest.raises(GoldenSetError, match="latest decision: reject"):
        golden.add_from_review(media_id, added_by="ana")
    with pytest.raises(GoldenSetError, match="no review item"):
        golden.add_from_review("ffffffff", added_by="ana")
    assert golden.load(TASK) == []


def test_the_demo_golden_sets_are_seeded_once(store, golden):
    first = seed_golden_sets(golden, count=2)
    assert set(first) == {TASK, "document_extraction", "video_summary", "audio_summary"}
    assert all(a.added for additions in first.values() for a in additions)
    expected = {task: [s.expected for s in golden_samples(task, 2)] for task in first}
    assert {task: [i.expected for i in golden.load(task)] for task in first} == expected
    # what intake probed travels with the item: budgets and plans treat it as the upload it was
    items = {task: golden.load(task) for task in first}
    assert all(i.probe["duration_s"] > 0 for t in ("audio_summary", "video_summary") for i in items[t])
    assert all(i.probe["pages"] >= 1 for i in items["document_extraction"])
    assert all(i.probe["width"] > 0 for i in items[TASK])
    again = seed_golden_sets(golden, count=2)
    assert not any(a.added for additions in again.values() for a in additions)
