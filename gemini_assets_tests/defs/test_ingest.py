"""A partition full of hostile uploads still materializes, on disk and on S3, and loses nothing."""

import dagster as dg

from gemini_assets.core.storage.tables import read_partition
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.ingest import INTAKE_CONSERVATION
from gemini_assets.defs.resources import default_resources
from gemini_assets_tests.core.media.hostile import hostile_corpus
from gemini_assets_tests.landing import land

DAY = "2026-11-19"


def test_hostile_partition_succeeds_and_conserves_every_upload(backend_store):
    corpus = hostile_corpus()
    for case in corpus:
        land(backend_store, f"landing/{DAY}/{case.task}/uploader/{case.name}", case.data)

    result = dg.materialize(
        ASSETS,
        selection=["raw_media", "validated_media", "quarantined_media"],
        partition_key=DAY,
        resources=default_resources(),
    )

    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks[INTAKE_CONSERVATION].passed and all(e.passed for e in checks.values())
    raw = read_partition(backend_store, "raw_media", DAY)
    valid = read_partition(backend_store, "validated_media", DAY)
    quarantined = read_partition(backend_store, "quarantined_media", DAY)
    assert len(raw) == len(corpus)
    assert set(valid["media_id"]).isdisjoint(quarantined["media_id"])
    assert set(valid["media_id"]) | set(quarantined["media_id"]) == set(raw["media_id"])
    expected = {case.name: case.expected for case in corpus}
    got = dict(zip(quarantined["file_name"], quarantined["reason_code"], strict=False))
    assert got == {name: code for name, code in expected.items() if code}
    assert set(valid["media_kind"]) == {"image", "audio", "video", "document"}
    for row in valid.itertuples():
        assert backend_store.sha256(row.storage_key) == row.sha256
    for row in quarantined.itertuples():
        assert backend_store.exists(f"{row.quarantine_key}/original")
        assert backend_store.read_json(f"{row.quarantine_key}/reason.json")["reason_code"] == row.reason_code
