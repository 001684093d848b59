import json
import multiprocessing
import time
from pathlib import Path

import pytest

from gemini_assets.core.audit.log import LOG, AuditLog, canonical, record_hash
from gemini_assets.core.audit.merkle import merkle_root
from gemini_assets.core.audit.signing import load_or_create_key, public_key_hex
from gemini_assets.core.audit.verify import seal_day
from gemini_assets.core.config import load_settings
from gemini_assets.core.storage.objectstore import ObjectStore

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
    assert "log truncated: a checkpoint covers 6 events, the log has 3" in problems


def test_rewritten_log_with_a_forged_key_is_caught(store, log, tmp_path, monkeypatch):
    for key in _segments(store):
        store.fs.rm(store.path(key))
    monkeypatch.setenv("GEMINI_ASSETS_AUDIT_KEY", str(tmp_path / "attacker.pem"))
    AuditLog.forget_cached_heads()  # the attacker is another process
    audit_log(store).append(DAY, [{"event": "received", "media_id": f"forged{i}"} for i in range(7)])
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


def test_a_forged_event_with_its_later_checkpoints_deleted_is_caught(store):
    """Guards: rewrite event 40, recompute the chain, delete the checkpoints covering > 40 events:
    the surviving checkpoints still match, so only the uncovered end gives the forgery away."""
    audit = audit_log(store)
    for start in range(0, 60, 10):  # six steps of ten events, a checkpoint after each
        audit.append(DAY, [{"event": "model_called", "call_id": f"c{i}"} for i in range(start, start + 10)])
    records = audit.read(DAY)
    records[40]["call_id"] = "forged"
    prev = records[39]["hash"]
    for record in records[40:]:  # the attacker recomputes the chain from the forged event on
        record["prev"] = prev
        record["hash"] = record_hash(record)
        prev = record["hash"]
    for key in _segments(store):
        store.fs.rm(store.path(key))
    store.write_bytes(f"{LOG}/{DAY}/0000000000.jsonl", b"\n".join(canonical(r) for r in records) + b"\n")
    for obj in list(store.walk_files(f"audit_checkpoints/{DAY}")):
        if int(obj.key.rsplit("/", 1)[1].split(".")[0]) > 40:
            store.fs.rm(store.path(obj.key))

    result = audit.verify(DAY)

    assert not result.ok
    assert result.problems == ["the last 20 of 60 events are not covered by a signed checkpoint"]
    assert "seal" in " ".join(result.next_steps)


def test_an_unsigned_end_fails_until_a_step_signs_it(store, monkeypatch):
    """Guards: a run that died between checkpoints leaves events no signature covers."""
    monkeypatch.setenv("GEMINI_ASSETS_AUDIT_CHECKPOINT_EVERY", "5")
    audit = audit_log(store)
    for i in range(7):  # per-call journal appends: signed at 5, the last 2 not yet
        audit.append(DAY, [{"event": "model_called", "call_id": f"c{i}"}], sign=False)
    result = audit.verify(DAY)
    assert result.problems == ["the last 2 of 7 events are not covered by a signed checkpoint"]
    assert "re-run the day" in result.next_steps[0]
    audit.checkpoint(DAY)  # what the next step's end does
    assert audit.verify(DAY).ok


def _append_from_child(root: str, key_path: str, writer: str, count: int, barrier) -> None:
    audit = AuditLog(ObjectStore(root), Path(key_path), checkpoint_every=25)
    barrier.wait(60)  # both writers start together
    for index in range(count):
        audit.append(DAY, [{"event": "model_called", "call_id": f"{writer}-{index}"}], sign=index == count - 1)


def test_two_processes_appending_at_once_make_one_valid_chain(store, tmp_path):
    """Guards: AuditLog used to lock threads, not processes: two writers forked the chain and the
    day could never verify again."""
    key_path = str(tmp_path / "keys" / "audit_ed25519.pem")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    writers = [
        context.Process(target=_append_from_child, args=(store.root_path, key_path, name, 150, barrier))
        for name in ("a", "b")
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
        assert writer.exitcode == 0
    AuditLog.forget_cached_heads()
    result = audit_log(store).verify(DAY)
    records = audit_log(store).read(DAY)
    assert result.ok, result.problems
    assert [r["seq"] for r in records] == list(range(300))
    assert {r["call_id"] for r in records} == {f"{w}-{i}" for w in "ab" for i in range(150)}


def test_a_damaged_chain_is_sealed_as_evidence_and_later_events_chain_on(store, log, monkeypatch):
    """Guards: a forked or damaged chain blocked its day forever, with nothing to repair it."""
    fork = json.loads(store.read_bytes(_segments(store)[-1]).splitlines()[0])
    fork["media_id"] = "second writer"  # an old release's concurrent writer: a second record 3
    fork["hash"] = record_hash(fork)
    store.write_bytes(f"{LOG}/{DAY}/0000000003-fork.jsonl", canonical(fork) + b"\n")
    broken = log.verify(DAY)
    assert not broken.ok and "gemini-assets audit seal" in broken.next_steps[0]

    seal = seal_day(log, DAY, reason="fork from two writers, see incident 7", operator="ops@example.com")
    AuditLog.forget_cached_heads()
    sealed = log.verify(DAY)
    assert sealed.ok and "sealed" in sealed.notes[0] and seal["problems_at_seal"] == broken.problems
    log.append(DAY, [{"event": "received", "media_id": "after the seal"}])
    assert log.verify(DAY).ok and log.read(DAY)[-1]["prev"] == seal["genesis"]

    first = _segments(store)[0]  # the sealed evidence cannot be changed afterwards either
    store.write_bytes(first, store.read_bytes(first).replace(b"m0", b"mX"))
    assert "sealed evidence changed" in " ".join(log.verify(DAY).problems)
