"""The real-world corpus: files from other projects' test suites with the verdicts they must get.

It lives beside the checkout (`../shared/corpora/realworld`, with sources and licences) and is
never copied into this repository; GEMINI_ASSETS_REALWORLD_CORPUS points elsewhere. `hard` rows
of its manifest must agree with our verdict; `policy` rows accept either verdict.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets_tests.landing import land

REPO = Path(__file__).resolve().parents[2]
DEFAULT_FOLDER = REPO.parent / "shared" / "corpora" / "realworld"


@dataclass(frozen=True)
class CorpusFile:
    relpath: str
    task: str
    expected: str  # accept | reject
    level: str  # hard | policy
    why: str


def corpus_folder() -> Path:
    """The corpus folder; the test is skipped, naming the folder, where it is absent."""
    folder = Path(os.environ.get("GEMINI_ASSETS_REALWORLD_CORPUS") or DEFAULT_FOLDER)
    if not (folder / "manifest.csv").is_file():
        pytest.skip(f"the real-world corpus is absent: no {folder / 'manifest.csv'}")
    return folder


def read_manifest(folder: Path) -> list[CorpusFile]:
    with open(folder / "manifest.csv", newline="") as handle:
        return [
            CorpusFile(row["relpath"], row["task"], row["expected"], row["level"], row["why"])
            for row in csv.DictReader(handle)
        ]


def land_corpus(store: ObjectStore, day: str, folder: Path) -> dict[str, CorpusFile]:
    """Every file under its task with a consenting sidecar; landing key -> manifest row."""
    landed = {}
    for item in read_manifest(folder):
        relative = Path(item.relpath).relative_to(item.task)  # <task>/<source project>/<file>
        key = land(store, f"landing/{day}/{item.task}/{relative.as_posix()}", (folder / item.relpath).read_bytes())
        landed[key] = item
    return landed
