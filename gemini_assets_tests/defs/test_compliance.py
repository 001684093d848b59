"""Compliance end to end: what reaches the emulator is stripped, residency holds, the audit trail verifies."""

import hashlib
import io
import json

import dagster as dg
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gemini_assets.cli import main
from gemini_assets.core.audit.log import LOG, AuditLog
from gemini_assets.core.config import load_settings
from gemini_assets.core.stages.intake import media_id_for
from gemini_assets.core.storage.tables import read_partition
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import GeminiResource, default_resources
from gemini_assets_tests.core.privacy.test_sanitize import LOCATION_TAGS
from gemini_assets_tests.landing import land
from gemini_devkit.emulator.server import start_emulator
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.samples.media import make_video

# Whole-day materializations through Dagster and the emulator: slow.
pytestmark = pytest.mark.slow

DAY = "2026-11-15"
GPS_TEXT = "Secret Street 1"


def gps_jpeg(seed: int = 3) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 31.0, 12.5), 0x1B: GPS_TEXT})
    buffer = io.BytesIO()
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(
        buffer, format="JPEG", exif=exif.tobytes()
    )
    return buffer.getvalue()


def run(resources=None, selection=None, raise_on_error=True):
    return dg.materialize(
        ASSETS,
        partition_key=DAY,
        resources={**default_resources(), **(resources or {})},
        selection=selection,
        raise_on_error=raise_on_error,
    )


def received(state_dir) -> set[str]:
    return {m["sha256"] for line in read_served_log(state_dir) for m in line.get("media") or []}


def test_only_stripped_copies_reach_the_model(store, tmp_path):
    photo = land(store, f"landing/{DAY}/product_recognition/u/photo.jpg", gps_jpeg())
    video = land(store, f"landing/{DAY}/video_summary/u/clip.mp4", make_video("mp4", seconds=2.0, tags=LOCATION_TAGS))
    assert run({"gemini": GeminiResource(delete_remote_files=False)}).success

    files = read_partition(store, "gemini_files", DAY).set_index("media_id")
    seen = received(tmp_path / "emulator")
    for key, secrets in ((photo, [GPS_TEXT.encode()]), (video, [b"loci", b"Jane's flat"])):
        plan = files.loc[media_id_for(key)]
        original, sent = store.read_bytes(key), store.read_bytes(plan["sanitized_key"])
        assert all(s in original for s in secrets) and not any(s in sent for s in secrets)
        assert hashlib.sha256(sent).hexdigest() in seen
        assert hashlib.sha256(original).hexdigest() not in seen
    # the uploaded video as the emulator stored it carries no location either
    stored = [p.read_bytes() for p in (tmp_path / "emulator" / "files").glob("*.bin")]
    assert stored and not any(b"loci" in blob or b"Jane" in blob for blob in stored)
    # the original stays untouched in media/
    assert all(
        store.sha256(row.storage_key) == row.sha256
        for row in read_partition(store, "validated_media", DAY).itertuples()
    )


def test_restricted_items_never_leave_without_an_in_region_route(store, tmp_path, monkeypatch):
    restricted = land(store, f"landing/{DAY}/product_recognition/u/eu.jpg", gps_jpeg(), residency="restricted")
    land(store, f"landing/{DAY}/product_recognition/u/world.jpg", gps_jpeg(seed=4))
    assert run().success
    review = read_partition(store, "review_queue", DAY).set_index("media_id")
    assert review.loc[media_id_for(restricted), "reason_code"] == "residency_blocked"
    assert len(read_served_log(tmp_path / "emulator")) == 1  # only the global item was sent

    in_region = start_emulator(tmp_path / "in_region")
    try:
        monkeypatch.setenv("GEMINI_ASSETS_IN_REGION_BASE_URL", in_region.url)
        monkeypatch.setenv("GEMINI_ASSETS_LIMITER", f"sqlite://{tmp_path / 'limiter'}")
        assert run().success
    finally:
        in_region.stop()
    records = read_partition(store, "validated_records", DAY).set_index("media_id")
    assert media_id_for(restricted) in records.index
    assert len(read_served_log(tmp_path / "in_region")) == 1
    assert len(read_served_log(tmp_path / "emulator")) == 1  # the global endpoint saw nothing new
    assert (
        read_partition(store, "gemini_files", DAY).set_index("media_id").loc[media_id_for(restricted), "endpoint"]
        == "in_region"
    )


def test_audit_trail_covers_every_step_and_catches_tampering(store, tmp_path):
    land(store, f"landing/{DAY}/product_recognition/u/photo.jpg", gps_jpeg())
    land(store, f"landing/{DAY}/video_summary/u/clip.mp4", make_video("mp4", seconds=2.0, tags=LOCATION_TAGS))
    store.write_bytes(f"landing/{DAY}/product_recognition/u/nosidecar.jpg", gps_jpeg())
    assert run().success
    events = {record["event"] for record in AuditLog.from_settings(store, load_settings()).read(DAY)}
    assert {
        "received",
        "validated",
        "stored",
        "quarantined",
        "sanitized",
        "uploaded",
        "delivery_decided",
        "model_called",
        "remote_files_deleted",
        "output_validated",
    } <= events
    assert CliRunner().invoke(main, ["audit", "verify", "--date", DAY]).exit_code == 0

    segment = next(store.walk_files(f"{LOG}/{DAY}")).key
    lines = store.read_bytes(segment).splitlines()
    first = json.loads(lines[0])
    first["consent"] = first.get("consent") is not True
    store.write_bytes(segment, b"\n".join([json.dumps(first).encode(), *lines[1:]]) + b"\n")
    result = CliRunner().invoke(main, ["audit", "verify", "--date", DAY])
    assert result.exit_code == 1 and "record 0: content edited" in result.output

    rerun = run(selection=["validated_records", "review_queue"], raise_on_error=False)
    assert not rerun.success
    assert any(e.check_name == "audit_trail_verified" and not e.passed for e in rerun.get_asset_check_evaluations())
