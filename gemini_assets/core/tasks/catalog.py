"""The task catalog: per task a versioned prompt, a pydantic output model and its limits.

The output model's JSON schema is sent as the response schema; the prompt hash and the task
version travel with every output so that a record can always be traced to what produced it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gemini_assets.core.output.filters import OutputPolicy, redact_text

ColorName = Literal[
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray"
]
ProductCategory = Literal[
    "apparel", "electronics", "food", "furniture", "kitchenware", "toy", "stationery", "other"
]


class ProductRecognition(BaseModel):
    """What a product photo shows, in fixed fields."""

    model_config = ConfigDict(extra="forbid")

    product_name: str = Field(max_length=80, description="Short name of the main product, e.g. 'red ceramic mug'.")
    category: ProductCategory = Field(description="Best matching category; 'other' when none fits.")
    dominant_colors: list[ColorName] = Field(min_length=1, max_length=3, description="Up to 3 main colours.")
    description: str = Field(max_length=300, description="One factual sentence about the image.")
    confidence: float = Field(ge=0.0, le=1.0, description="Your confidence in the category, 0..1.")


DocumentType = Literal["invoice", "receipt", "contract", "letter", "form", "report", "other"]
SceneType = Literal["indoor", "outdoor", "screen_recording", "product_demo", "other"]
AudioType = Literal["speech", "music", "noise", "mixed", "silence", "other"]


class KeyField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=60)
    value: str = Field(max_length=200)


class DocumentExtraction(BaseModel):
    """The document's type, title and key fields."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=120, description="Title or first heading; '' if none.")
    document_type: DocumentType = Field(description="Best matching type; 'other' when none fits.")
    summary: str = Field(max_length=500, description="Two sentences at most.")
    key_fields: list[KeyField] = Field(max_length=20, description="Labelled values printed in the document.")
    confidence: float = Field(ge=0.0, le=1.0)


class VideoSummary(BaseModel):
    """What a video shows."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(max_length=500, description="What happens, in at most three sentences.")
    scene_type: SceneType
    topics: list[str] = Field(max_length=5, description="Up to 5 short topics.")
    has_speech: bool
    confidence: float = Field(ge=0.0, le=1.0)


class AudioSummary(BaseModel):
    """What a recording contains."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(max_length=500, description="What is heard, in at most three sentences.")
    audio_type: AudioType
    topics: list[str] = Field(max_length=5, description="Up to 5 short topics.")
    confidence: float = Field(ge=0.0, le=1.0)


@dataclass(frozen=True)
class TaskSpec:
    name: str
    version: str
    media_kinds: frozenset[str]
    output_model: type[BaseModel]
    system_prompt: str
    instructions: str
    model: str = "gemini-3.8-flash"
    max_output_tokens: int = 1024
    min_confidence: float = 0.5
    output_policy: OutputPolicy = OutputPolicy()
    # Uploads without `consent: true` in their sidecar are quarantined (no_consent).
    requires_consent: bool = True

    @property
    def response_schema(self) -> dict:
        return self.output_model.model_json_schema()

    @property
    def prompt_hash(self) -> str:
        payload = json.dumps(
            [self.version, self.system_prompt, self.instructions, self.response_schema], sort_keys=True
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def user_text(self, context: str | None) -> str:
        """The text part sent with the media. The uploader's context is PII-redacted first:
        free text typed by a person must not carry contact or payment data to the provider."""
        lines = [self.instructions]
        if context:
            redacted, _ = redact_text(context.strip()[:500])
            lines.append(f"Context: {redacted}")
        return "\n".join(lines)


PRODUCT_RECOGNITION = TaskSpec(
    name="product_recognition",
    version="1.0.0",
    media_kinds=frozenset({"image"}),
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
    media_kinds=frozenset({"document"}),
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
    media_kinds=frozenset({"video"}),
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
    media_kinds=frozenset({"audio"}),
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


# The current version of each task: what runs unless a run pins another one.
CATALOG: dict[str, TaskSpec] = {
    name: versions[max(versions, key=_version_key)] for name, versions in VERSIONS.items()
}

# Run-wide pins (task -> version), set from run config by the Dagster layer before any lookup.
_pins: dict[str, str] = {}


def pin_versions(pins: dict[str, str]) -> None:
    """Make ``get_task(name)`` return the pinned version; fails fast on an unknown pin."""
    for name, version in pins.items():
        if version not in VERSIONS.get(name, {}):
            known = sorted(VERSIONS.get(name, {}))
            raise KeyError(f"cannot pin {name}={version}: known versions {known}")
    _pins.clear()
    _pins.update(pins)


def get_task(name: str, version: str | None = None) -> TaskSpec:
    """A task by name: the given version, else the run's pinned one, else the current one."""
    if name not in VERSIONS:
        raise KeyError(f"unknown task {name!r}; known: {sorted(VERSIONS)}")
    wanted = version or _pins.get(name)
    if wanted is None:
        return CATALOG[name]
    try:
        return VERSIONS[name][wanted]
    except KeyError:
        raise KeyError(f"task {name!r} has no version {wanted!r}; known: {sorted(VERSIONS[name])}") from None


def task_kinds() -> dict[str, set[str]]:
    return {name: set(task.media_kinds) for name, task in CATALOG.items()}
