"""Automation beyond the nightly schedule: today's uploads processed as they land.

`landing_sensor` (off by default: switch it on under Automation in the UI) looks at
`landing/<today>/` through the storage root, so it works the same on a folder and on S3, and
launches today's partition of `daily_pipeline` when the set of uploads has changed and then
stayed the same for one tick. Waiting for one quiet tick keeps a file that is still being written
(local disk, an rsync in progress) from being validated half-way and quarantined as truncated.
Re-running a partition is idempotent and never calls the model again for unchanged items, so
each launch only pays for the new uploads.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg

from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.defs.jobs import daily_pipeline
from gemini_assets.defs.resources import StorageResource

SENSOR_INTERVAL_S = 60


@dataclass(frozen=True)
class LandingDecision:
    """What one tick should do: `run_key` set means launch; `cursor` is always the new cursor."""

    cursor: str
    run_key: str | None
    reason: str


def landing_fingerprint(store: ObjectStore, day: str) -> tuple[str, int]:
    """A hash of every key and size under landing/<day>/, and how many files there are."""
    digest = hashlib.sha256()
    count = 0
    for obj in store.walk_entries(f"landing/{day}"):
        digest.update(f"{obj.key}\0{obj.size}\n".encode())
        count += 1
    return digest.hexdigest()[:16], count


def decide(store: ObjectStore, day: str, cursor: str | None) -> LandingDecision:
    """Launch when the uploads differ from the last launch and did not change since the last tick."""
    state = _parse(cursor)
    if state.get("day") != day:  # a new day: nothing launched for it yet
        state = {"day": day}
    fingerprint, count = landing_fingerprint(store, day)
    if count == 0:
        return LandingDecision(_dump(state), None, f"no uploads under landing/{day}/ yet")
    if fingerprint == state.get("launched"):
        return LandingDecision(_dump(state), None, f"{count} uploads, none new since the last launch")
    if fingerprint != state.get("seen"):
        state["seen"] = fingerprint
        return LandingDecision(_dump(state), None, f"{count} uploads changed: waiting one tick for them to settle")
    state["launched"] = fingerprint
    return LandingDecision(_dump(state), f"{day}:{fingerprint}", f"{count} uploads settled: launching {day}")


@dg.sensor(
    job=daily_pipeline,
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Launches today's partition when new uploads land in landing/<today>/ (settled for one tick).",
)
def landing_sensor(context: dg.SensorEvaluationContext, storage: StorageResource):
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    decision = decide(storage.store(), day, context.cursor)
    context.update_cursor(decision.cursor)
    if decision.run_key is None:
        return dg.SkipReason(decision.reason)
    context.log.info(decision.reason)
    return dg.RunRequest(run_key=decision.run_key, partition_key=day, tags={"gemini_assets/trigger": "landing_sensor"})


def _parse(cursor: str | None) -> dict:
    try:
        state = json.loads(cursor) if cursor else {}
    except json.JSONDecodeError:  # a cursor from an older format: start over, at worst one extra run
        return {}
    return state if isinstance(state, dict) else {}


def _dump(state: dict) -> str:
    return json.dumps(state, sort_keys=True)
