"""Canary releases without Dagster: the plan, the per-item split, the gate's verdicts, decisions."""

from __future__ import annotations

import hashlib

import pytest

from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.contracts.errors import ConfigurationError
from gemini_assets.core.stages.releases import Figures, decide, judge
from gemini_assets.core.tasks.catalog import VERSIONS, TaskCatalog
from gemini_assets.core.tasks.releases import Decision, Thresholds, load_plan, load_states

TASK = "product_recognition"
SHAS = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(2000)]


def plan_file(tmp_path, text: str):
    path = tmp_path / "releases.yaml"
    path.write_text(text)
    return path


def catalog(store, tmp_path, text: str, pins=None) -> TaskCatalog:
    return TaskCatalog.load(store, plan_file(tmp_path, text), pins)


VERSION_CANARY = f"canaries:\n  {TASK}: {{version: '1.1.0', share: 0.25}}\n"


def test_a_version_canary_takes_its_share_of_the_content_and_the_rest_keep_the_baseline(store, tmp_path):
    tasks = catalog(store, tmp_path, VERSION_CANARY)
    versions = [tasks.for_item(TASK, sha).version for sha in SHAS]
    assert 0.22 < versions.count("1.1.0") / len(SHAS) < 0.28
    assert set(versions) == {"1.0.0", "1.1.0"}  # baseline by default: the highest version below
    assert [tasks.for_item(TASK, sha).version for sha in SHAS] == versions  # by content: stable
    assert tasks.get(TASK).version == "1.0.0" and tasks.versions_today(TASK) == ["1.0.0", "1.1.0"]
    pinned = catalog(store, tmp_path, VERSION_CANARY, {TASK: "1.1.0"})
    assert {pinned.for_item(TASK, sha).version for sha in SHAS} == {"1.1.0"} and pinned.versions_today(TASK) == [
        "1.1.0"
    ]
    assert TaskCatalog().for_item(TASK, SHAS[0]).version == "1.1.0"  # no plan: the current version


def test_a_model_canary_sets_the_model_of_its_share(store, tmp_path):
    tasks = catalog(store, tmp_path, f"canaries:\n  {TASK}: {{model: gpt-5.5, share: 0.5}}\n")
    models = {tasks.model_for(TASK, sha) for sha in SHAS}
    assert models == {"gpt-5.5", None}  # None: the routes decide
    assert tasks.model_for("document_extraction", SHAS[0]) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("canaries:\n  nope: {version: '1.0.0'}\n", "unknown task 'nope'"),
        (f"canaries:\n  {TASK}: {{version: '9.9.9'}}\n", "has no version '9.9.9'"),
        (f"canaries:\n  {TASK}: {{version: '1.1.0', model: x}}\n", "exactly one of `version` or `model`"),
        (f"canaries:\n  {TASK}: {{model: x, baseline: '1.0.0'}}\n", "only a version canary has one"),
        (f"canaries:\n  {TASK}: {{version: '1.1.0', share: 2}}\n", "less than or equal to 1"),
        (f"canaries:\n  {TASK}: {{version: '1.1.0', thresholds: {{min_acuracy: 1}}}}\n", "min_acuracy"),
        ("canaries: [", "invalid"),
    ],
)
def test_a_bad_plan_is_refused_with_what_is_wrong(tmp_path, text, message):
    with pytest.raises(ConfigurationError, match=message):
        load_plan(plan_file(tmp_path, text), VERSIONS)


def test_a_missing_plan_file_names_the_variable(tmp_path):
    with pytest.raises(ConfigurationError, match="GEMINI_ASSETS_RELEASES"):
        load_plan(tmp_path / "nothing.yaml", VERSIONS)


THRESHOLDS = Thresholds(min_golden_items=10, min_live_items=2, min_golden_accuracy=0.8, max_cost_per_correct_usd=0.01)


@pytest.mark.parametrize(
    ("found", "decision", "reason"),
    [
        (Figures(5, 9, 1.0, 1.0, 0.001), "continue", "9 golden answers, 10 needed"),
        (Figures(1, 10, 1.0, 1.0, 0.001), "continue", "1 live items, 2 needed"),
        (Figures(5, 10, 0.8, 0.95, 0.01), "promoted", "golden accuracy 0.8 >= 0.8"),
        (Figures(5, 10, 0.7, 1.0, 0.001), "rolled_back", "golden accuracy 0.7 < 0.8"),
        (Figures(5, 10, 0.9, 0.94, 0.001), "rolled_back", "valid output rate 0.94 < 0.95"),
        (Figures(5, 10, 0.9, 1.0, 0.02), "rolled_back", "cost per correct record 0.02 > 0.01"),
        (Figures(5, 10, 0.9, 1.0, None), "rolled_back", "cost per correct record unknown"),
    ],
)
def test_the_gate_promotes_only_over_the_minimum_sample_and_every_threshold(found, decision, reason):
    verdict, reasons = judge(THRESHOLDS, found)
    assert verdict == decision and any(reason in text for text in reasons), reasons


def test_decisions_by_hand_pin_and_unpin_and_are_audited(store, tmp_path):
    audit = AuditLog(store, tmp_path / "keys" / "audit_ed25519.pem")
    tasks = catalog(store, tmp_path, VERSION_CANARY)
    with pytest.raises(ConfigurationError, match="no canary is running"):
        decide(store, audit, catalog(store, tmp_path, ""), TASK, Decision.ROLLED_BACK, "ana")

    promoted = decide(store, audit, tasks, TASK, Decision.PROMOTED, "ana", reasons=["looks right"])
    assert (promoted.stable_version, promoted.previous_version, promoted.decided_by) == ("1.1.0", "1.0.0", "ana")
    after = catalog(store, tmp_path, VERSION_CANARY)  # the plan still names the canary: it is decided
    assert after.releases.active(TASK) is None and {after.for_item(TASK, s).version for s in SHAS[:50]} == {"1.1.0"}

    undone = decide(store, audit, after, TASK, Decision.ROLLED_BACK, "ben")
    assert (undone.stable_version, undone.candidate) == ("1.0.0", "version 1.1.0")
    assert catalog(store, tmp_path, "").get(TASK).version == "1.0.0"  # pinned, with or without a plan
    assert load_states(store, [TASK])[TASK].decided_by == "ben"

    day = promoted.decided_at.date().isoformat()
    events = [e for e in audit.read(day) if e["event"].startswith("canary_")]
    assert [(e["event"], e["decided_by"], e["pinned_version"]) for e in events] == [
        ("canary_promoted", "ana", "1.1.0"),
        ("canary_rolled_back", "ben", "1.0.0"),
    ]
    assert audit.verify(day).ok
