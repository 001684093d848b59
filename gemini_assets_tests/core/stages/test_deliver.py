"""Inline vs Files API per item, processing states, handle reuse, expiry, deletion: real SDK + emulator."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from gemini_assets.core.config import load_settings
from gemini_assets.core.contracts.tables import ValidatedMediaRow
from gemini_assets.core.gateway.remote_files import HandleRegistry, release_remote_files
from gemini_assets.core.gateway.routing import load_routing
from gemini_assets.core.output.cache import ResponseArchive
from gemini_assets.core.stages.context import DayContext
from gemini_assets.core.stages.deliver import plan_delivery
from gemini_assets.core.stages.models import CallOptions, ModelAccess
from gemini_assets.core.stages.outputs import produce_output
from gemini_assets_tests.core.gateway.conftest import FAST, make_gateway
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.samples.media import make_audio, make_png
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
