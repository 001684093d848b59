"""Who decided (issue 19): the CLI records the OS user, naming anyone else takes --as-admin and is
audited with both names, names are login-like, and `audit verify` checks every decision's identity."""

import os
import pwd

import pytest
from click.testing import CliRunner

from gemini_assets.cli import main
from gemini_assets.core.audit.identity import IdentityError
from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.config import load_settings
from gemini_assets.core.review.decisions import checked_reviewer, decisions_for_day
from gemini_assets.core.review.identity import reviewer_from_proxy_headers
from gemini_assets.core.review.workflow import Reviewer, find_item
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_assets_tests.test_review import DAY, GOOD_RECORD, queue

# Looked up the way the product does, by user id: the tests run as whoever runs them.
OS_USER = pwd.getpwuid(os.geteuid()).pw_name
OTHER = "someone-else" if OS_USER != "someone-else" else "another-one"


def run(*args):
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def audit_log(store) -> AuditLog:
    return AuditLog.from_settings(store, load_settings())  # the CLI's log and signing key


def decision_events(store) -> list[dict]:
    return [e for e in audit_log(store).read(DAY) if e.get("event") == "reviewed"]


@pytest.fixture
def item(store) -> str:
    return queue(store, product_recognition=GOOD_RECORD)["product_recognition"]


def test_the_os_user_is_recorded_and_user_cannot_change_it(store, item, monkeypatch):
    """Guards: a decision recorded under a name taken from the environment ($USER) or typed freely."""
    monkeypatch.setenv("USER", OTHER)
    monkeypatch.setenv("LOGNAME", OTHER)  # what getpass.getuser() would have believed
    code, out = run("review", "reject", item, "--note", "blurry")
    assert code == 0 and f"by {OS_USER} at" in out, out
    (decision,) = decisions_for_day(store, DAY)
    assert (decision.reviewer, decision.recorded_by, decision.identity) == (OS_USER, OS_USER, "os_user")
    (event,) = decision_events(store)
    assert (event["reviewer"], event["recorded_by"], event["identity"]) == (OS_USER, OS_USER, "os_user")
    assert event["decision_id"] == decision.decision_id
    # naming yourself is not an override
    assert run("review", "approve", item, "--reviewer", OS_USER)[0] == 0
    assert decisions_for_day(store, DAY)[-1].identity == "os_user"
    code, out = run("audit", "verify", "--date", DAY)
    assert code == 0 and f"{DAY}: ok (2 events" in out, out


def test_another_name_is_refused_without_the_admin_option_and_audited_with_it(store, item):
    """Guards: `--reviewer ana` recording a decision in ana's name with no trace of who typed it."""
    for command in (["approve", item], ["reject", item], ["edit", item, "--set", "category=toy"]):
        code, out = run("review", *command, "--reviewer", OTHER)
        assert code == 4 and f"--reviewer {OTHER} is not you" in out and "--as-admin" in out, out
        assert "Traceback" not in out
    code, out = run("review", "approve", item, "--as-admin")  # an override names whom it is for
    assert code == 4 and "give --reviewer NAME too" in out
    assert decisions_for_day(store, DAY) == [] and decision_events(store) == []  # nothing written

    code, out = run("review", "approve", item, "--reviewer", OTHER, "--as-admin", "--note", "ana said yes by phone")
    assert code == 0 and f"by {OTHER} (admin override, recorded by {OS_USER})" in out, out
    (decision,) = decisions_for_day(store, DAY)
    assert (decision.reviewer, decision.recorded_by, decision.identity) == (OTHER, OS_USER, "admin_override")
    (event,) = decision_events(store)
    assert (event["reviewer"], event["recorded_by"], event["identity"]) == (OTHER, OS_USER, "admin_override")
    assert run("audit", "verify", "--date", DAY)[0] == 0


