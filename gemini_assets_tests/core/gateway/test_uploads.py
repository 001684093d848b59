"""Resumable uploads through the real gateway against the emulator's flaky-network knobs."""

from __future__ import annotations

import hashlib
import io
import itertools
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from gemini_assets.core.contracts.calls import UploadProgress
from gemini_assets.core.contracts.errors import UploadFailed
from gemini_assets.core.gateway import stopping
from gemini_assets.core.gateway.gemini.client import GeminiGateway
from gemini_assets.core.gateway.gemini.resumable import CHUNK_BYTES, ResumableUploader, UploadSettings
from gemini_assets.core.gateway.ratelimit import QuotaLimiter
from gemini_assets.core.gateway.routing import Limits
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets_tests.core.gateway.conftest import FAST, MODEL, text_request

MIB = 1024 * 1024
QUICK = UploadSettings(initial_backoff_s=0.01, max_backoff_s=0.05, progress_every_s=0.2)


def land(store: ObjectStore, key: str, size: int) -> str:
    """A file of ``size`` bytes written piece by piece (never whole in memory); its sha256."""
    digest = hashlib.sha256()
    with store.open(key, "wb") as handle:
        for start in range(0, size, MIB):
            piece = hashlib.sha256(str(start).encode()).digest() * (MIB // 32)
            piece = piece[: min(MIB, size - start)]
            handle.write(piece)
            digest.update(piece)
    return digest.hexdigest()


def stored_sha256(emulator, remote_name: str) -> str:
    path = Path(emulator.state_dir) / "files" / f"{remote_name.removeprefix('files/')}.bin"
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while piece := handle.read(MIB):
            digest.update(piece)
    return digest.hexdigest()


def gateway_for(emulator, settings: UploadSettings = QUICK) -> GeminiGateway:
    return GeminiGateway(api_key="test-key", base_url=emulator.url, retry=FAST, upload=settings)


def test_300_mib_with_three_cut_connections_completes_with_flat_memory(emulator, store):
    size = 300 * MIB
    sha = land(store, "sanitized/big.mp4", size)
    emulator.set_knobs(upload_drops=3, upload_drop_after_bytes=3 * MIB)
    gateway = gateway_for(emulator)
    tracemalloc.start()
    try:
        with store.open("sanitized/big.mp4") as stream:
            remote = gateway.upload(stream, "video/mp4", "big")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gateway.close()
    assert remote.active and remote.size_bytes == size
    assert stored_sha256(emulator, remote.name) == sha  # every byte arrived once, in order
    assert emulator.stats()["upload_drops"] == 3 and remote.resumes == 3 and remote.sessions == 1
    assert remote.bytes_sent <= 1.1 * size  # resumed at the server's offset, not from the start
    # Flat: a few chunks in flight at most (the emulator, in this process too, reads 1 MiB blocks).
    assert peak < 4 * CHUNK_BYTES, f"peak {peak / MIB:.1f} MiB for a {size / MIB:.0f} MiB upload"


def test_a_lost_session_is_replaced_by_a_new_one(emulator, store):
    sha = land(store, "sanitized/mid.mp4", 20 * MIB)
    emulator.set_knobs(upload_lose_sessions=1)
    gateway = gateway_for(emulator)
    try:
        with store.open("sanitized/mid.mp4") as stream:
            remote = gateway.upload(stream, "video/mp4", "mid")
    finally:
        gateway.close()
    assert remote.sessions == 2 and remote.active
    assert stored_sha256(emulator, remote.name) == sha
    assert emulator.stats()["upload_sessions_lost"] == 1
    # the lost session's two chunks (one kept, then gone; one refused) and the whole file again
    assert remote.bytes_sent == 20 * MIB + 2 * CHUNK_BYTES


def test_attempts_are_bounded_and_the_error_lists_them(emulator, store):
    land(store, "sanitized/doomed.mp4", 12 * MIB)
    emulator.set_knobs(upload_drops=1000, upload_drop_after_bytes=MIB)
    settings = UploadSettings(max_failures=4, initial_backoff_s=0.01, max_backoff_s=0.02)
    gateway = gateway_for(emulator, settings)
    try:
        with store.open("sanitized/doomed.mp4") as stream, pytest.raises(UploadFailed) as failed:
            gateway.upload(stream, "video/mp4", "doomed")
    finally:
        gateway.close()
    error = failed.value
    assert len(error.failures) == 4 and error.sessions == 1 and error.size == 12 * MIB
    assert all(why.startswith("chunk at") for why in error.failures)
    # each cut kept 1 MiB and the next chunk resumed there; after the 4th the budget is spent
    assert error.committed == 3 * MIB
    assert emulator.stats()["upload_drops"] == 4


def test_a_stop_request_ends_an_upload_waiting_to_resume(emulator, store):
    """A terminated run's upload threads (gemini_files uploads concurrently) end at once, not
    after their back-offs: the run's process can exit."""
    land(store, "sanitized/stopped.mp4", 12 * MIB)
    emulator.set_knobs(upload_drops=1000, upload_drop_after_bytes=MIB)
    gateway = gateway_for(emulator, UploadSettings(initial_backoff_s=30, max_backoff_s=30))
    outcome: list[BaseException] = []

    def upload() -> None:
        try:
            with store.open("sanitized/stopped.mp4") as stream:
                gateway.upload(stream, "video/mp4", "stopped")
        except UploadFailed as exc:
            outcome.append(exc)

    uploader = threading.Thread(target=upload)
    uploader.start()
    deadline = time.monotonic() + 10
    while not emulator.stats().get("upload_drops") and time.monotonic() < deadline:
        time.sleep(0.05)  # the first chunk was cut: a back-off of up to 30 s has begun
    stopping.request_stop()
    uploader.join(timeout=10)
    gateway.close()
    assert not uploader.is_alive()
    (failed,) = outcome
    assert isinstance(failed, UploadFailed) and failed.failures[-1] == "the run is stopping"


def test_lost_sessions_are_bounded_too(emulator, store):
    land(store, "sanitized/lost.mp4", 12 * MIB)
    emulator.set_knobs(upload_lose_sessions=10)
    gateway = gateway_for(emulator, UploadSettings(max_sessions=2, initial_backoff_s=0.01, max_backoff_s=0.02))
    try:
        with store.open("sanitized/lost.mp4") as stream, pytest.raises(UploadFailed, match="2 session"):
            gateway.upload(stream, "video/mp4", "lost")
    finally:
        gateway.close()
    assert emulator.stats()["upload_sessions_lost"] == 2


def test_a_large_slow_upload_reports_progress_now_and_then(emulator, store):
    land(store, "sanitized/slow.mp4", 72 * MIB)
    emulator.set_knobs(upload_chunk_delay_s=0.12)
    heard: list[tuple[float, UploadProgress]] = []
    gateway = gateway_for(emulator)
    try:
        with store.open("sanitized/slow.mp4") as stream:
            gateway.upload(stream, "video/mp4", "slow", progress=lambda p: heard.append((time.monotonic(), p)))
    finally:
        gateway.close()
    assert 2 <= len(heard) <= 6  # 9 chunks of ~0.12 s each, at most one line per 0.2 s
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(heard)]
    assert all(gap >= 0.2 for gap in gaps)
    committed = [p.committed for _, p in heard]
    assert committed == sorted(committed) and all(0 < c < 72 * MIB for c in committed)
    line = heard[-1][1].describe()
    assert "of 72.0 MiB" in line and "MiB/s" in line and "s left" in line


