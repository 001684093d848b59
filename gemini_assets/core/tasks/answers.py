"""The answer schema of each task: pydantic models whose JSON schema is sent as the response schema.

Field limits (lengths, array sizes, enums) are the acceptance criteria the prompt states, enforced
again when the answer is parsed: a model that ignores the schema still cannot get past them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ColorName = Literal["red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray"]
ProductCategory = Literal["apparel", "electronics", "food", "furniture", "kitchenware", "toy", "stationery", "other"]


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
