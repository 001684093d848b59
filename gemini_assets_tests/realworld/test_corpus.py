"""Real files from other projects' test suites get the verdicts their manifest expects (issue 14).

The day runs through every asset on the emulator, as in production: what is accepted is also
stripped, sent and answered, and the conservation checks hold over all of it.
"""

import dagster as dg

from gemini_assets.core.contracts.enums import DeliveryMode
from gemini_assets.core.media.policy import DEFAULT_POLICY
from gemini_assets.core.media.probe import Prober
from gemini_assets.core.stages.intake import scan_landing, validate_and_store
from gemini_assets.core.storage.tables import read_partition
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import default_resources
from gemini_assets_tests.core.media.strip_property import strip_failures
from gemini_assets_tests.realworld.corpus import corpus_folder, land_corpus

DAY = "2026-11-23"


def verdicts(store) -> dict[str, tuple[str, str]]:
    """landing key -> (accept | reject, reason) for the day."""
    raw = read_partition(store, "raw_media", DAY).set_index("media_id")["landing_key"]
    accepted = read_partition(store, "validated_media", DAY)
    rejected = read_partition(store, "quarantined_media", DAY)
    found = {raw[m]: ("accept", "") for m in accepted["media_id"]}
    found |= {row.landing_key: ("reject", f"{row.reason_code}: {row.reason_detail}") for row in rejected.itertuples()}
    return found


def test_the_corpus_day_gets_the_manifest_verdicts_end_to_end(store):
    landed = land_corpus(store, DAY, corpus_folder())

    result = dg.materialize(ASSETS, partition_key=DAY, resources=default_resources())

    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [c.description for c in checks if not c.passed]
    found = verdicts(store)
    assert found.keys() == landed.keys()  # conservation: every landed file has exactly one verdict
    wrong = {
        key: (item.expected, *found[key], item.why)
        for key, item in landed.items()
        if item.level == "hard" and found[key][0] != item.expected
    }
    assert wrong == {}
    policy = sum(1 for item in landed.values() if item.level == "policy")
    assert policy < len(landed) and sum(1 for i in landed.values() if i.expected == "accept") > 100

    # Accepted means sendable: every accepted file was stripped and delivered, none stranded.
    plans = read_partition(store, "gemini_files", DAY)
    accepted = read_partition(store, "validated_media", DAY)
    assert len(plans) == len(accepted)
    blocked = plans[plans["delivery"] == str(DeliveryMode.BLOCKED)]
    assert blocked.empty, blocked[["media_id", "error"]].to_dict("records")
    outputs = read_partition(store, "model_outputs", DAY)
    assert set(outputs["media_id"]) == set(accepted["media_id"])
    # The MPO photos were sent as their primary image, and the table says so.
    notes = plans["sanitize_notes"].dropna()
    assert notes.str.contains("appended image").any(), notes.tolist()


def test_every_accepted_corpus_file_can_be_stripped_and_passes_validation_again(store):
    landed = land_corpus(store, DAY, corpus_folder())
    with Prober(DEFAULT_POLICY.probe) as prober:
        results = [
            validate_and_store(store, row, DAY, DEFAULT_POLICY, TaskCatalog(), prober)
            for row in scan_landing(store, DAY)
        ]
        accepted = [r.accepted for r in results if r.accepted is not None]
        assert len(accepted) > 100 and len(results) == len(landed)
        assert strip_failures(store, accepted, prober) == {}