def test_a_small_upload_stays_quiet(emulator, store):
    land(store, "sanitized/small.mp4", 9 * MIB)
    emulator.set_knobs(upload_chunk_delay_s=0.3)
    heard: list[UploadProgress] = []
    gateway = gateway_for(emulator)
    try:
        with store.open("sanitized/small.mp4") as stream:
            gateway.upload(stream, "video/mp4", "small", progress=heard.append)
    finally:
        gateway.close()
    assert heard == []  # below progress_min_bytes (64 MiB)


def test_timeouts_scale_with_what_is_sent():
    uploader = ResumableUploader("http://127.0.0.1:9", "v1beta", "k", UploadSettings(min_rate_bytes_s=MIB))
    try:
        empty, chunk = uploader.timeout(0), uploader.timeout(CHUNK_BYTES)
        final = uploader.timeout(CHUNK_BYTES, read_bytes=1024 * MIB)
    finally:
        uploader.close()
    assert chunk.write == pytest.approx(empty.write + 8) and chunk.connect == empty.connect
    assert final.read == pytest.approx(empty.read + 1024)  # the finalize answer waits for the whole file


@pytest.mark.parametrize(
    ("base", "handed_out", "expected"),
    [
        (  # a gateway with a path prefix: the chunks go through it too
            "https://gw.example.com/gemini/",
            "https://generativelanguage.googleapis.com/upload/v1beta/files?upload_id=abc&upload_protocol=resumable",
            "https://gw.example.com/gemini/upload/v1beta/files?upload_id=abc&upload_protocol=resumable",
        ),
        (  # a URL that already carries the prefix is not prefixed twice
            "http://127.0.0.1:8080/gemini",
            "http://127.0.0.1:8080/gemini/upload/v1beta/files?upload_id=abc",
            "http://127.0.0.1:8080/gemini/upload/v1beta/files?upload_id=abc",
        ),
        (
            None,
            "https://upload.example.com/upload/v1beta/files?x=1",
            "https://upload.example.com/upload/v1beta/files?x=1",
        ),
    ],
)
def test_the_upload_url_is_moved_onto_the_configured_base(base, handed_out, expected):
    uploader = ResumableUploader(base, "v1beta", "k")
    try:
        assert uploader.on_base_url(handed_out) == expected
    finally:
        uploader.close()


def test_uploads_are_admitted_under_their_own_limit_never_a_models(emulator):
    """`limits: files-api:` bounds uploads through the same shared limiter; a model's generate
    quota is not spent by them."""
    limits = {"files-api": Limits(rpm=2), MODEL: Limits(rpm=1)}
    limiter = QuotaLimiter("memory", limits, minute_ms=1500, margin_ms=50)
    gateway = GeminiGateway(api_key="test-key", base_url=emulator.url, retry=FAST, limiter=limiter, upload=QUICK)
    started = time.monotonic()
    for index in range(3):
        gateway.upload(io.BytesIO(b"note %d" % index), "text/plain", display_name=f"note-{index}")
    assert time.monotonic() - started >= 1.2  # the third waited for the 1.5 s window of two uploads
    assert gateway.generate(text_request()).last.rpm_used == 1  # the model's own slot, untouched
    gateway.close()
