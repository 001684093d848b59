"""RFC 6962 §2.1 Merkle tree hash: leaf = H(0x00 || entry), node = H(0x01 || left || right).

Written by hand: it is a dozen lines, and no maintained PyPI package implements exactly the
RFC's split rule (largest power of two below n) without pulling in a whole transparency log.
"""

from __future__ import annotations

import hashlib


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def merkle_root(entries: list[bytes]) -> bytes:
    if not entries:
        return hashlib.sha256(b"").digest()
    return _root([leaf_hash(e) for e in entries])


def _root(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)  # largest power of two < n
    return hashlib.sha256(b"\x01" + _root(leaves[:split]) + _root(leaves[split:])).digest()
