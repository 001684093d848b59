"""Rotating the audit-signing key: earlier keys' checkpoints verify only while listed as trusted.

Real files, real Ed25519 keys, the real `gemini-assets audit` commands (docs/compliance.md:
rotating the audit-signing key).
"""

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from gemini_assets.cli import main
from gemini_assets.core.audit.log import AuditLog, canonical
from gemini_assets.core.audit.merkle import merkle_root
from gemini_assets.core.audit.signing import fingerprint, load_or_create_key, public_key_hex, verify
from gemini_assets.core.config import load_settings

OLD_DAY, ROTATION_DAY, NEW_DAY = "2026-11-14", "2026-11-15", "2026-11-16"


def _cli(*args: str):
    return CliRunner().invoke(main, ["audit", *args])


def _key_id(path: Path) -> str:
    return fingerprint(public_key_hex(load_or_create_key(path)))


def _append(store, day: str, name: str, count: int = 3) -> None:
    AuditLog.from_settings(store, load_settings()).append(day, [{"event": name, "n": i} for i in range(count)])


@pytest.fixture
def rotated(store, tmp_path, monkeypatch):
    """Days signed by key A, a day across the rotation, a day signed by key B; A's public key
    exported (as an operator does before rotating) to trusted/a.pem. Returns (A's id, B's id)."""
    monkeypatch.delenv("GEMINI_ASSETS_AUDIT_TRUSTED_KEYS", raising=False)
    key_a = tmp_path / "keys" / "audit_ed25519.pem"  # conftest's per-test key
    _append(store, OLD_DAY, "received")
    _append(store, OLD_DAY, "validated")
    _append(store, ROTATION_DAY, "received")

    exported = _cli("public-key")
    assert exported.exit_code == 0, exported.output
    (tmp_path / "trusted").mkdir()
    (tmp_path / "trusted" / "a.pem").write_text(exported.output)

    key_b = tmp_path / "keys-b" / "audit_ed25519.pem"
    monkeypatch.setenv("GEMINI_ASSETS_AUDIT_KEY", str(key_b))
    AuditLog.forget_cached_heads()  # the hosts restart with the new key
    _append(store, ROTATION_DAY, "validated")
    _append(store, NEW_DAY, "received")
    return _key_id(key_a), _key_id(key_b)


def test_after_a_rotation_old_checkpoints_fail_until_the_old_key_is_trusted(rotated, store, tmp_path, monkeypatch):
    id_a, id_b = rotated
    assert id_a != id_b

    untrusted = _cli("verify")
    assert untrusted.exit_code == 1
    assert f"{OLD_DAY}: FAILED" in untrusted.output and f"{ROTATION_DAY}: FAILED" in untrusted.output
    assert f"{NEW_DAY}: ok" in untrusted.output
    assert f"2 checkpoint(s) signed by an untrusted key {id_a}" in untrusted.output
    assert "GEMINI_ASSETS_AUDIT_TRUSTED_KEYS" in untrusted.output and "next: if " + id_a in untrusted.output
    assert "audit seal" not in untrusted.output  # nothing to seal: only a key to trust

    monkeypatch.setenv("GEMINI_ASSETS_AUDIT_TRUSTED_KEYS", str(tmp_path / "trusted"))  # a folder of *.pem
    trusted = _cli("verify")
    assert trusted.exit_code == 0, trusted.output
    assert all(f"{day}: ok" in trusted.output for day in (OLD_DAY, ROTATION_DAY, NEW_DAY))

    listed = os.pathsep.join([str(tmp_path / "trusted" / "a.pem"), str(tmp_path / "nothing-else.pem")])
    monkeypatch.setenv("GEMINI_ASSETS_AUDIT_TRUSTED_KEYS", listed)
    missing = _cli("verify")
    assert missing.exit_code == 3 and "nothing-else.pem does not exist" in missing.output  # a typo is not ignored
    monkeypatch.setenv("GEMINI_ASSETS_AUDIT_TRUSTED_KEYS", listed.split(os.pathsep)[0])  # a list of files
    assert _cli("verify").exit_code == 0

    # The pipeline's own check (audit_trail_verified: AuditLog.verify) trusts the same list.
    pipeline_log = AuditLog.from_settings(store, load_settings())
    assert pipeline_log.verify(ROTATION_DAY).ok
    monkeypatch.delenv("GEMINI_ASSETS_AUDIT_TRUSTED_KEYS")
    assert not AuditLog.from_settings(store, load_settings()).verify(ROTATION_DAY).ok
    monkeypatch.setenv("GEMINI_ASSETS_AUDIT_TRUSTED_KEYS", listed.split(os.pathsep)[0])

    keys = _cli("keys")
    assert keys.exit_code == 0
    assert keys.output.splitlines()[0].startswith(f"{id_b}  signs now")
    assert keys.output.splitlines()[1].startswith(f"{id_a}  trusted")


def test_a_well_formed_checkpoint_by_a_third_untrusted_key_fails(rotated, store, tmp_path, monkeypatch):
    """Guards: a checkpoint carries its signer's public key, so it always verifies against itself;
    only a key the operator listed may make it count."""
    id_a, id_b = rotated
    monkeypatch.setenv("GEMINI_ASSETS_AUDIT_TRUSTED_KEYS", str(tmp_path / "trusted"))
    log = AuditLog.from_settings(store, load_settings())
    records = log.read(NEW_DAY)
    root = merkle_root([bytes.fromhex(r["hash"]) for r in records]).hex()
    key_c = tmp_path / "attacker" / "audit_ed25519.pem"
    forged = AuditLog(store, key_c).signed({"day": NEW_DAY, "size": len(records), "root": root})
    unsigned = canonical({k: v for k, v in forged.items() if k != "signature"})
    assert verify(forged["public_key"], forged["signature"], unsigned)  # self-consistent, right root
    [(genuine, _)] = log.checkpoint_bodies(NEW_DAY)
    store.write_bytes(genuine, json.dumps(forged).encode())  # B's checkpoint replaced by C's

    result = _cli("verify", "--date", NEW_DAY)

    id_c = _key_id(key_c)
    assert result.exit_code == 1
    assert f"1 checkpoint(s) signed by an untrusted key {id_c}" in result.output
    assert "the last 3 of 3 events are not covered by a signed checkpoint" in result.output
    assert id_a not in result.output and id_b not in result.output


def test_a_private_key_is_refused_as_a_trusted_key(tmp_path, monkeypatch):
    """Guards: an earlier private key copied onto verifying hosts would let anyone there sign."""
    old = tmp_path / "old" / "audit_ed25519.pem"
    load_or_create_key(old)
    monkeypatch.setenv("GEMINI_ASSETS_AUDIT_TRUSTED_KEYS", str(old))
    result = _cli("verify")
    assert result.exit_code == 3
    assert "holds a private key" in result.output and "audit public-key --key" in result.output
    exported = _cli("public-key", "--key", str(old))
    assert exported.exit_code == 0 and exported.output.startswith("-----BEGIN PUBLIC KEY-----")
