"""Rolling back a prompt release: re-run a day pinned to an earlier task version, restore a table."""

import dagster as dg
import pytest
from click.testing import CliRunner

from gemini_assets.cli import main
from gemini_assets.core.storage.tables import partition_versions, read_partition
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import default_resources
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.samples.day import seed_day

# Whole-day materializations, repeated and pinned: slow.
pytestmark = pytest.mark.slow

DAY = "2026-11-17"


def run(pins=None, raise_on_error=True):
    config = {"resources": {"catalog": {"config": {"pinned_versions": pins or {}}}}}
    return dg.materialize(
        ASSETS, partition_key=DAY, resources=default_resources(), run_config=config, raise_on_error=raise_on_error
    )


def calls(tmp_path) -> int:
    return sum(line["method"] == "generateContent" for line in read_served_log(tmp_path / "emulator"))


def versions(store) -> set[str]:
    return set(read_partition(store, "validated_records", DAY)["task_version"])


def test_rerun_pinned_to_earlier_version_then_restore(store, tmp_path):
    seed_day(store, DAY, 10)
    assert run().success and versions(store) == {"1.1.0"}
    first = calls(tmp_path)

    assert run({"product_recognition": "1.0.0"}).success
    assert versions(store) == {"1.0.0"}
    assert calls(tmp_path) > first  # a different prompt is a different question
    hashes = set(read_partition(store, "validated_records", DAY)["prompt_hash"])
    assert len(hashes) == 1 and len(partition_versions(store, "validated_records", DAY)) == 1

    before = calls(tmp_path)
    assert run({"product_recognition": "1.1.0"}).success and versions(store) == {"1.1.0"}
    assert calls(tmp_path) == before  # going back to a version already answered costs nothing

    result = CliRunner().invoke(main, ["tables", "restore", "validated_records", "review_queue", "--date", DAY])
    assert result.exit_code == 0, result.output
    assert versions(store) == {"1.0.0"}
    assert len(partition_versions(store, "validated_records", DAY)) == 3
    history = CliRunner().invoke(main, ["tables", "history", "validated_records", "--date", DAY])
    assert len(history.output.split()) == 3


def test_unknown_pin_fails_fast_with_a_clear_message(store):
    seed_day(store, DAY, 3)
    result = run({"product_recognition": "9.9.9"}, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "cannot pin product_recognition=9.9.9: known versions ['1.0.0', '1.1.0']" in str(
        failure.event_specific_data.error
    )
