import json
import multiprocessing
import time
from pathlib import Path

import pytest

from gemini_assets.core.audit.log import LOG, AuditLog
from gemini_assets.core.audit.merkle import merkle_root
from gemini_assets.core.audit.signing import load_or_create_key, public_key_hex
from gemini_assets.core.config import load_settings

DAY = "2026-11-16"


def audit_log(store) -> AuditLog:
    """The log as configured now (key and checkpoint root come from the environment)."""
    return AuditLog.from_settings(store, load_settings())


def _segments(store):
    return [obj.key for obj in store.walk_files(f"{LOG}/{DAY}")]


@pytest.fixture
def log(store):
    audit = audit_log(store)
    audit.append(DAY, [{"event": "received", "media_id": f"m{i}"} for i in range(3)], run_id="r1")
    audit.append(DAY, [{"event": "validated", "media_id": f"m{i}"} for i in range(3)], run_id="r1")
    return audit


def test_clean_log_verifies(log):
    result = log.verify(DAY)
    assert result.ok and result.events == 6 and result.checkpoints == 2


def test_rfc6962_shape():
    import hashlib

    a, b, c = b"a", b"b", b"c"
    leaf = lambda x: hashlib.sha256(b"\0" + x).digest()  # noqa: E731
    node = lambda left, right: hashlib.sha256(b"\1" + left + right).digest()  # noqa: E731
    assert merkle_root([a, b, c]) == node(node(leaf(a), leaf(b)), leaf(c))


def test_edited_event_is_caught(store, log):
    key = _segments(store)[0]
    lines = store.read_bytes(key).splitlines()
    record = json.loads(lines[1])
    record["media_id"] = "someone-else"
    lines[1] = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    store.write_bytes(key, b"\n".join(lines) + b"\n")
    assert "record 1: content edited" in " ".join(log.verify(DAY).problems)


def test_removed_event_is_caught(store, log):
    key = _segments(store)[0]
    lines = store.read_bytes(key).splitlines()
    store.write_bytes(key, b"\n".join(lines[:1] + lines[2:]) + b"\n")
    assert "record 1: seq 2" in " ".join(log.verify(DAY).problems)


def test_truncated_tail_is_caught_by_the_checkpoint(store, log):
    last = _segments(store)[-1]
    store.fs.rm(store.path(last))
    problems = " ".join(log.verify(DAY).problems)
    assert "log truncated: checkpoint" in problems and "covers 6 events, log has 3" in problems


def test_rewritten_log_with_a_forged_key_is_caught(store, log, tmp_path, monkeypatch):
    for key in _segments(store):
        store.fs.rm(store.path(key))
    monkeypatch.setenv("GEMINI_ASSETS_AUDIT_KEY", str(tmp_path / "attacker.pem"))
    audit_log(store).append(DAY, [{"event": "received", "media_id": f"forged{i}"} for i in range(6)])
    monkeypatch.setenv("GEMINI_ASSETS_AUDIT_KEY", str(tmp_path / "keys" / "audit_ed25519.pem"))
    problems = " ".join(log.verify(DAY).problems)
    assert "untrusted key" in problems and "log rewritten" in problems


def test_checkpoints_can_live_under_another_root(store, tmp_path, monkeypatch):
    monkeypatch.setenv("GEMINI_ASSETS_AUDIT_CHECKPOINTS", str(tmp_path / "vault"))
    audit_log(store).append(DAY, [{"event": "received"}])
    assert list((tmp_path / "vault" / DAY).iterdir()) and not store.exists("audit_checkpoints")
    assert audit_log(store).verify(DAY).ok


def _create_key_in_child(path: str, start: float) -> str:
    while time.time() < start:  # all children race for the first creation at the same instant
        time.sleep(0.001)
    return public_key_hex(load_or_create_key(Path(path)))


def test_processes_starting_at_once_share_one_signing_key(tmp_path):
    """Guards: parallel partitions failing with FileExistsError (or reading half a key file)
    while several processes create the first key at once."""
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        for race in range(5):
            path = tmp_path / f"keys{race}" / "audit_ed25519.pem"
            start = time.time() + 0.3
            keys = pool.starmap(_create_key_in_child, [(str(path), start)] * 8)
            assert len(set(keys)) == 1 and keys[0] == public_key_hex(load_or_create_key(path))
            assert oct(path.stat().st_mode & 0o777) == "0o600"
            assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
