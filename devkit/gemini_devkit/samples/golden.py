"""Golden sets for the demo: sample media of every task with the true fields it was made from.

The samples come from the same generators as a seeded day (day.py), from a random stream of their
own, so a golden set never shares content with the days it measures and is the same every time.
"""

from __future__ import annotations

import random

from gemini_assets.core.stages.golden import GoldenAddition, GoldenSets, GoldenUpload
from gemini_devkit.samples.day import SAMPLE_MAKERS, Sample

GOLDEN_SEEDER = "golden-seed"  # added_by of the demo's golden items


def golden_samples(task: str, count: int, seed: int = 0) -> list[Sample]:
    """``count`` valid uploads for ``task``, each with its ``expected`` fields (the labels)."""
    try:
        make = SAMPLE_MAKERS[task]
    except KeyError:
        raise ValueError(f"no sample generator for {task!r}; known: {sorted(SAMPLE_MAKERS)}") from None
    rng = random.Random(f"golden-{task}-{seed}")  # noqa: S311 - reproducible sample data, not security
    return [make(rng, index) for index in range(count)]


def seed_golden_sets(
    sets: GoldenSets, count: int, tasks: list[str] | None = None, seed: int = 0
) -> dict[str, list[GoldenAddition]]:
    """Add ``count`` labelled samples per task (every task with a generator by default); samples
    already in a set are left as they are, so seeding twice adds nothing."""
    added: dict[str, list[GoldenAddition]] = {}
    for task in tasks or sorted(SAMPLE_MAKERS):
        added[task] = [
            sets.add(
                task,
                sample.name,
                sample.data,
                sample.expected,
                GoldenUpload.model_validate(sample.sidecar),
                added_by=GOLDEN_SEEDER,
            )
            for sample in golden_samples(task, count, seed)
        ]
    return added
