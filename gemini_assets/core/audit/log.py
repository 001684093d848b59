"""Append-only, hash-chained audit log per day, with signed Merkle checkpoints kept apart.

Layout (in the spirit of CloudTrail digests and RFC 6962):
- ``audit/log/<day>/<segment>.jsonl``: events; each record carries ``seq``, ``prev`` (hash of the
  record before it) and ``hash`` (SHA-256 of its canonical JSON without ``hash``). Segments are
  only ever created, never rewritten, so the log is append-only on plain disks and S3 alike.
- ``audit_checkpoints/<day>/<segment>.json`` (a different prefix, or a different root through
  GEMINI_ASSETS_AUDIT_CHECKPOINTS, e.g. an object-locked bucket): after each segment, the size
  of the day's log and its Merkle root, signed with Ed25519. The chain catches edits and gaps;
  the checkpoint catches what a chain cannot: a truncated tail or a rewritten whole.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gemini_assets.core.audit.merkle import merkle_root
from gemini_assets.core.audit.signing import fingerprint, load_or_create_key, public_key_hex, verify
from gemini_assets.core.config import Settings
from gemini_assets.core.storage.objectstore import ObjectStore

LOG = "audit/log"
CHECKPOINTS = "audit_checkpoints"
GENESIS = "0" * 64

_lock = threading.Lock()


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), default=str).encode()


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


@dataclass
class Verification:
    day: str
    events: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditLog:
    def __init__(self, store: ObjectStore, key_path: Path, checkpoints_root: str | None = None):
        """``checkpoints_root``: another storage root for the signed checkpoints (better: a bucket the
        log writer cannot rewrite); unset, they go under ``audit_checkpoints/`` of the same root."""
        self.store, self.key_path = store, key_path
        if checkpoints_root:
            self.checkpoints, self.checkpoint_prefix = ObjectStore(checkpoints_root, store.s3_endpoint), ""
        else:
            self.checkpoints, self.checkpoint_prefix = store, CHECKPOINTS + "/"

    @classmethod
    def from_settings(cls, store: ObjectStore, settings: Settings) -> AuditLog:
        return cls(store, settings.audit_key_path(), settings.audit_checkpoints)

    # -- writing -------------------------------------------------------------------------
    def append(self, day: str, events: list[dict[str, Any]], run_id: str | None = None) -> int:
        """Append events as one new segment of the day's chain and sign a checkpoint; returns the count."""
        if not events:
            return 0
        with _lock:
            records = self.read(day)
            prev = records[-1]["hash"] if records else GENESIS
            seq = len(records)
            moment = datetime.now(UTC)
            now = moment.isoformat()
            lines = []
            for event in events:
                record = {"seq": seq, "ts": now, "day": day, "run_id": run_id, **event, "prev": prev}
                record["hash"] = record_hash(record)
                lines.append(canonical(record))
                prev, seq = record["hash"], seq + 1
            segment = f"{seq:010d}-{moment.strftime('%Y%m%dT%H%M%S%fZ')}"  # zero-padded: keys sort in chain order
            key = f"{LOG}/{day}/{segment}.jsonl"
            if self.store.exists(key):
                raise FileExistsError(f"audit segment {key} exists: concurrent writers for {day}")
            self.store.write_bytes(key, b"\n".join(lines) + b"\n")
            self._checkpoint(day, segment, [r["hash"] for r in records] + [json.loads(x)["hash"] for x in lines])
        return len(events)

    def _checkpoint(self, day: str, segment: str, hashes: list[str]) -> None:
        key = load_or_create_key(self.key_path)
        body = {
            "day": day,
            "size": len(hashes),
            "root": merkle_root([bytes.fromhex(h) for h in hashes]).hex(),
            "signed_at": datetime.now(UTC).isoformat(),
            "public_key": public_key_hex(key),
        }
        body["key_fingerprint"] = fingerprint(public_key_hex(key))
        body["signature"] = key.sign(canonical({k: v for k, v in body.items() if k != "signature"})).hex()
        self.checkpoints.write_json(f"{self.checkpoint_prefix}{day}/{segment}.json", body)

    # -- reading and verifying -------------------------------------------------------------
    def read(self, day: str) -> list[dict[str, Any]]:
        records = []
        for obj in self.store.walk_files(f"{LOG}/{day}"):
            for line in self.store.read_bytes(obj.key).splitlines():
                if line.strip():
                    records.append(json.loads(line))
        return records

    def days(self) -> list[str]:
        return sorted({obj.key.split("/")[2] for obj in self.store.walk_files(LOG)})

    def verify(self, day: str) -> Verification:
        result = Verification(day)
        try:
            records = self.read(day)
        except ValueError as exc:
            result.problems.append(f"unreadable log: {exc}")
            return result
        result.events = len(records)
        prev = GENESIS
        for index, record in enumerate(records):
            if record.get("seq") != index:
                result.problems.append(f"record {index}: seq {record.get('seq')} (a record is missing or reordered)")
                break
            if record.get("prev") != prev:
                result.problems.append(f"record {index}: chain broken (prev does not match the record before)")
                break
            if record_hash(record) != record.get("hash"):
                result.problems.append(f"record {index}: content edited (hash mismatch)")
                break
            prev = record["hash"]
        self._verify_checkpoints(day, [r.get("hash", "") for r in records], result)
        return result

    def _verify_checkpoints(self, day: str, hashes: list[str], result: Verification) -> None:
        trusted = public_key_hex(load_or_create_key(self.key_path))
        found = list(self.checkpoints.walk_files(f"{self.checkpoint_prefix}{day}"))
        result.checkpoints = len(found)
        if hashes and not found:
            result.problems.append("no signed checkpoint for a non-empty log")
        for obj in found:
            body = self.checkpoints.read_json(obj.key)
            unsigned = canonical({k: v for k, v in body.items() if k != "signature"})
            if body.get("public_key") != trusted or not verify(trusted, body.get("signature", ""), unsigned):
                result.problems.append(f"checkpoint {obj.key}: signature invalid or by an untrusted key")
                continue
            size = int(body["size"])
            if size > len(hashes):
                result.problems.append(
                    f"log truncated: checkpoint {obj.key} covers {size} events, log has {len(hashes)}"
                )
                continue
            try:
                root = merkle_root([bytes.fromhex(h) for h in hashes[:size]]).hex()
            except ValueError:
                root = ""
            if root != body["root"]:
                result.problems.append(f"log rewritten: Merkle root of the first {size} events differs from {obj.key}")
