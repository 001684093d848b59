"""Verifying a day's audit log, and sealing a damaged one without rewriting it.

A day verifies when its records form one chain (sequence, previous hash, own hash), every
signed checkpoint matches the log's prefix it covers, and some checkpoint covers the log's last
event: an attacker who rewrites an event, recomputes the chain and deletes the checkpoints
after it is caught because the end is no longer covered.

A chain damaged for good (forked by an old release's concurrent writers, a lost segment) is
never repaired by rewriting: an operator seals it (``gemini-assets audit seal``). The seal is a
signed record of the log's size and of the Merkle root of its records exactly as found; the
damaged prefix stays as evidence, any later change to it is still detected, and new events
chain on from the seal.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gemini_assets.core.audit.identity import identity_problems
from gemini_assets.core.audit.log import GENESIS, SEAL_PREFIX, AuditLog, canonical, record_hash
from gemini_assets.core.audit.merkle import merkle_root
from gemini_assets.core.audit.signing import (
    TRUSTED_KEYS_VARIABLE,
    key_id_of,
    load_or_create_key,
    public_key_hex,
    verify,
)


@dataclass
class Verification:
    day: str
    events: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # sealed damage: known, kept as evidence
    next_steps: list[str] = field(default_factory=list)  # what an operator can do about the problems

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_day(log: AuditLog, day: str, earlier_keys: Collection[str] = ()) -> Verification:
    """``earlier_keys``: public keys (raw hex, signing.load_trusted_keys) of earlier signing keys
    whose checkpoints still count, besides the current key's."""
    result = Verification(day)
    try:
        records = log.read(day)
    except ValueError as exc:
        result.problems.append(f"unreadable log: {exc}")
        result.next_steps.append(_SEAL_HINT.format(day=day))
        return result
    result.events = len(records)
    trusted = {public_key_hex(load_or_create_key(log.key_path)), *earlier_keys}
    bodies = []
    untrusted: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for key, body in log.checkpoint_bodies(day):
        public = body.get("public_key")
        if not (isinstance(public, str) and public in trusted):
            # The embedded key only names the signer: a valid signature by a key nobody listed
            # proves nothing, or whoever rewrites the log could sign it with a key of their own.
            untrusted[key_id_of(public)] += 1
            examples.setdefault(key_id_of(public), key)
        elif _signature_ok(body, public):
            bodies.append(body)
        else:
            result.problems.append(f"checkpoint {key}: signature invalid for key {key_id_of(public)}")
    for key_id, count in untrusted.items():
        result.problems.append(
            f"{count} checkpoint(s) signed by an untrusted key {key_id}, neither the current audit key nor "
            f"one listed in {TRUSTED_KEYS_VARIABLE} (e.g. {examples[key_id]})"
        )
    if untrusted:  # first the key: what else fails (an uncovered end) may only follow from it
        result.next_steps.append(_KEY_HINT.format(ids=", ".join(sorted(untrusted))))
    seals = sorted((b for b in bodies if b.get("kind") == "seal"), key=lambda b: int(b["size"]))
    checkpoints = [b for b in bodies if b.get("kind") != "seal"]
    result.checkpoints = len(checkpoints)
    start, prev = _check_seals(records, seals, result)
    _check_chain(records, start, prev, result)
    result.problems.extend(identity_problems(records[start:], start))  # every review decision names who decided
    _check_checkpoints(records, checkpoints, seals[-1]["size"] if seals else 0, result)
    if result.problems and not result.next_steps:
        result.next_steps.append(_SEAL_HINT.format(day=day))
    return result


def _signature_ok(body: dict[str, Any], trusted: str) -> bool:
    unsigned = canonical({k: v for k, v in body.items() if k != "signature"})
    return body.get("public_key") == trusted and verify(trusted, str(body.get("signature", "")), unsigned)


