"""Inline vs Files API per item, processing states, handle reuse, expiry, deletion: real SDK + emulator."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from gemini_assets.core.config import load_settings
from gemini_assets.core.contracts.tables import ValidatedMediaRow
from gemini_assets.core.gateway.remote_files import HandleRegistry, recorded_uploads, release_remote_files
from gemini_assets.core.gateway.routing import load_routing
from gemini_assets.core.output.cache import ResponseArchive
from gemini_assets.core.stages.context import DayContext
from gemini_assets.core.stages.deliver import plan_day, plan_delivery
from gemini_assets.core.stages.models import CallOptions, ModelAccess
from gemini_assets.core.stages.outputs import produce_output
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets_tests.core.gateway.conftest import FAST, make_gateway
from gemini_devkit.emulator import start_emulator
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.samples.media import make_audio, make_png, make_video
from gemini_devkit.samples.realistic import mpo_jpeg

DAY = "2026-11-20"


def stored_item(store, data: bytes, kind="image", mime="image/png", media_id="m1", task="product_recognition"):
    sha = hashlib.sha256(data).hexdigest()
    key = f"media/{sha[:2]}/{sha}.bin"
    store.write_bytes(key, data)
    extension = mime.split("/")[1]
    return ValidatedMediaRow(
        media_id=media_id,
        task=task,
        sha256=sha,
        size_bytes=len(data),
        storage_key=key,
        mime_type=mime,
        media_kind=kind,
        extension=extension,
    )


INLINE_MAX = CallOptions().inline_max_bytes


def access(gateway, inline_max=INLINE_MAX) -> ModelAccess:
    return ModelAccess(gateway, load_routing(), CallOptions(inline_max_bytes=inline_max), scope="test")


def plan(store, gateway, item, handles=None, inline_max=INLINE_MAX):
    ctx = DayContext(store, DAY, load_settings())
    return plan_delivery(ctx, item, access(gateway, inline_max), ResponseArchive(store), handles)


def test_small_images_inline_large_ones_and_audio_through_files_api(store, emulator):
    gateway = make_gateway(emulator)
    image = stored_item(store, make_png())
    assert plan(store, gateway, image).delivery == "inline"
    big = plan(store, gateway, image, inline_max=100)
    assert big.delivery == "files_api" and big.remote_state == "ACTIVE" and big.upload_bytes == image.size_bytes
    audio = stored_item(store, make_audio("mp3"), kind="audio", mime="audio/mp3", media_id="a1", task="audio_summary")
    decided = plan(store, gateway, audio)
    assert decided.delivery == "files_api" and "audio always goes through the Files API" in decided.decision_reason
    assert decided.route == "flash-default" and decided.mode == "online" and decided.backend == "gemini"


def test_processing_is_polled_until_active(store, emulator):
    emulator.set_knobs(processing_s=0.5)
    decided = plan(store, make_gateway(emulator), stored_item(store, make_png()), inline_max=100)
    assert decided.remote_state == "ACTIVE" and decided.error is None


def test_failed_processing_becomes_upload_failed(store, emulator):
    emulator.set_knobs(processing_s=0.2, processing_outcome="FAILED")
    gateway = make_gateway(emulator)
    item = stored_item(store, make_png())
    decided = plan(store, gateway, item, inline_max=100)
    assert decided.remote_state == "FAILED" and "FAILED" in decided.error
    row = produce_output(DayContext(store, DAY, load_settings()), gateway, ResponseArchive(store), item, decided)
    assert row.status == "upload_failed" and row.attempts == 0


def test_same_content_reuses_a_live_handle_then_deletion_forgets_it(store, emulator):
    gateway = make_gateway(emulator)
    handles = HandleRegistry(store, gateway, "test")
    data = make_png()
    first = plan(store, gateway, stored_item(store, data, media_id="m1"), handles, inline_max=100)
    second = plan(store, gateway, stored_item(store, data, media_id="m2"), handles, inline_max=100)
    assert second.remote_name == first.remote_name and "reused live handle" in second.decision_reason
    assert second.upload_bytes == 0
    assert emulator.stats().get("requests_upload") == 2  # one upload: start + one chunk
    assert release_remote_files(gateway, handles, [first, second]) == 1
    assert gateway.get_file(first.remote_name) is None
    third = plan(store, gateway, stored_item(store, data, media_id="m3"), handles, inline_max=100)
    assert third.remote_name != first.remote_name


def test_expired_handle_is_uploaded_again_once(store, emulator):
    gateway = make_gateway(emulator, replace(FAST, max_attempts=2))
    item = stored_item(store, make_png())
    decided = plan(store, gateway, item, inline_max=100)
    gateway.delete_file(decided.remote_name)  # gone before the call, like an expired handle
    row = produce_output(DayContext(store, DAY, load_settings()), gateway, ResponseArchive(store), item, decided)
    assert row.status == "ok" and row.attempts == 2
    statuses = [r["status"] for r in read_served_log(emulator.state_dir) if r["method"] == "generateContent"]
    assert statuses == [403, 200]


def test_a_multi_picture_jpeg_is_sent_as_its_primary_image_and_the_plan_says_so(store, emulator):
    gateway = make_gateway(emulator)
    original = mpo_jpeg(images=3)
    item = stored_item(store, original, mime="image/jpeg", media_id="mpo")

    decided = plan(store, gateway, item)

    assert decided.delivery == "inline" and decided.sanitize_notes
    assert "dropped 2 appended images" in decided.sanitize_notes
    sent = store.read_bytes(decided.sanitized_key)
    assert sent.count(b"\xff\xd8") == 1 < original.count(b"\xff\xd8\xff")  # one SOI: the primary only
    assert sent.endswith(b"\xff\xd9") and len(sent) < len(original) // 2
    again = plan(store, gateway, item.model_copy(update={"media_id": "mpo-again"}))  # the copy exists: notes kept
    assert again.sanitize_notes == decided.sanitize_notes


def comparable(plan) -> dict:
    """A plan without what two runs cannot share: the provider's file ids, upload and expiry times."""
    row = plan.model_dump(exclude={"remote_name", "remote_uri", "uploaded_at", "expires_at"})
    if plan.remote_name:
        row["decision_reason"] = row["decision_reason"].replace(plan.remote_name, "<handle>")
    return row


