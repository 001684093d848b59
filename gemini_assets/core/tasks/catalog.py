"""The task catalog: per task a versioned prompt, an answer model and its limits.

The answer model's JSON schema is sent as the response schema; the prompt hash and the task
version travel with every output so that a record can always be traced to what produced it.
Which version a run uses is an argument (``TaskCatalog(pins, releases)``), never process-wide state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gemini_assets.core.contracts.enums import MediaKind
from gemini_assets.core.contracts.errors import ConfigurationError, UnknownTask
from gemini_assets.core.privacy.filters import OutputPolicy, TextFilter
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.tasks.answers import AudioSummary, DocumentExtraction, ProductRecognition, VideoSummary
from gemini_assets.core.tasks.releases import Releases, load_plan, load_states


@dataclass(frozen=True)
class TaskSpec:
    name: str
    version: str
    media_kinds: frozenset[MediaKind]
    output_model: type[BaseModel]
    system_prompt: str
    instructions: str
    model: str = "gemini-3.8-flash"
    max_output_tokens: int = 1024
    min_confidence: float = 0.5
    # task_quality recommends the lowest confidence threshold whose accepted golden answers are
    # right at least this often, once at least ``threshold_min_answers`` answers support it
    # (docs/quality.md). A recommendation, never applied by itself: min_confidence decides review.
    target_precision: float = 0.9
    threshold_min_answers: int = 20
    output_policy: OutputPolicy = field(default_factory=OutputPolicy)
    # Uploads without `consent: true` in their sidecar are quarantined (no_consent).
    requires_consent: bool = True

    @property
    def response_schema(self) -> dict[str, Any]:
        return self.output_model.model_json_schema()

    @property
    def prompt_hash(self) -> str:
        payload = json.dumps(
            [self.version, self.system_prompt, self.instructions, self.response_schema], sort_keys=True
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def user_text(self, context: str | None, text_filter: TextFilter) -> str:
        """The text part sent with the media. The uploader's context is PII-redacted first:
        free text typed by a person must not carry contact or payment data to the provider."""
        lines = [self.instructions]
        if context:
            redacted, _ = text_filter.redact(context.strip()[:500])
            lines.append(f"Context: {redacted}")
        return "\n".join(lines)


PRODUCT_RECOGNITION = TaskSpec(
    name="product_recognition",
    version="1.0.0",
    media_kinds=frozenset({MediaKind.IMAGE}),
    output_model=ProductRecognition,
    system_prompt=(
        "You catalogue product photos for an online shop. Answer only with JSON matching the "
        "response schema. Never invent brand names or text you cannot see."
    ),
    instructions=(
        "Identify the main product in the image.\n"
        "Acceptance criteria:\n"
        "- product_name: at most 80 characters, generic (no brand unless printed on the product).\n"
        "- category: exactly one of the schema's values; use 'other' when unsure.\n"
        "- dominant_colors: 1 to 3 colours from the schema's list, most prominent first.\n"
        "- description: one factual sentence about what is visible.\n"
        "- confidence: 0..1; below 0.5 means a person should check."
    ),
    # A product photo's answer has no business containing contact data: a person looks at it.
    output_policy=OutputPolicy(pii_action="flag"),
)

_JSON_ONLY = "Answer only with JSON matching the response schema. Never invent content you cannot see or hear."

DOCUMENT_EXTRACTION = TaskSpec(
    name="document_extraction",
    version="1.0.0",
    media_kinds=frozenset({MediaKind.DOCUMENT}),
    output_model=DocumentExtraction,
    system_prompt=f"You extract structured data from business documents. {_JSON_ONLY}",
    instructions=(
        "Extract the document's type, title and labelled fields.\n"
        "Acceptance criteria:\n"
        "- document_type: exactly one of the schema's values; 'other' when unsure.\n"
        "- key_fields: only labelled values printed in the document, at most 20, verbatim.\n"
        "- summary: at most two sentences.\n"
        "- confidence: 0..1; below 0.5 means a person should check."
    ),
)

VIDEO_SUMMARY = TaskSpec(
    name="video_summary",
    version="1.0.0",
    media_kinds=frozenset({MediaKind.VIDEO}),
    output_model=VideoSummary,
    system_prompt=f"You summarise short user videos. {_JSON_ONLY}",
    instructions=(
        "Summarise the video.\n"
        "Acceptance criteria:\n"
        "- summary: at most three sentences about what is visible and audible.\n"
        "- scene_type: exactly one of the schema's values.\n"
        "- topics: at most 5, each a few words.\n"
        "- has_speech: true only if words are spoken.\n"
        "- confidence: 0..1; below 0.5 means a person should check."
    ),
)

AUDIO_SUMMARY = TaskSpec(
    name="audio_summary",
    version="1.0.0",
    media_kinds=frozenset({MediaKind.AUDIO}),
    output_model=AudioSummary,
    system_prompt=f"You summarise short audio recordings. {_JSON_ONLY}",
    instructions=(
        "Summarise the recording.\n"
        "Acceptance criteria:\n"
        "- summary: at most three sentences about what is heard.\n"
        "- audio_type: exactly one of the schema's values.\n"
        "- topics: at most 5, each a few words.\n"
        "- confidence: 0..1; below 0.5 means a person should check."
    ),
)

# 1.1.0 sharpened the acceptance criteria; 1.0.0 stays so a day can be re-run pinned to it.
PRODUCT_RECOGNITION_1_1 = replace(
    PRODUCT_RECOGNITION,
    version="1.1.0",
    instructions=PRODUCT_RECOGNITION.instructions.replace(
        "- product_name: at most 80 characters, generic (no brand unless printed on the product).",
        "- product_name: at most 80 characters, generic (no brand unless printed on the product);\n"
        "  name the product's own colour, never the background's.",
    ),
)

VERSIONS: dict[str, dict[str, TaskSpec]] = {}
for _task in (PRODUCT_RECOGNITION, PRODUCT_RECOGNITION_1_1, DOCUMENT_EXTRACTION, VIDEO_SUMMARY, AUDIO_SUMMARY):
    VERSIONS.setdefault(_task.name, {})[_task.version] = _task


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


# The current version of each task: what runs unless a run or a release decision pins another one.
CURRENT: dict[str, TaskSpec] = {name: versions[max(versions, key=_version_key)] for name, versions in VERSIONS.items()}


def _below(name: str, releases: Releases) -> str | None:
    """A version canary's default baseline: the highest version under its candidate."""
    canary = releases.active(name)
    if canary is None or canary.version is None:
        return None
    older = [v for v in VERSIONS[name] if _version_key(v) < _version_key(canary.version)]
    return max(older, key=_version_key) if older else None