@pytest.mark.parametrize("name", ["../x", "x" * 100_000, "ana maria", "ana\x00", "ana\x1b[2J", "", "ana/ben"])
def test_a_bad_name_is_rejected_everywhere_it_can_enter(store, item, name):
    """Guards: one entry point (the Python API, golden sets, a proxy header) skipping the name check."""
    code, out = run("review", "reject", item, "--reviewer", name, "--as-admin")
    assert code == 2 and "reviewer name" in out and "Traceback" not in out
    with pytest.raises(IdentityError, match="invalid reviewer name"):
        Reviewer(store, audit_log(store), TaskCatalog(), reviewer=name)
    with pytest.raises(IdentityError, match="invalid reviewer name"):
        checked_reviewer(name)  # golden sets' added_by
    with pytest.raises(IdentityError, match="X-Forwarded-User"):
        reviewer_from_proxy_headers({"X-Forwarded-User": name})
    assert decisions_for_day(store, DAY) == [] and decision_events(store) == []


def test_a_web_request_is_decided_by_the_user_the_proxy_authenticated(store, item):
    """Guards: a web entry point recording a decision with no authenticated user."""
    for headers in ({}, {"X-Forwarded-User": ""}, {"X-Forwarded-User": "ana", "x-forwarded-user": "ben"}):
        with pytest.raises(IdentityError, match="X-Forwarded-User"):
            reviewer_from_proxy_headers(headers)
    identity = reviewer_from_proxy_headers({"x-forwarded-user": "jane.doe@example.com"})
    reviewer = Reviewer(store, audit_log(store), TaskCatalog(), reviewer=identity)
    reviewer.reject(find_item(store, item), note="not a mug")
    (event,) = decision_events(store)
    assert (event["reviewer"], event["recorded_by"], event["identity"]) == ("jane.doe@example.com", OS_USER, "proxy")
    assert audit_log(store).verify(DAY).ok


@pytest.mark.parametrize(
    "identity, problem",
    [
        ({"reviewer": "../../etc/passwd", "recorded_by": OS_USER, "identity": "admin_override"}, "'/' is not allowed"),
        ({"reviewer": "ana\x1b[2J", "recorded_by": OS_USER, "identity": "admin_override"}, "'\\x1b' is not allowed"),
        ({"reviewer": OTHER, "recorded_by": OS_USER, "identity": "os_user"}, "recorded as the OS user"),
        ({"reviewer": OTHER, "identity": "admin_override"}, "recorded_by None: missing"),
        ({"reviewer": "ana"}, "no reviewer identity source"),  # a free-text name of the old kind
        ({"reviewer": "ana", "recorded_by": OS_USER, "identity": "trust-me"}, "no reviewer identity source"),
    ],
)
def test_verify_fails_on_a_decision_event_without_a_valid_identity(store, item, identity, problem):
    """Guards: a decision event written around the entry points (its chain and checkpoint intact)
    naming nobody, a path or an escape sequence, or claiming an OS user who did not record it."""
    log = audit_log(store)
    Reviewer(store, log, TaskCatalog(), reviewer=OS_USER).reject(find_item(store, item))
    forged = {"event": "reviewed", "media_id": item, "action": "approve", "decision_id": "d-1", **identity}
    log.append(DAY, [forged])  # signed like any event: only the identity check can tell
    code, out = run("audit", "verify", "--date", DAY)
    assert code == 1 and f"{DAY}: FAILED" in out, out
    assert "record 1: review decision without a valid reviewer identity" in out and problem in out, out
    assert "record 0" not in out  # the genuine decision before it is fine
    assert "\x1b" not in out  # a reviewer's escape sequence is shown escaped, never sent to the terminal


def test_an_edited_reviewer_in_the_log_fails_verify(store, item):
    """Guards: someone changing who decided in a stored event (the chain covers the identity)."""
    run("review", "reject", item)
    log = audit_log(store)
    [segment] = [o.key for o in store.walk_files(f"audit/log/{DAY}")]
    store.write_bytes(
        segment, store.read_bytes(segment).replace(f'"reviewer":"{OS_USER}"'.encode(), b'"reviewer":"boss"')
    )
    AuditLog.forget_cached_heads()
    problems = log.verify(DAY).problems
    assert any("content edited" in p for p in problems) and any("recorded as the OS user" in p for p in problems)
