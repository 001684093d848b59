"""Every hostile input of notes/media.md §3.1 gets its expected verdict, and nothing is lost."""

import json
import re

import pytest

from gemini_assets.core.contracts.reasons import QUARANTINE_DOCS as REASON_DOCS
from gemini_assets.core.media.policy import DEFAULT_POLICY
from gemini_assets.core.media.probe import Prober
from gemini_assets.core.stages.intake import scan_landing, validate_and_store
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_assets_tests.core.media.hostile import hostile_corpus
from gemini_assets_tests.core.media.strip_property import strip_failures
from gemini_assets_tests.landing import land

DAY = "2026-11-21"
# What a reason_detail must not show: errno numbers, Python exception names, absolute paths.
INTERNALS = re.compile(r"\[Errno|\b[A-Z]\w*(Error|Exception)\b|(^|[\s'\"(:])/\w+/")


@pytest.fixture(scope="module")
def corpus():
    return hostile_corpus()


@pytest.fixture(scope="module")
def prober():
    with Prober(DEFAULT_POLICY.probe) as shared:
        yield shared


def land_all(store, cases) -> None:
    for case in cases:
        land(store, f"landing/{DAY}/{case.task}/uploader/{case.name}", case.data)


def test_each_hostile_input_gets_its_expected_verdict(store, corpus, prober):
    land_all(store, corpus)
    rows = scan_landing(store, DAY)
    assert len(rows) == len(corpus)
    verdicts, details = {}, {}
    for row in rows:
        result = validate_and_store(store, row, DAY, DEFAULT_POLICY, TaskCatalog(), prober)
        if result.accepted:
            verdicts[row.file_name] = None
        else:
            verdicts[row.file_name] = result.quarantined.reason_code
            details[row.file_name] = result.quarantined.reason_detail
            detail = result.quarantined.reason_detail
            assert detail and not INTERNALS.search(detail) and store.root_path not in detail, (row.file_name, detail)
            record = store.read_json(f"{result.quarantined.quarantine_key}/reason.json")
            assert record["reason_code"] == verdicts[row.file_name]
            assert store.root_path not in json.dumps(record), record  # diagnostics name keys, not paths
    expected = {case.name: case.expected for case in corpus}
    assert verdicts == expected, {n: (verdicts[n], details.get(n)) for n in expected if verdicts[n] != expected[n]}
    assert {code for code in verdicts.values() if code} <= {str(code) for code in REASON_DOCS}


def test_corpus_covers_the_documented_reasons(corpus):
    covered = {case.expected for case in corpus}
    # Reasons not in the corpus are covered by their own tests (policy limits, probe child, names, sidecars).
    elsewhere = {
        "file_too_large",
        "unknown_task",
        "unsafe_name",
        "duration_out_of_range",
        "probe_timeout",
        "probe_crashed",
        "invalid_sidecar",
        "no_consent",
        "not_regular_file",  # links, FIFOs and devices: test_intake.py
        "changed_during_ingest",  # replaced or deleted between the steps: defs/test_crash_safe_days.py
    }
    assert {str(code) for code in REASON_DOCS} - elsewhere <= covered


def test_every_accepted_hostile_input_can_be_stripped_and_sent(store, corpus, prober):
    land_all(store, corpus)
    accepted = []
    for row in scan_landing(store, DAY):
        verdict = validate_and_store(store, row, DAY, DEFAULT_POLICY, TaskCatalog(), prober)
        if verdict.accepted:
            accepted.append(verdict.accepted)
    assert len(accepted) == sum(1 for case in corpus if case.expected is None)
    assert strip_failures(store, accepted, prober) == {}
