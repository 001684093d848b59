"""Routing configuration: task × media kind × size → model, A/B challengers, per-model quotas.

One YAML file (package default `gemini_assets/config/routes.yaml`, or GEMINI_ASSETS_ROUTES)
validated with pydantic at load time, so a typo fails the run before any call with a message
naming the field, instead of silently routing everything to a default.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gemini_assets.core.contracts.enums import CallMode, Variant
from gemini_assets.core.contracts.errors import ConfigurationError
from gemini_assets.core.contracts.tables import ValidatedMediaRow

DEFAULT_ROUTES = Path(__file__).resolve().parents[2] / "config" / "routes.yaml"
MEDIA_KINDS = ("image", "audio", "video", "document", "*")
ROUTES_ENV = "GEMINI_ASSETS_ROUTES"


class RouteConfigError(ConfigurationError):
    """The routing file is missing or invalid; the message says what to fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Challenger(_Strict):
    model: str = Field(min_length=1)
    fraction: float = Field(ge=0.0, le=1.0)


class Route(_Strict):
    name: str = ""
    task: str = "*"
    media_kind: str = "*"
    min_bytes: int | None = Field(default=None, ge=0)
    min_duration_s: float | None = Field(default=None, ge=0)
    min_pages: int | None = Field(default=None, ge=0)
    model: str = Field(min_length=1)
    challenger: Challenger | None = None
    # online: generateContent now; batch: the Batch API (half price, up to 24 h). A run may override it.
    mode: CallMode = CallMode.ONLINE

    def matches(self, item: ValidatedMediaRow) -> bool:
        if self.task not in ("*", item.task):
            return False
        if self.media_kind not in ("*", item.media_kind):
            return False
        bounds = (
            (self.min_bytes, item.size_bytes),
            (self.min_duration_s, item.duration_s),
            (self.min_pages, item.pages),
        )
        return all(bound is None or (value or 0) >= bound for bound, value in bounds)


class Limits(_Strict):
    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)
    rpd: int | None = Field(default=None, gt=0)


class RoutingConfig(_Strict):
    routes: list[Route] = Field(min_length=1)
    limits: dict[str, Limits] = Field(default_factory=dict)

    def limits_for(self, model: str) -> Limits:
        return self.limits.get(model) or self.limits.get("default") or Limits()


@dataclass(frozen=True)
class RouteDecision:
    model: str
    variant: Variant
    route: str
    mode: CallMode = CallMode.ONLINE


def route_item(config: RoutingConfig, item: ValidatedMediaRow, fallback_model: str) -> RouteDecision:
    """The model for one validated_media row; the A/B split hashes the content, so it is stable."""
    for index, route in enumerate(config.routes):
        if not route.matches(item):
            continue
        name = route.name or f"route[{index}]"
        challenger = route.challenger
        if challenger and challenger.fraction > 0 and _bucket(name, item.sha256) < challenger.fraction:
            return RouteDecision(challenger.model, Variant.CHALLENGER, name, route.mode)
        return RouteDecision(route.model, Variant.PRIMARY, name, route.mode)
    return RouteDecision(fallback_model, Variant.PRIMARY, "task default")


def _bucket(route_name: str, sha256: str) -> float:
    digest = hashlib.sha256(f"{route_name}:{sha256}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def load_routing(path: str | Path | None = None) -> RoutingConfig:
    """The routing file at ``path`` (GEMINI_ASSETS_ROUTES), else the packaged default."""
    return _load(str(path or DEFAULT_ROUTES))


@lru_cache(maxsize=8)
def _load(path: str) -> RoutingConfig:
    try:
        document = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise RouteConfigError(f"routing file {path} does not exist (set {ROUTES_ENV} to a valid file)") from None
    except yaml.YAMLError as exc:
        raise RouteConfigError(f"routing file {path} is not valid YAML: {exc}") from None
    try:
        config = RoutingConfig.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise RouteConfigError(f"routing file {path} is invalid: {problems}") from None
    for route in config.routes:
        if route.media_kind not in MEDIA_KINDS:
            raise RouteConfigError(f"routing file {path}: media_kind {route.media_kind!r} is not one of {MEDIA_KINDS}")
    return config
