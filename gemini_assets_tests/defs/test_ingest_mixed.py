"""A seeded day with every task runs end to end; non-image usage follows the measured media."""

import dagster as dg
import pytest

from gemini_assets.core.storage.tables import read_partition
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import default_resources
from gemini_devkit.samples.day import ALL_TASKS, seed_day

# Whole-day materializations through Dagster and the emulator: slow.
pytestmark = pytest.mark.slow

DAY = "2026-11-18"


def test_mixed_day_reaches_records_with_true_token_counts(store):
    seeded = seed_day(store, DAY, 20, task=ALL_TASKS)
    result = dg.materialize(ASSETS, partition_key=DAY, resources=default_resources())
    assert result.success
    media = read_partition(store, "validated_media", DAY)
    assert len(media) == seeded.valid and set(media["media_kind"]) == {"image", "audio", "video", "document"}
    outputs = read_partition(store, "model_outputs", DAY).merge(
        media[["media_id", "media_kind", "duration_s", "pages"]], on="media_id"
    )
    assert set(outputs["status"]) == {"ok"}
    for row in outputs.itertuples():
        if row.media_kind == "audio":
            assert row.audio_input_tokens >= int(row.duration_s * 32)
        if row.media_kind == "video":
            assert row.video_input_tokens % 258 == 0 and row.video_input_tokens >= 258 * int(row.duration_s)
        if row.media_kind == "document":
            assert row.document_input_tokens == row.pages * 560  # Gemini 3 default: MEDIUM per page
    records = read_partition(store, "validated_records", DAY)
    review = read_partition(store, "review_queue", DAY)
    assert len(records) + len(review) == seeded.valid
    assert set(records["task"]) >= {"document_extraction", "video_summary", "audio_summary"}
