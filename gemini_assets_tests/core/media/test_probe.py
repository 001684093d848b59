"""The parser child: limits from the policy, timeouts and crashes cost one file, no leaked process."""

import dataclasses

import pytest

from gemini_assets.core.media.policy import DEFAULT_POLICY, MIB, MediaPolicy
from gemini_assets.core.media.probe import Prober
from gemini_assets.core.stages.intake import scan_landing, validate_and_store
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_assets_tests.landing import land
from gemini_devkit.samples.media import make_audio, make_video

DAY = "2026-11-23"


def verdict(store, policy: MediaPolicy, prober: Prober | None = None) -> dict[str, str | None]:
    out = {}
    for row in scan_landing(store, DAY):
        result = validate_and_store(store, row, DAY, policy, TaskCatalog(), prober)
        out[row.file_name] = None if result.accepted else result.quarantined.reason_code
    return out


def test_policy_limits_reject_before_and_after_parsing(store):
    land(store, f"landing/{DAY}/audio_summary/u/long.wav", make_audio("wav", seconds=3.0))
    land(store, f"landing/{DAY}/audio_summary/u/short.wav", make_audio("wav", seconds=1.0))
    land(store, f"landing/{DAY}/video_summary/u/big.mp4", make_video("mp4", seconds=1.0))
    policy = dataclasses.replace(
        DEFAULT_POLICY,
        audio=dataclasses.replace(DEFAULT_POLICY.audio, max_duration_s=2.0),
        video=dataclasses.replace(DEFAULT_POLICY.video, max_bytes=1000),
    )
    assert verdict(store, policy) == {
        "long.wav": "duration_out_of_range",
        "short.wav": None,
        "big.mp4": "file_too_large",
    }


def test_a_parser_that_overruns_its_time_is_killed_and_the_next_file_still_probes(store):
    land(store, f"landing/{DAY}/video_summary/u/a.mp4", make_video("mp4", seconds=1.0))
    slow = dataclasses.replace(
        DEFAULT_POLICY, probe=dataclasses.replace(DEFAULT_POLICY.probe, timeout_s=0.0, timeout_s_per_gib=0.0)
    )
    with Prober(slow.probe) as prober:
        assert verdict(store, slow, prober) == {"a.mp4": "probe_timeout"}
        assert prober._process is None  # killed, not left running
    with Prober(DEFAULT_POLICY.probe) as prober:
        assert verdict(store, DEFAULT_POLICY, prober) == {"a.mp4": None}


def test_a_child_that_dies_under_its_memory_limit_is_a_crash_not_a_failed_run(store):
    land(store, f"landing/{DAY}/audio_summary/u/a.wav", make_audio("wav"))
    starved = dataclasses.replace(
        DEFAULT_POLICY, probe=dataclasses.replace(DEFAULT_POLICY.probe, memory_bytes=64 * MIB)
    )
    with Prober(starved.probe) as prober:
        assert verdict(store, starved, prober) == {"a.wav": "probe_crashed"}


def test_closing_the_prober_ends_its_child(store):
    land(store, f"landing/{DAY}/audio_summary/u/a.wav", make_audio("wav"))
    prober = Prober(DEFAULT_POLICY.probe)
    assert verdict(store, DEFAULT_POLICY, prober) == {"a.wav": None}
    process = prober._process
    assert process is not None and process.is_alive()
    prober.close()
    assert not process.is_alive() and process.exitcode is not None


@pytest.mark.parametrize("policy_field", ["image", "audio", "video", "document"])
def test_every_kind_has_size_limit_and_extensions(policy_field):
    kind_policy = DEFAULT_POLICY.kind_policy(policy_field)
    assert kind_policy.max_bytes > 0 and DEFAULT_POLICY.extensions_for(policy_field)
    for mime in kind_policy.mime_extensions:
        assert DEFAULT_POLICY.kind_of_mime(mime) == policy_field
