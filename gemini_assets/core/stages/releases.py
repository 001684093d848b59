"""Step 7, the canary gate (the canary_releases asset): each running canary's figures of the day
against the thresholds of the release plan; promote it, roll it back, or let it run on.

The figures come from task_quality (golden accuracy, live items, cost per correct record) and
golden_outputs (valid answers when the canary had no live item). A decision is stored
(``releases/<task>.json``, core/tasks/releases.py), so the next run of any day, on any worker,
sends every item of the task the same way, and audited as ``canary_promoted`` or
``canary_rolled_back`` with its figures. People decide through the same ``decide`` (the
``gemini-assets release`` CLI), audited with their login name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.contracts.errors import ConfigurationError
from gemini_assets.core.contracts.tables import CanaryReleaseRow, ModelOutputRow, TaskQualityRow
from gemini_assets.core.stages.context import DayContext
from gemini_assets.core.stages.quality import answer_of
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_assets.core.tasks.releases import Canary, Decision, ReleaseState, Thresholds, write_state

GATE = "canary-gate"  # decided_by of the automatic gate
CONTINUE = "continue"


@dataclass(frozen=True)
class Figures:
    """One candidate's figures of the day, its task_quality rows (one per model or version) summed."""

    live_items: int = 0
    golden_items: int = 0
    golden_accuracy: float | None = None
    valid_output_rate: float | None = None
    cost_per_correct_record_usd: float | None = None


def is_candidate(canary: Canary, task: str, row: TaskQualityRow | ModelOutputRow) -> bool:
    """Whether a task_quality or golden_outputs row is the canary's (its version, or its model)."""
    if row.task != task:
        return False
    return row.task_version == canary.version if canary.version else row.model == canary.model


def figures(rows: list[TaskQualityRow], golden: list[ModelOutputRow]) -> Figures:
    """Summed over the candidate's rows; the valid rate counts live answers, else golden ones."""
    live = sum(r.items for r in rows)
    scored = sum(r.golden_items for r in rows)
    correct = sum(r.golden_correct for r in rows)
    accuracy = correct / scored if scored else None
    valid: float | None
    if live:
        valid = sum((r.valid_output_rate or 0.0) * r.items for r in rows) / live
    else:
        valid = sum(answer_of(r) is not None for r in golden) / len(golden) if golden else None
    costs = [r.cost_usd for r in rows if r.items]
    cost = None if not costs or any(c is None for c in costs) else sum(c for c in costs if c is not None)
    per_correct = cost / (live * accuracy) if cost is not None and live and accuracy else None
    return Figures(live, scored, accuracy, valid, per_correct)


def judge(thresholds: Thresholds, found: Figures) -> tuple[str, list[str]]:
    """promoted, rolled_back or continue, with the reasons threshold by threshold."""
    short = []
    if found.golden_items < thresholds.min_golden_items:
        short.append(f"{found.golden_items} golden answers, {thresholds.min_golden_items} needed")
    if found.live_items < thresholds.min_live_items:
        short.append(f"{found.live_items} live items, {thresholds.min_live_items} needed")
    if short:
        return CONTINUE, short
    checks = [
        ("golden accuracy", found.golden_accuracy, thresholds.min_golden_accuracy, "min"),
        ("valid output rate", found.valid_output_rate, thresholds.min_valid_rate, "min"),
    ]
    if thresholds.max_cost_per_correct_usd is not None:
        checks.append(
            ("cost per correct record", found.cost_per_correct_record_usd, thresholds.max_cost_per_correct_usd, "max")
        )
    failed, met = [], []
    for name, value, limit, kind in checks:
        if value is None:  # nothing to judge by (no live cost today): never a reason to promote
            failed.append(f"{name} unknown (threshold {limit})")
        elif (value < limit) if kind == "min" else (value > limit):
            failed.append(f"{name} {value:.4g} {'<' if kind == 'min' else '>'} {limit}")
        else:
            met.append(f"{name} {value:.4g} {'>=' if kind == 'min' else '<='} {limit}")
    return (Decision.ROLLED_BACK.value, failed) if failed else (Decision.PROMOTED.value, met)


