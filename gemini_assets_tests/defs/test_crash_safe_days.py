"""Crash-safe days (issue 13): hostile sidecars, files changed between steps, empty days.

The first two run `dagster asset materialize` in other processes, as a scheduler does: the
failures they guard against (a RecursionError, a failed copy) ended the whole step there.
"""

from __future__ import annotations

import logging

import dagster as dg
import pytest

from gemini_assets.core.stages.intake import media_id_for
from gemini_assets.core.storage.tables import read_partition
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.ingest import INTAKE_CONSERVATION
from gemini_assets.defs.resources import default_resources
from gemini_assets_tests.dagster_processes import materialize
from gemini_assets_tests.landing import land
from gemini_devkit.samples.media import make_png

pytestmark = pytest.mark.slow  # Dagster runs in other processes

DAY = "2026-11-23"
INTAKE = "raw_media,validated_media,quarantined_media"
TASK = f"landing/{DAY}/product_recognition"


def latest_run_checks() -> dict[str, bool]:
    """Check name → passed, for the newest run of the instance in $DAGSTER_HOME (the child's too)."""
    with dg.DagsterInstance.get() as instance:
        (record,) = instance.get_run_records(limit=1)
        evaluations = instance.get_records_for_run(
            record.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        results = [entry.event_log_entry.dagster_event.event_specific_data for entry in evaluations]
        return {result.check_name: result.passed for result in results}


def verdicts(store) -> dict[str, str]:
    """file name → "accepted" or its quarantine reason_code, for the day."""
    raw = read_partition(store, "raw_media", DAY)
    accepted = set(read_partition(store, "validated_media", DAY)["media_id"])
    quarantined = read_partition(store, "quarantined_media", DAY).set_index("media_id")["reason_code"]
    return {
        row.file_name: "accepted" if row.media_id in accepted else quarantined[row.media_id] for row in raw.itertuples()
    }


def details(store) -> dict[str, str]:
    frame = read_partition(store, "quarantined_media", DAY)
    return dict(zip(frame["file_name"], frame["reason_detail"], strict=True))


def test_hostile_sidecars_are_refused_by_size_and_depth_and_the_day_goes_on(store):
    """Guards: a 100,000-deep sidecar raised RecursionError in raw_media and failed the whole day;
    a huge sidecar was read whole into memory."""
    land(store, f"{TASK}/good.png", make_png((64, 48)))
    hostile = {
        "deep.png": b"[" * 100_000 + b"]" * 100_000,  # valid JSON, 100,000 levels (and 195 KiB)
        "nested.png": b"[" * 30_000 + b"]" * 30_000,  # under 64 KiB, still far past the recursion limit
        "big.png": b'{"consent": true, "context": "' + b"x" * 1024 * 1024 + b'"}',  # flat, 1 MiB
    }
    for shade, (name, sidecar) in enumerate(hostile.items(), start=1):
        store.write_bytes(f"{TASK}/{name}", make_png((64, 48), (50 * shade, 200, 20)))
        store.write_bytes(f"{TASK}/{name}.meta.json", sidecar)

    materialize(DAY, INTAKE)  # asserts the run succeeded

    assert verdicts(store) == {"good.png": "accepted", **dict.fromkeys(hostile, "invalid_sidecar")}
    assert details(store) == {
        "deep.png": "sidecar is larger than 64 KiB",
        "nested.png": "sidecar nests deeper than 4 levels",
        "big.png": "sidecar is larger than 64 KiB",
    }
    assert all(latest_run_checks().values())


def test_a_file_replaced_or_deleted_after_raw_media_is_quarantined_not_a_step_failure(store):
    """Guards: a file replaced after raw_media hashed it made validated_media fail (the checked
    copy raised) on every retry, and a deleted one failed the step the same way."""
    kept, swapped, deleted = (
        land(store, f"{TASK}/{name}.png", make_png((64, 48), (60 * shade, 90, 200)))
        for shade, name in enumerate(("kept", "swapped", "deleted"))
    )
    land(store, f"{TASK}/broken.png", b"<html>not an image</html>")
    materialize(DAY, "raw_media")

    replacement = make_png((64, 48), (250, 250, 0))
    store.write_bytes(swapped, replacement)
    store.fs.rm(store.path(deleted))
    materialize(DAY, "validated_media,quarantined_media")  # a second process; asserts it succeeded

    assert verdicts(store) == {
        "kept.png": "accepted",
        "swapped.png": "changed_during_ingest",
        "deleted.png": "changed_during_ingest",
        "broken.png": "unsupported_type",
    }
    raw = read_partition(store, "raw_media", DAY).set_index("file_name")
    found = store.sha256(swapped)
    said = details(store)
    assert raw.loc["swapped.png", "sha256"][:12] in said["swapped.png"] and found[:12] in said["swapped.png"]
    assert said["deleted.png"].startswith("gone")
    # The bytes found are what quarantine/ keeps; media/ holds only what was validated.
    assert store.read_bytes(f"quarantine/{DAY}/{media_id_for(swapped)}/original") == replacement
    assert [o.key.rsplit("/", 1)[1] for o in store.walk_files("media")] == [f"{raw.loc['kept.png', 'sha256']}.png"]
    assert list(store.walk_files("staging")) == []  # no private copy is left behind
    assert store.exists(kept)  # landing/ keeps every upload
    checks = latest_run_checks()
    assert checks[INTAKE_CONSERVATION] and all(checks.values())


def run_raw_media(instance: dg.DagsterInstance, **config: bool) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [a for a in ASSETS if dg.AssetKey("raw_media") in a.keys],
        partition_key=DAY,
        resources=default_resources(),
        instance=instance,
        run_config={"ops": {"raw_media": {"config": config}}} if config else None,
        raise_on_error=False,
    )


def test_a_day_without_a_landing_folder_warns_in_the_log_and_the_metadata(store):
    """Guards: a mistyped storage root gave a day of empty tables without a word."""
    with dg.instance_for_test() as instance:
        result = run_raw_media(instance)
        warnings = [e.user_message for e in instance.all_logs(result.run_id) if e.level == logging.WARNING]

    assert result.success
    assert any(f"landing/{DAY} does not exist" in w and "GEMINI_ASSETS_STORAGE" in w for w in warnings), warnings
    (materialization,) = result.asset_materializations_for_node("raw_media")
    assert materialization.metadata["landing_folder"].value == "missing"
    assert "does not exist" in materialization.metadata["warning"].value


def test_a_day_with_rows_is_not_replaced_by_an_empty_one_unless_allowed(store):
    """Guards: re-running a day after its landing folder was lost replaced raw_media with nothing."""
    land(store, f"{TASK}/one.png", make_png((64, 48)))
    with dg.instance_for_test() as instance:
        assert run_raw_media(instance).success
        store.delete_prefix(f"landing/{DAY}")

        refused = run_raw_media(instance)
        assert not refused.success
        (failure,) = refused.get_step_failure_events()
        message = failure.event_specific_data.error.to_string()
        assert "refusing to replace" in message and "allow_empty_replace" in message
        assert len(read_partition(store, "raw_media", DAY)) == 1  # the day is untouched

        assert run_raw_media(instance, allow_empty_replace=True).success
    assert len(read_partition(store, "raw_media", DAY)) == 0
