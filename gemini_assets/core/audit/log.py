"""Append-only, hash-chained audit log per day, with signed Merkle checkpoints kept apart.

Layout (in the spirit of CloudTrail digests and RFC 6962):
- ``audit/log/<day>/<first seq>.jsonl``: events; each record carries ``seq``, ``prev`` (hash of the
  record before it) and ``hash`` (SHA-256 of its canonical JSON without ``hash``). A segment is
  created only if its name is free (``ObjectStore.create``: a hard link on disk, If-None-Match on
  S3), and its name is the sequence number it starts at: two processes appending to one day at
  once cannot both write sequence n, the loser re-reads the head and appends after the winner.
  So the day has one chain whoever writes, threads or processes on any host.
- ``audit_checkpoints/<day>/<size>.json`` (a different prefix, or a different root through
  GEMINI_ASSETS_AUDIT_CHECKPOINTS, e.g. an object-locked bucket): the size of the day's log and
  its Merkle root, signed with Ed25519, written at the end of every step and every
  ``checkpoint_every`` events in between. The chain catches edits and gaps; a checkpoint covering
  the log's last event catches what a chain cannot: a truncated tail or a rewritten whole.
- ``seal-<size>.json`` beside the checkpoints: an operator's signed seal over a damaged prefix
  (verify.py). The log is never rewritten; later events chain on from the seal.

Appends are cheap: each process keeps the day's head (count, hashes) and reads only segments
it has not seen, when a create finds its name taken.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gemini_assets.core.audit.merkle import merkle_root
from gemini_assets.core.audit.signing import fingerprint, load_or_create_key, load_trusted_keys, public_key_hex
from gemini_assets.core.config import Settings
from gemini_assets.core.storage.objectstore import ObjectStore

if TYPE_CHECKING:
    from gemini_assets.core.audit.verify import Verification

LOG = "audit/log"
CHECKPOINTS = "audit_checkpoints"
GENESIS = "0" * 64
SEAL_PREFIX = "seal-"
CHECKPOINT_EVERY = 100
_MAX_RACES = 1000  # appends lost to other writers before giving up (each loss is another's success)


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), default=str).encode()


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


def segment_key(day: str, first_seq: int) -> str:
    return f"{LOG}/{day}/{first_seq:010d}.jsonl"


@dataclass
class _Head:
    """What one process knows of a day's log: every record hash, and the last segment it read."""

    hashes: list[str] = field(default_factory=list)
    last_key: str = ""
    signed_size: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


_heads: dict[tuple[str, str], _Head] = {}
_heads_lock = threading.Lock()


