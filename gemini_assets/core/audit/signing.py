"""Ed25519 keys for signing audit checkpoints.

The private key lives outside the storage root (the log writer's reach): by default in the
user's config folder, created on first use; production points GEMINI_ASSETS_AUDIT_KEY at a key
file provisioned by the platform (Settings.audit_key_path).

Rotation: checkpoints carry the signer's public key, and a key's id is its fingerprint. A
verifier trusts the current key and the earlier keys whose public keys an operator listed
(GEMINI_ASSETS_AUDIT_TRUSTED_KEYS, Settings.audit_trusted_key_paths); a checkpoint's own public
key is never trusted for being there, or anyone could sign a rewritten log with a key of their own.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gemini_assets.core.contracts.errors import ConfigurationError

TRUSTED_KEYS_VARIABLE = "GEMINI_ASSETS_AUDIT_TRUSTED_KEYS"


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The key at ``path``, created on first use. Several processes may start at once (parallel
    partitions): the key is written whole under a temporary name and hard-linked into place,
    which fails if another process won, and then the winner's key is used: one key, never half a file."""
    if not path.exists():
        _create_key(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def _create_key(path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    partial = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process created it first: its key is the one
            os.link(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def fingerprint(public_hex: str) -> str:
    """The key id: what checkpoints record as ``key_fingerprint`` and what messages name."""
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:16]


def key_id_of(public_hex: object) -> str:
    """The id of a checkpoint's claimed key, whatever a tampered checkpoint put there."""
    try:
        return fingerprint(str(public_hex))
    except ValueError:
        return f"(not a public key: {str(public_hex)[:20]!r})"


def public_key_pem(key: Ed25519PrivateKey) -> bytes:
    """The public half as PEM (SubjectPublicKeyInfo), the form the trusted-keys list takes."""
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_existing_key(path: Path) -> Ed25519PrivateKey:
    """The key at ``path``, never created: a command that reports a key's id must not quietly
    make a new one when the path is wrong."""
    if not path.exists():
        raise FileNotFoundError(f"no audit signing key at {path} (GEMINI_ASSETS_AUDIT_KEY)")
    try:
        return load_or_create_key(path)
    except ValueError as exc:  # a public key or another kind of file given where the private key goes
        raise ConfigurationError(f"{path} is not an Ed25519 private key ({exc})") from None


def load_trusted_keys(paths: Sequence[Path]) -> dict[str, Path]:
    """Public key (raw hex) -> the file it came from, for each path: a PEM public-key file, or a
    folder whose ``*.pem`` files each hold one. A missing path or a file that is not an Ed25519
    public key fails: a typo must not silently shrink what verification trusts."""
    trusted: dict[str, Path] = {}
    for path in paths:
        if path.is_dir():
            files = sorted(path.glob("*.pem"))
        elif path.exists():
            files = [path]
        else:
            raise ConfigurationError(f"{TRUSTED_KEYS_VARIABLE}: {path} does not exist")
        for file in files:
            trusted[_read_public_key(file)] = file
    return trusted


def _read_public_key(file: Path) -> str:
    data = file.read_bytes()
    if b"PRIVATE KEY" in data:
        # An earlier private key has no business on a verifying host: whoever reads it can sign.
        raise ConfigurationError(
            f"{TRUSTED_KEYS_VARIABLE}: {file} holds a private key; list only public keys "
            "(`gemini-assets audit public-key --key FILE` exports one)"
        )
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise ConfigurationError(f"{TRUSTED_KEYS_VARIABLE}: {file} is not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigurationError(f"{TRUSTED_KEYS_VARIABLE}: {file} is not an Ed25519 public key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def verify(public_hex: str, signature_hex: str, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True