def gate_day(
    ctx: DayContext, quality: Iterable[TaskQualityRow], golden: Iterable[ModelOutputRow]
) -> list[CanaryReleaseRow]:
    """The canary_releases rows of the day; promotes and rolls back as the figures say."""
    quality, golden = list(quality), list(golden)
    rows = []
    for task, canary in sorted(ctx.catalog.releases.plan.canaries.items()):
        # Decided already, or a run pinned to a version (a re-run, a rollback): no canary ran.
        if ctx.catalog.releases.active(task) is None or task in ctx.catalog.pins:
            continue
        baseline = ctx.catalog.get(task)
        mine = [r for r in quality if is_candidate(canary, task, r)]
        answers = [r for r in golden if is_candidate(canary, task, r)]
        if not mine:
            continue  # the task had no item today: nothing measured, nothing to say
        found = figures(mine, answers)
        decision, reasons = judge(canary.thresholds, found)
        pinned = None
        if decision != CONTINUE:
            state = decide(
                ctx.store,
                ctx.audit,
                ctx.catalog,
                task,
                Decision(decision),
                GATE,
                ctx.day,
                reasons,
                found,
                run_id=ctx.run_id,
            )
            pinned = state.stable_version
            ctx.log(f"{task}: {canary.candidate} {decision} ({'; '.join(reasons)})")
        others = [r for r in quality if r.task == task and r not in mine and r.task_version == baseline.version]
        rows.append(
            CanaryReleaseRow(
                task=task,
                candidate=canary.candidate,
                baseline_version=baseline.version if canary.version else None,
                share=canary.share,
                decision=decision,
                reasons="; ".join(reasons),
                pinned_version=pinned,
                baseline_golden_accuracy=figures(others, []).golden_accuracy if others else None,
                decided_at=datetime.now(UTC),
                **asdict(found),
            )
        )
    return rows


def decide(
    store: ObjectStore,
    audit: AuditLog,
    catalog: TaskCatalog,
    task: str,
    decision: Decision,
    by: str,
    day: str | None = None,
    reasons: list[str] | None = None,
    found: Figures | None = None,
    to_version: str | None = None,
    run_id: str | None = None,
) -> ReleaseState:
    """Promote or roll back the task's release and say so in the audit log.

    With a running canary: promote makes its candidate the version (or model) of every item,
    roll back pins the version the other items kept. Without one, roll back undoes the last
    promotion (its previous version), or pins ``to_version``."""
    releases = catalog.releases
    canary = releases.active(task)
    earlier = releases.states.get(task)
    stable, model = catalog.get(task).version, releases.stable_model(task)
    if canary is not None:
        candidate = canary.candidate
        if decision == Decision.PROMOTED:
            stable, model = (canary.version or stable), (canary.model or model)
    elif decision == Decision.ROLLED_BACK and (to_version or (earlier and earlier.previous_version)):
        candidate = earlier.candidate if earlier else f"version {stable}"
        stable = to_version or (earlier.previous_version if earlier else None) or stable
        model = earlier.previous_model if earlier and not to_version else model
    else:
        raise ConfigurationError(
            f"{task}: no canary is running (release plan) and no promotion to undo; "
            "roll back with an explicit version (--version), or plan a canary"
        )
    if to_version is not None:
        catalog.get(task, to_version)  # UnknownTask for a version the catalog lacks
        stable = to_version
    state = ReleaseState(
        task=task,
        stable_version=stable,
        stable_model=model,
        previous_version=catalog.get(task).version,
        previous_model=releases.stable_model(task),
        candidate=candidate,
        decision=decision,
        decided_at=datetime.now(UTC),
        decided_by=by,
        day=day,
        reasons=reasons or [],
        figures=asdict(found) if found else {},
    )
    # Audited first: a process killed in between leaves an event and no decision (the next gate
    # decides again, audited again), never a decision nobody can find in the audit log.
    audit.append(day or state.decided_at.date().isoformat(), [_event(state)], run_id=run_id, sign=True)
    write_state(store, state)
    return state


def _event(state: ReleaseState) -> dict[str, Any]:
    return {
        "event": f"canary_{state.decision}",
        "task": state.task,
        "candidate": state.candidate,
        "pinned_version": state.stable_version,
        "pinned_model": state.stable_model,
        "previous_version": state.previous_version,
        "decided_by": state.decided_by,
        "reasons": state.reasons,
        "figures": state.figures,
    }


def release_status(catalog: TaskCatalog) -> list[dict[str, Any]]:
    """Per task: the version and model its items get, a running canary, the last decision."""
    found = []
    for task in catalog.names():
        canary = catalog.releases.active(task)
        state = catalog.releases.states.get(task)
        last = (
            f"{state.decision} {state.candidate} by {state.decided_by} on {state.decided_at:%Y-%m-%d}" if state else "-"
        )
        found.append(
            {
                "task": task,
                "version": catalog.get(task).version,
                "model": catalog.releases.stable_model(task) or "(routes)",
                "canary": f"{canary.candidate} on {canary.share:.0%}" if canary else "-",
                "last decision": last,
            }
        )
    return found