class AuditLog:
    def __init__(
        self,
        store: ObjectStore,
        key_path: Path,
        checkpoints_root: str | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
        trusted_keys: Sequence[Path] = (),
    ):
        """``checkpoints_root``: another storage root for the signed checkpoints (better: a bucket the
        log writer cannot rewrite); unset, they go under ``audit_checkpoints/`` of the same root."""
        self.store, self.key_path, self.checkpoint_every = store, key_path, checkpoint_every
        # Earlier keys' public halves (GEMINI_ASSETS_AUDIT_TRUSTED_KEYS): their checkpoints still verify.
        self.trusted_keys = tuple(trusted_keys)
        if checkpoints_root:
            self.checkpoints, self.checkpoint_prefix = ObjectStore(checkpoints_root, store.s3_endpoint), ""
        else:
            self.checkpoints, self.checkpoint_prefix = store, CHECKPOINTS + "/"

    @staticmethod
    def forget_cached_heads() -> None:
        """Drop what this process knows of every log's head (after the log was changed by hand,
        as forensics and tampering tests do: appends assume the log only ever grows)."""
        with _heads_lock:
            _heads.clear()

    @classmethod
    def from_settings(cls, store: ObjectStore, settings: Settings) -> AuditLog:
        return cls(
            store,
            settings.audit_key_path(),
            settings.audit_checkpoints,
            settings.audit_checkpoint_every,
            settings.audit_trusted_key_paths(),
        )

    # -- writing -------------------------------------------------------------------------
    def append(self, day: str, events: list[dict[str, Any]], run_id: str | None = None, sign: bool = True) -> int:
        """Append events as one new segment of the day's chain; returns the count.

        ``sign``: sign a checkpoint over the whole log now (a step's last events); otherwise one
        is signed once ``checkpoint_every`` events are unsigned (the per-call journal).
        """
        if not events:
            if sign:
                self.checkpoint(day)
            return 0
        head = self._head(day)
        with head.lock:
            for _ in range(_MAX_RACES):
                self._catch_up(day, head)
                lines, hashes = self._records(day, events, run_id, head)
                key = segment_key(day, len(head.hashes))
                if self.store.create(key, b"\n".join(lines) + b"\n"):
                    head.hashes.extend(hashes)
                    head.last_key = key
                    break
            else:
                raise RuntimeError(f"audit log of {day}: {_MAX_RACES} appends in a row lost to other writers")
            if sign or len(head.hashes) - head.signed_size >= self.checkpoint_every:
                self._sign(day, head)
        return len(events)

    def checkpoint(self, day: str) -> None:
        """Sign the day's log as it is now, if any event is not covered yet (a step's end)."""
        head = self._head(day)
        with head.lock:
            self._catch_up(day, head)
            if head.hashes and head.signed_size < len(head.hashes):
                self._sign(day, head)

    def _records(
        self, day: str, events: list[dict[str, Any]], run_id: str | None, head: _Head
    ) -> tuple[list[bytes], list[str]]:
        seq = len(head.hashes)
        prev = self._previous(day, head)
        now = datetime.now(UTC).isoformat()
        lines, hashes = [], []
        for event in events:
            record = {"seq": seq, "ts": now, "day": day, "run_id": run_id, **event, "prev": prev}
            record["hash"] = record_hash(record)
            lines.append(canonical(record))
            hashes.append(record["hash"])
            prev, seq = record["hash"], seq + 1
        return lines, hashes

    def _previous(self, day: str, head: _Head) -> str:
        """The hash the next record chains to: the last record's, or a seal's placed right there."""
        seal = self.seal_at(day, len(head.hashes))
        if seal is not None:
            return str(seal["genesis"])
        return head.hashes[-1] if head.hashes else GENESIS

    def _head(self, day: str) -> _Head:
        with _heads_lock:
            return _heads.setdefault((self.store.url, day), _Head())

    def _catch_up(self, day: str, head: _Head) -> None:
        """Read the segments other writers added since this process last looked."""
        if head.hashes and not self.store.exists(segment_key(day, len(head.hashes))):
            return  # nobody wrote the next sequence number: the cached head is the head
        for obj in self.store.walk_files(f"{LOG}/{day}"):
            if obj.key.endswith(".jsonl") and obj.key > head.last_key:
                head.hashes.extend(_hash_of(line) for line in _lines(self.store.read_bytes(obj.key)))
                head.last_key = obj.key
        head.signed_size = max(head.signed_size, self._signed_size(day))

    def _signed_size(self, day: str) -> int:
        sizes = [
            int(obj.key.rsplit("/", 1)[1].removeprefix(SEAL_PREFIX).split(".")[0].split("-")[0])
            for obj in self.checkpoints.walk_files(f"{self.checkpoint_prefix}{day}")
            if obj.key.endswith(".json") and obj.key.rsplit("/", 1)[1][:1].isdigit()
        ]
        return max(sizes, default=0)

    def _sign(self, day: str, head: _Head) -> None:
        size = len(head.hashes)
        body = self.signed(
            {"day": day, "size": size, "root": merkle_root([bytes.fromhex(h) for h in head.hashes]).hex()}
        )
        self.checkpoints.create(f"{self.checkpoint_prefix}{day}/{size:010d}.json", json.dumps(body).encode())
        head.signed_size = size

    def signed(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with the signing time, the public key and an Ed25519 signature over it all."""
        key = load_or_create_key(self.key_path)
        body = {**body, "signed_at": datetime.now(UTC).isoformat(), "public_key": public_key_hex(key)}
        body["key_fingerprint"] = fingerprint(body["public_key"])
        body["signature"] = key.sign(canonical(body)).hex()
        return body

    # -- reading ---------------------------------------------------------------------------
    def read(self, day: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for obj in self.store.walk_files(f"{LOG}/{day}"):
            if obj.key.endswith(".jsonl"):
                records.extend(json.loads(line) for line in _lines(self.store.read_bytes(obj.key)))
        return records

    def days(self) -> list[str]:
        return sorted({obj.key.split("/")[2] for obj in self.store.walk_files(LOG) if obj.key.endswith(".jsonl")})

    def checkpoint_bodies(self, day: str) -> list[tuple[str, dict[str, Any]]]:
        """(key, body) of every signed checkpoint and seal of the day."""
        found = self.checkpoints.walk_files(f"{self.checkpoint_prefix}{day}")
        return [(obj.key, self.checkpoints.read_json(obj.key)) for obj in found if obj.key.endswith(".json")]

    def seal_at(self, day: str, size: int) -> dict[str, Any] | None:
        key = f"{self.checkpoint_prefix}{day}/{SEAL_PREFIX}{size:010d}.json"
        return self.checkpoints.read_json(key) if self.checkpoints.exists(key) else None

    def verify(self, day: str) -> Verification:
        from gemini_assets.core.audit.verify import verify_day  # verify.py builds on this module

        return verify_day(self, day, load_trusted_keys(self.trusted_keys))


def _lines(data: bytes) -> list[bytes]:
    return [line for line in data.splitlines() if line.strip()]


def _hash_of(line: bytes) -> str:
    return str(json.loads(line).get("hash", ""))