def _check_seals(records: list[dict[str, Any]], seals: list[dict[str, Any]], result: Verification) -> tuple[int, str]:
    """Where the live chain starts (after the last seal) and the hash it starts from."""
    start, prev = 0, GENESIS
    for seal in seals:
        size = int(seal["size"])
        if size > len(records) or as_found_root(records[:size]) != seal["root_as_found"]:
            result.problems.append(f"sealed evidence changed: the first {size} events differ from seal {size}")
            continue
        result.notes.append(
            f"events 0..{size - 1} sealed on {seal['signed_at'][:19]} by {seal.get('operator') or 'an operator'}: "
            f"{seal.get('reason', '')}"
        )
        start, prev = size, str(seal["genesis"])
    return start, prev


def _check_chain(records: list[dict[str, Any]], start: int, prev: str, result: Verification) -> None:
    for index in range(start, len(records)):
        record = records[index]
        if record.get("seq") != index:
            result.problems.append(
                f"record {index}: seq {record.get('seq')} (a record is missing, doubled or reordered)"
            )
            return
        if record.get("prev") != prev:
            result.problems.append(f"record {index}: chain broken (prev does not match the record before)")
            return
        if record_hash(record) != record.get("hash"):
            result.problems.append(f"record {index}: content edited (hash mismatch)")
            return
        prev = record["hash"]


def _check_checkpoints(
    records: list[dict[str, Any]], checkpoints: list[dict[str, Any]], sealed: int, result: Verification
) -> None:
    hashes = [str(r.get("hash", "")) for r in records]
    covered = sealed
    for body in checkpoints:
        size = int(body["size"])
        if size <= sealed:
            continue  # superseded by the seal: the prefix it covered is sealed as found
        if size > len(hashes):
            result.problems.append(f"log truncated: a checkpoint covers {size} events, the log has {len(hashes)}")
            continue
        try:
            root = merkle_root([bytes.fromhex(h) for h in hashes[:size]]).hex()
        except ValueError:
            root = ""
        if root != body["root"]:
            result.problems.append(
                f"log rewritten: the Merkle root of the first {size} events differs from its checkpoint"
            )
            continue
        covered = max(covered, size)
    if hashes and covered < len(hashes):
        result.problems.append(
            f"the last {len(hashes) - covered} of {len(hashes)} events are not covered by a signed checkpoint"
        )
        if covered and not result.next_steps:
            result.next_steps.append(
                "if a run of this day died before signing (see run_id of those events), re-run the day: its "
                "next step signs the log's end; if the events were added or changed by someone else, keep the "
                "log as evidence and seal it (`gemini-assets audit seal`)"
            )


def as_found_root(records: list[dict[str, Any]]) -> str:
    """Merkle root over the records exactly as they are now (hash of each canonical record)."""
    leaves = [hashlib.sha256(canonical(record)).digest() for record in records]
    return merkle_root(leaves).hex()


def seal_day(log: AuditLog, day: str, reason: str, operator: str, earlier_keys: Collection[str] = ()) -> dict[str, Any]:
    """Seal the day's log as found: a signed record, never a rewrite. Returns the seal."""
    records = log.read(day)
    problems = verify_day(log, day, earlier_keys).problems
    body: dict[str, Any] = {
        "kind": "seal",
        "day": day,
        "size": len(records),
        "root_as_found": as_found_root(records),
        "problems_at_seal": problems,
        "reason": reason,
        "operator": operator,
        "sealed_at": datetime.now(UTC).isoformat(),
    }
    body["genesis"] = hashlib.sha256(canonical(body)).hexdigest()  # what the next event chains to
    signed = log.signed(body)
    key = f"{log.checkpoint_prefix}{day}/{SEAL_PREFIX}{len(records):010d}.json"
    if not log.checkpoints.create(key, canonical(signed)):
        raise FileExistsError(f"the log of {day} is already sealed at {len(records)} events")
    return signed


_SEAL_HINT = (
    "keep the log as it is (it is the evidence); find out who wrote the damaged events (run_id, ts); "
    "then seal the day so later events chain on: `gemini-assets audit seal --date {day} --reason ...` "
    "(docs/compliance.md: sealing a damaged chain)"
)
_KEY_HINT = (
    "if {ids} is an earlier audit key of this deployment, add its public key to "
    f"{TRUSTED_KEYS_VARIABLE} (`gemini-assets audit keys` lists what is trusted; docs/compliance.md: "
    "rotating the audit-signing key); otherwise those checkpoints were not written by this deployment: "
    "keep them as evidence"
)