def long_media_day(store) -> list[ValidatedMediaRow]:
    """Six distinct audio and video files (Files API, one chunk each), one of them a second time
    under another id, and a small image that goes inline."""
    audio = [
        stored_item(store, make_audio("mp3", freq=300 + 100 * n), "audio", "audio/mp3", f"a{n}", "audio_summary")
        for n in range(4)
    ]
    video = [
        stored_item(store, make_video("mp4", colour=(60 * n, 30, 40)), "video", "video/mp4", f"v{n}", "video_summary")
        for n in range(2)
    ]
    again = audio[0].model_copy(update={"media_id": "a0-again"})
    return [audio[0], audio[1], stored_item(store, make_png()), audio[2], video[0], again, audio[3], video[1]]


def test_a_day_of_long_media_uploads_concurrently_once_per_content_in_plan_order(store, emulator, tmp_path):
    items = long_media_day(store)
    # Every upload session stays open for at least this long on the server: enough that four
    # workers started together overlap, whatever else the machine is doing.
    emulator.set_knobs(upload_chunk_delay_s=1.0)
    lines: list[str] = []
    ctx = DayContext(store, DAY, load_settings(), log=lines.append)
    gateway = make_gateway(emulator)
    concurrent = ModelAccess(gateway, load_routing(), CallOptions(concurrency=4), scope="test")
    plans = plan_day(ctx, items, concurrent).plans

    stats = emulator.stats()
    assert 2 <= stats["upload_sessions_open_max"] <= 4  # overlapping, never more than the concurrency
    assert stats["upload_sessions_open"] == 0
    assert stats["requests_upload"] == 2 * 6  # a start and one chunk per distinct content
    assert [p.media_id for p in plans] == [i.media_id for i in items]
    assert [p.delivery for p in plans] == ["files_api", "files_api", "inline", *["files_api"] * 5]
    first, again = plans[0], plans[5]
    assert again.remote_name == first.remote_name and "reused live handle" in again.decision_reason
    assert again.upload_bytes == 0 and again.uploaded_at is None
    uploaded = {p.remote_name for p in plans if p.uploaded_at}
    assert len(uploaded) == 6 and all(p.error is None for p in plans)
    assert all(p.remote_state == "ACTIVE" for p in plans if p.delivery == "files_api")
    journaled = recorded_uploads(store, DAY, {"audio_summary", "video_summary"})
    assert {r["name"] for r in journaled} == uploaded
    assert "delivery plans 8/8" in lines

    # The same day planned one item after the other, on its own storage and provider.
    other_store = ObjectStore(str(tmp_path / "sequential-storage"))
    sequential_items = long_media_day(other_store)
    other = start_emulator(tmp_path / "sequential-emulator", knobs={})
    try:
        one_at_a_time = ModelAccess(make_gateway(other), load_routing(), CallOptions(concurrency=1), scope="test")
        expected = plan_day(DayContext(other_store, DAY, load_settings()), sequential_items, one_at_a_time).plans
        assert other.stats()["upload_sessions_open_max"] == 1
    finally:
        other.stop()
    assert [comparable(p) for p in plans] == [comparable(p) for p in expected]
