"""`gemini-assets release` and `gemini-assets golden`: canaries and golden items by hand, audited
under the OS user who runs the command."""

from __future__ import annotations

from click.testing import CliRunner

from gemini_assets.cli import main
from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.review.identity import os_user
from gemini_assets.core.review.workflow import Reviewer, find_item
from gemini_assets.core.stages.golden import load_golden_set
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_assets.core.tasks.releases import load_states
from gemini_assets_tests.core.stages.test_golden import DAY, TASK, reviewed_day


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def test_a_reviewed_record_joins_the_golden_set_with_one_command(store, tmp_path):
    audit = AuditLog(store, tmp_path / "keys" / "audit_ed25519.pem")
    media_id = reviewed_day(store)
    refused = cli("golden", "from-review", media_id)
    assert refused.exit_code == 4 and "no approved or edited record" in refused.output
    Reviewer(store, audit, TaskCatalog()).approve(find_item(store, media_id), note="right")

    added = cli("golden", "from-review", media_id)
    assert added.exit_code == 0, added.output
    (item,) = load_golden_set(store, TASK)
    assert f"{item.golden_id} added to the {TASK} golden set" in added.output
    assert (item.source, item.added_by, item.review_media_id) == ("review", os_user(), media_id)
    (event,) = [e for e in audit.read(DAY) if e["event"] == "golden_added"]
    assert (event["added_by"], event["golden_id"]) == (os_user(), item.golden_id) and audit.verify(DAY).ok
    assert "already in" in cli("golden", "from-review", media_id).output
    listed = cli("golden", "list", TASK)
    assert item.golden_id in listed.output and "review" in listed.output


def test_promote_and_roll_back_by_hand(store, tmp_path, monkeypatch):
    plan = tmp_path / "releases.yaml"
    plan.write_text(f"canaries:\n  {TASK}: {{version: '1.1.0', share: 0.1}}\n")
    monkeypatch.setenv("GEMINI_ASSETS_RELEASES", str(plan))
    status = cli("release", "status")
    assert status.exit_code == 0 and "version 1.1.0 on 10%" in status.output

    promoted = cli("release", "promote", TASK, "--reason", "golden set looks right")
    assert promoted.exit_code == 0, promoted.output
    assert f"promoted version 1.1.0 by {os_user()}" in promoted.output
    assert load_states(store, [TASK])[TASK].reasons == ["golden set looks right"]
    assert "promoted version 1.1.0" in cli("release", "status").output

    rolled = cli("release", "rollback", TASK, "--reason", "complaints")
    assert rolled.exit_code == 0 and "items now get version 1.0.0" in rolled.output
    assert TaskCatalog.load(store, plan).for_item(TASK, "ab" * 32).version == "1.0.0"
    pinned = cli("release", "rollback", TASK, "--reason", "back further", "--version", "1.1.0")
    assert pinned.exit_code == 0 and "items now get version 1.1.0" in pinned.output

    nothing = cli("release", "rollback", "document_extraction", "--reason", "x")
    assert nothing.exit_code == 3 and "no canary is running" in nothing.output
    assert cli("release", "promote", "no_such_task", "--reason", "x").exit_code == 4
    assert cli("release", "rollback", TASK, "--reason", "x", "--version", "9.9.9").exit_code == 4
    events = [
        e["event"]
        for e in AuditLog(store, tmp_path / "keys" / "audit_ed25519.pem").read(
            load_states(store, [TASK])[TASK].decided_at.date().isoformat()
        )
    ]
    assert events.count("canary_rolled_back") == 2 and events.count("canary_promoted") == 1
