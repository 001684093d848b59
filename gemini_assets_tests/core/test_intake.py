import json

import pytest

from gemini_assets.core.contracts.enums import SidecarStatus
from gemini_assets.core.media.policy import DEFAULT_POLICY
from gemini_assets.core.stages.intake import scan_landing, validate_and_store
from gemini_assets.core.stages.sidecars import Sidecar, json_nesting, read_sidecar
from gemini_assets.core.storage.objectstore import UnsafeKeyError, safe_key
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_assets_tests.landing import land
from gemini_devkit.samples.day import seed_day

DAY = "2026-11-20"


def test_seeded_day_splits_into_accepted_and_quarantined(store):
    summary = seed_day(store, DAY, 30)
    rows = scan_landing(store, DAY)
    assert len(rows) == 30 and summary.invalid >= 2
    results = [validate_and_store(store, row, DAY, DEFAULT_POLICY, TaskCatalog()) for row in rows]
    accepted = [r.accepted for r in results if r.accepted]
    rejected = [r.quarantined for r in results if r.quarantined]
    assert len(accepted) == summary.valid and len(rejected) == summary.invalid
    for row in accepted:
        assert store.exists(row.storage_key) and store.sha256(row.storage_key) == row.sha256
    for row in rejected:
        assert store.exists(f"{row.quarantine_key}/original")
        assert store.read_json(f"{row.quarantine_key}/reason.json")["reason_code"] == row.reason_code
    # landing/ is never modified
    assert len(list(store.walk_files(f"landing/{DAY}"))) >= 30


def test_identical_content_is_stored_once(store):
    land(store, f"landing/{DAY}/product_recognition/a/x.png", _png())
    land(store, f"landing/{DAY}/product_recognition/b/y.png", _png())
    rows = scan_landing(store, DAY)
    keys = {validate_and_store(store, r, DAY, DEFAULT_POLICY, TaskCatalog()).accepted.storage_key for r in rows}
    assert len(keys) == 1 and len(list(store.walk_files("media"))) == 1


def test_unknown_task_and_bad_sidecar_are_quarantined(store):
    store.write_bytes(f"landing/{DAY}/no_such_task/x.png", _png())
    store.write_bytes(f"landing/{DAY}/product_recognition/y.png", _png())
    store.write_bytes(f"landing/{DAY}/product_recognition/y.png.meta.json", b'{"consent": "yes"}')
    reasons = {
        r.file_name: validate_and_store(store, r, DAY, DEFAULT_POLICY, TaskCatalog()).quarantined.reason_code
        for r in scan_landing(store, DAY)
    }
    assert reasons == {"x.png": "unknown_task", "y.png": "invalid_sidecar"}


@pytest.mark.parametrize("bad", ["../etc/passwd", "/abs", "a/../../b", "", "a\x00b"])
def test_safe_key_refuses_escapes(bad):
    with pytest.raises(UnsafeKeyError):
        safe_key(bad)


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_uploads_without_consent_are_quarantined_after_their_technical_check(store):
    land(store, f"landing/{DAY}/product_recognition/given.png", _png())
    land(store, f"landing/{DAY}/product_recognition/refused.png", _png(), consent=False)
    store.write_bytes(f"landing/{DAY}/product_recognition/no_sidecar.png", _png())
    store.write_bytes(f"landing/{DAY}/product_recognition/broken_no_sidecar.png", b"<html>")
    results = {
        r.file_name: validate_and_store(store, r, DAY, DEFAULT_POLICY, TaskCatalog()) for r in scan_landing(store, DAY)
    }
    assert results["given.png"].accepted is not None
    assert results["refused.png"].quarantined.reason_code == "no_consent"
    assert "consent is False" in results["refused.png"].quarantined.reason_detail
    assert results["no_sidecar.png"].quarantined.reason_detail.endswith("(no sidecar)")
    assert results["broken_no_sidecar.png"].quarantined.reason_code == "unsupported_type"
    assert len(list(store.walk_files("media"))) == 1  # only the consented upload was stored


def test_media_named_like_a_sidecar_without_its_file_is_still_an_upload(store):
    """Guards: every key ending in .meta.json was skipped as a sidecar, so a media file named like
    one (with no file of the name before it) appeared in no table: a hole in conservation."""
    land(store, f"landing/{DAY}/product_recognition/a.png", _png())  # with a.png.meta.json, a sidecar
    store.write_bytes(f"landing/{DAY}/product_recognition/photo.png.meta.json", _png())  # no photo.png beside it
    store.write_bytes(f"landing/{DAY}/product_recognition/notes.meta.json", b'{"consent": true}')
    rows = scan_landing(store, DAY)
    assert sorted(r.file_name for r in rows) == ["a.png", "notes.meta.json", "photo.png.meta.json"]
    verdicts = {r.file_name: validate_and_store(store, r, DAY, DEFAULT_POLICY, TaskCatalog()) for r in rows}
    assert verdicts["a.png"].accepted is not None
    assert {name: v.quarantined.reason_code for name, v in verdicts.items() if v.quarantined} == {
        "notes.meta.json": "unsupported_extension",
        "photo.png.meta.json": "unsupported_extension",
    }


@pytest.mark.parametrize(
    "sidecar, problem",
    [
        (b"[" * 5 + b"]" * 5, "sidecar nests deeper than 4 levels"),
        (b'{"context": {"a": {"b": {"c": {"d": 1}}}}}', "sidecar nests deeper than 4 levels"),
        (b'{"consent": true, "context": "' + b"y" * 64 * 1024 + b'"}', "sidecar is larger than 64 KiB"),
    ],
)
def test_hostile_sidecars_are_refused_before_parsing(store, sidecar, problem):
    """Guards: json.loads recursing once per level (RecursionError) and reading a huge sidecar whole."""
    key = f"landing/{DAY}/product_recognition/x.png"
    store.write_bytes(key + ".meta.json", sidecar)
    assert read_sidecar(store, key) == Sidecar(SidecarStatus.INVALID, problem=problem)


def test_brackets_inside_strings_do_not_count_as_nesting(store):
    """Guards against refusing a flat sidecar whose free-text context holds brackets or quotes."""
    context = 'see [[emulate:low_confidence]] and {"quoted \\" [[[[[[ text"} ' + "[" * 50
    key = f"landing/{DAY}/product_recognition/x.png"
    store.write_bytes(key + ".meta.json", json.dumps({"consent": True, "context": context}).encode())
    assert json_nesting(json.dumps({"context": context}).encode()) == 1
    sidecar = read_sidecar(store, key)
    assert sidecar.status == SidecarStatus.PRESENT and sidecar.fields["context"] == context
