"""Canary releases: a new task version or model answers a share of a task's live items (and the
whole golden set) until its numbers promote it or roll it back.

Two halves, kept apart on purpose:
- the plan, a YAML file (GEMINI_ASSETS_RELEASES): per task the candidate, its share of the live
  items and the thresholds it must meet over a minimum sample. People write it.
- the state, ``releases/<task>.json`` under the storage root: the last decision (promoted or
  rolled back), who made it and on which figures. The pipeline and the CLI write it; every host
  and worker reads the same one, so a rollback reaches the next run wherever it runs.

A decided candidate no longer splits traffic, even while the plan still names it: a rolled-back
one leaves its baseline pinned, a promoted one becomes the version (or model) of every item.
Which items a canary takes hashes the content, so a re-run sends the same items the same way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gemini_assets.core.contracts.errors import ConfigurationError
from gemini_assets.core.storage.objectstore import ObjectStore

RELEASES = "releases"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    """What a canary must show, over at least the minimum sample, to be promoted; below any of
    them (with the sample reached) it is rolled back. Null cost: cost is not judged."""

    min_golden_items: int = Field(20, ge=1)
    min_live_items: int = Field(0, ge=0)
    min_golden_accuracy: float = Field(0.9, ge=0, le=1)
    min_valid_rate: float = Field(0.95, ge=0, le=1)
    max_cost_per_correct_usd: float | None = Field(None, gt=0)


class Canary(_Strict):
    """One task's candidate: a task ``version`` or a ``model`` (exactly one)."""

    version: str | None = None
    model: str | None = None
    # The version the other items keep (a version canary). Default: the last decided stable version,
    # else the highest version below the candidate.
    baseline: str | None = None
    share: float = Field(0.1, ge=0, le=1)
    thresholds: Thresholds = Thresholds()

    @model_validator(mode="after")
    def _one_candidate(self) -> Canary:
        if (self.version is None) == (self.model is None):
            raise ValueError("a canary names exactly one of `version` or `model`")
        if self.baseline is not None and self.version is None:
            raise ValueError("`baseline` is a task version: only a version canary has one")
        return self

    @property
    def candidate(self) -> str:
        """How state and audit name the candidate: ``version 1.1.0`` or ``model gemini-x``."""
        return f"version {self.version}" if self.version else f"model {self.model}"


class ReleasePlan(_Strict):
    canaries: dict[str, Canary] = Field(default_factory=dict)


class Decision(StrEnum):
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"


class ReleaseState(_Strict):
    """A task's last release decision (``releases/<task>.json``)."""

    task: str
    # What every item of the task uses from now on; None: the catalog's current version, the routes' model.
    stable_version: str | None = None
    stable_model: str | None = None
    # What the items got before the decision: a later rollback of a promotion returns to it.
    previous_version: str | None = None
    previous_model: str | None = None
    candidate: str  # Canary.candidate of the decided canary
    decision: Decision
    decided_at: datetime
    decided_by: str  # "canary-gate" for the automatic gate, else the person's login name
    day: str | None = None  # the partition whose figures decided it
    reasons: list[str] = Field(default_factory=list)
    figures: dict[str, Any] = Field(default_factory=dict)


def load_plan(path: Path | None, versions: Mapping[str, Mapping[str, object]]) -> ReleasePlan:
    """The release plan at ``path`` (no file configured: no canaries), checked against the catalog."""
    if path is None:
        return ReleasePlan()
    try:
        plan = ReleasePlan.model_validate(yaml.safe_load(Path(path).read_text()) or {})
    except FileNotFoundError:
        raise ConfigurationError(f"GEMINI_ASSETS_RELEASES: no file at {path}") from None
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigurationError(f"release plan {path} is invalid: {exc}") from None
    for task, canary in plan.canaries.items():
        known = versions.get(task)
        if known is None:
            raise ConfigurationError(f"release plan {path}: unknown task {task!r}; known: {sorted(versions)}")
        for version in (canary.version, canary.baseline):
            if version is not None and version not in known:
                raise ConfigurationError(
                    f"release plan {path}: {task} has no version {version!r}; known: {sorted(known)}"
                )
    return plan


def state_key(task: str) -> str:
    return f"{RELEASES}/{task}.json"


def load_states(store: ObjectStore, tasks: list[str]) -> dict[str, ReleaseState]:
    states = {}
    for task in tasks:
        if store.exists(state_key(task)):
            states[task] = ReleaseState.model_validate_json(store.read_bytes(state_key(task)))
    return states


def write_state(store: ObjectStore, state: ReleaseState) -> None:
    store.write_bytes(state_key(state.task), json.dumps(state.model_dump(mode="json"), indent=2).encode())


def in_share(task: str, canary: Canary, sha256: str) -> bool:
    digest = hashlib.sha256(f"canary:{task}:{canary.candidate}:{sha256}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < canary.share


class Releases:
    """The plan and the stored decisions together: which version and model an item gets."""

    def __init__(self, plan: ReleasePlan | None = None, states: Mapping[str, ReleaseState] | None = None):
        self.plan = plan or ReleasePlan()
        self.states = dict(states or {})

    def active(self, task: str) -> Canary | None:
        """The task's canary while it still runs: planned and not decided yet."""
        canary = self.plan.canaries.get(task)
        state = self.states.get(task)
        if canary is None or (state is not None and state.candidate == canary.candidate):
            return None
        return canary

    def stable_version(self, task: str, below: str | None = None) -> str | None:
        """The version the task's items keep (None: the catalog's current one)."""
        canary = self.active(task)
        if canary is not None and canary.version is not None:
            return canary.baseline or self._decided_version(task) or below
        return self._decided_version(task)

    def _decided_version(self, task: str) -> str | None:
        state = self.states.get(task)
        return state.stable_version if state else None

    def stable_model(self, task: str) -> str | None:
        state = self.states.get(task)
        return state.stable_model if state else None

    def version_for(self, task: str, sha256: str, below: str | None = None) -> str | None:
        canary = self.active(task)
        if canary is not None and canary.version is not None and in_share(task, canary, sha256):
            return canary.version
        return self.stable_version(task, below)

    def model_for(self, task: str, sha256: str) -> str | None:
        """The model the item must use, or None: the routes decide."""
        canary = self.active(task)
        if canary is not None and canary.model is not None and in_share(task, canary, sha256):
            return canary.model
        return self.stable_model(task)