class TaskCatalog:
    """The tasks one run uses: the current versions, the ones a release decision or a run pins
    (re-run, rollback), and per item the canary's (core/tasks/releases.py)."""

    def __init__(self, pins: Mapping[str, str] | None = None, releases: Releases | None = None):
        for name, version in (pins or {}).items():
            if version not in VERSIONS.get(name, {}):
                known = sorted(VERSIONS.get(name, {}))
                raise ConfigurationError(f"cannot pin {name}={version}: known versions {known}")
        self.pins = dict(pins or {})
        self.releases = releases or Releases()

    @classmethod
    def load(cls, store: ObjectStore, plan_file: Path | None, pins: Mapping[str, str] | None = None) -> TaskCatalog:
        """The catalog of a run: its pins, the release plan and the release decisions in storage."""
        plan = load_plan(plan_file, VERSIONS)
        return cls(pins, Releases(plan, load_states(store, sorted(VERSIONS))))

    def get(self, name: str, version: str | None = None) -> TaskSpec:
        """A task by name: the given version, else this run's pinned one, else the released one
        (a canary's baseline, a decision's pin), else the current one."""
        if name not in VERSIONS:
            raise UnknownTask(f"unknown task {name!r}; known: {sorted(VERSIONS)}")
        return self._spec(
            name, version or self.pins.get(name) or self.releases.stable_version(name, _below(name, self.releases))
        )

    def for_item(self, name: str, sha256: str) -> TaskSpec:
        """The version one live item gets: a canary's share of the content goes to its candidate.
        A run's pin overrides the canary (a re-run or rollback asks for exactly that version)."""
        if name not in VERSIONS or name in self.pins:
            return self.get(name)
        return self._spec(name, self.releases.version_for(name, sha256, _below(name, self.releases)))

    def model_for(self, name: str, sha256: str) -> str | None:
        """The model a release sets for one item (a model canary's share, a promoted model); None: the routes decide."""
        return self.releases.model_for(name, sha256)

    def versions_today(self, name: str) -> list[str]:
        """Every version the task's items may get in this run: the stable one and a canary's."""
        found = [self.get(name).version]
        canary = self.releases.active(name)
        if name not in self.pins and canary is not None and canary.version not in (None, *found):
            found.append(str(canary.version))
        return found

    def pinned(self, name: str, version: str) -> TaskCatalog:
        """This catalog with one task fixed to a version for every item (the golden set of each version)."""
        return TaskCatalog({**self.pins, name: version}, self.releases)

    def _spec(self, name: str, wanted: str | None) -> TaskSpec:
        if wanted is None:
            return CURRENT[name]
        try:
            return VERSIONS[name][wanted]
        except KeyError:
            raise UnknownTask(f"task {name!r} has no version {wanted!r}; known: {sorted(VERSIONS[name])}") from None

    def names(self) -> list[str]:
        return sorted(VERSIONS)

    def kinds(self) -> dict[str, frozenset[MediaKind]]:
        """Media kinds each task accepts (the same in every version of a task)."""
        return {name: self.get(name).media_kinds for name in self.names()}
