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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gemini_assets.core.contracts.enums import CallMode, Provider, Variant
from gemini_assets.core.contracts.errors import ConfigurationError
from gemini_assets.core.contracts.tables import ValidatedMediaRow
from gemini_assets.core.gateway.provider_media import AUDIO_FORMATS, PROVIDER_MEDIA

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
    provider: Provider = Provider.GEMINI
    # False (default): a shadow test, the challenger answers its share too and never replaces the
    # champion's record; True: its answer IS the record for its share (a live A/B split).
    promote: bool = False


class ModelCapabilities(_Strict):
    """What one model can take (routes.yaml `models:`); a model not listed is a Gemini model
    taking every media kind. Other providers take images and PDFs inline by default; an OpenAI
    audio model (gpt-audio) may declare `audio` (WAV and MP3, sent as input_audio)."""

    provider: Provider = Provider.GEMINI
    media: list[str] = Field(default_factory=list)  # empty: what the provider's API takes by default
    max_bytes: int | None = Field(default=None, gt=0)
    max_pages: int | None = Field(default=None, gt=0)
    structured_output: str = Field(default="json_schema", pattern="^(json_schema|tool)$")

    @model_validator(mode="after")
    def _default_media(self) -> ModelCapabilities:
        if not self.media:
            default = ["image", "document"] if self.provider != Provider.GEMINI else list(MEDIA_KINDS[:-1])
            object.__setattr__(self, "media", default)  # frozen model: set once, while validating
        return self

    def accepts(self, item: ValidatedMediaRow) -> bool:
        if item.media_kind not in self.media:
            return False
        if self.provider == Provider.OPENAI and item.media_kind == "audio" and item.mime_type not in AUDIO_FORMATS:
            return False  # input_audio takes WAV and MP3 only
        if self.max_bytes is not None and item.size_bytes > self.max_bytes:
            return False
        return self.max_pages is None or (item.pages or 0) <= self.max_pages


class Route(_Strict):
    name: str = ""
    task: str = "*"
    media_kind: str = "*"
    min_bytes: int | None = Field(default=None, ge=0)
    min_duration_s: float | None = Field(default=None, ge=0)
    min_pages: int | None = Field(default=None, ge=0)
    model: str = Field(min_length=1)
    provider: Provider = Provider.GEMINI
    challenger: Challenger | None = None
    challengers: list[Challenger] = Field(default_factory=list)
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

    def all_challengers(self) -> list[Challenger]:
        return ([self.challenger] if self.challenger else []) + list(self.challengers)


class Limits(_Strict):
    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)
    rpd: int | None = Field(default=None, gt=0)


class RoutingConfig(_Strict):
    routes: list[Route] = Field(min_length=1)
    limits: dict[str, Limits] = Field(default_factory=dict)
    models: dict[str, ModelCapabilities] = Field(default_factory=dict)

    def limits_for(self, model: str) -> Limits:
        return self.limits.get(model) or self.limits.get("default") or Limits()

    def capabilities(self, model: str) -> ModelCapabilities:
        return self.models.get(model) or ModelCapabilities()

    def providers(self) -> set[Provider]:
        """Every provider a route or challenger may send items to."""
        named = {route.provider for route in self.routes}
        named |= {c.provider for route in self.routes for c in route.all_challengers()}
        return named | {Provider.GEMINI}

    def models_hearing_audio(self) -> list[str]:
        return [
            name for name, spec in self.models.items() if spec.provider == Provider.OPENAI and "audio" in spec.media
        ]

    def models_with_tool_output(self) -> list[str]:
        return [name for name, spec in self.models.items() if spec.structured_output == "tool"]


@dataclass(frozen=True)
class RouteDecision:
    model: str
    variant: Variant
    route: str
    mode: CallMode = CallMode.ONLINE
    provider: Provider = Provider.GEMINI
    note: str | None = None  # e.g. why a challenger was not applicable


@dataclass(frozen=True)
class ShadowDecision:
    """One challenger that also answers an item (shadow A/B); ``note`` says why it cannot when not applicable."""

    model: str
    provider: Provider
    route: str
    note: str | None = None

    @property
    def applicable(self) -> bool:
        return self.note is None


def _matching(config: RoutingConfig, item: ValidatedMediaRow) -> tuple[str, Route] | None:
    for index, route in enumerate(config.routes):
        if route.matches(item):
            return route.name or f"route[{index}]", route
    return None


def _in_share(route_name: str, challenger: Challenger, sha256: str, first: bool) -> bool:
    # The route's first challenger keeps the bucket it always had, so existing splits do not move.
    salt = route_name if first else f"{route_name}/{challenger.model}"
    return challenger.fraction > 0 and _bucket(salt, sha256) < challenger.fraction


def _not_applicable(config: RoutingConfig, challenger: Challenger, item: ValidatedMediaRow) -> str | None:
    if config.capabilities(challenger.model).accepts(item):
        return None
    return f"challenger {challenger.model} not applicable: cannot take this {item.media_kind}"


def route_item(config: RoutingConfig, item: ValidatedMediaRow, fallback_model: str) -> RouteDecision:
    """The model whose answer becomes the item's record; the A/B split hashes the content, so it is stable.
    Only a challenger marked ``promote`` takes items from the champion (shadow ones: ``shadow_decisions``)."""
    matched = _matching(config, item)
    if matched is None:
        return RouteDecision(fallback_model, Variant.PRIMARY, "task default")
    name, route = matched
    # Only Gemini has a Batch API: other providers are called online.
    mode = route.mode if route.provider == Provider.GEMINI else CallMode.ONLINE
    for index, challenger in enumerate(route.all_challengers()):
        if not challenger.promote or not _in_share(name, challenger, item.sha256, index == 0):
            continue
        if why := _not_applicable(config, challenger, item):
            return RouteDecision(route.model, Variant.PRIMARY, name, mode, route.provider, why)
        challenger_mode = route.mode if challenger.provider == Provider.GEMINI else CallMode.ONLINE
        return RouteDecision(challenger.model, Variant.CHALLENGER, name, challenger_mode, challenger.provider)
    return RouteDecision(route.model, Variant.PRIMARY, name, mode, route.provider)


def shadow_decisions(config: RoutingConfig, item: ValidatedMediaRow) -> list[ShadowDecision]:
    """The shadow challengers whose share holds this item, applicable or not (not applicable is
    reported by model_comparison, it is not a failure)."""
    matched = _matching(config, item)
    if matched is None:
        return []
    name, route = matched
    return [
        ShadowDecision(c.model, c.provider, name, _not_applicable(config, c, item))
        for index, c in enumerate(route.all_challengers())
        if not c.promote and _in_share(name, c, item.sha256, index == 0)
    ]


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
        challengers = route.all_challengers()
        if sum(c.promote for c in challengers) > 1:
            raise RouteConfigError(
                f"routing file {path}: route {route.name or route.model} promotes more than one challenger"
            )
        if len({c.model for c in challengers}) < len(challengers) or route.model in {c.model for c in challengers}:
            raise RouteConfigError(f"routing file {path}: route {route.name or route.model} names a model twice")
        named = [(route.model, route.provider)] + [(c.model, c.provider) for c in challengers]
        for model, provider in named:
            declared = config.capabilities(model).provider
            if provider != declared and (model in config.models or provider != Provider.GEMINI):
                raise RouteConfigError(
                    f"routing file {path}: {model} is routed to provider {provider} but `models:` "
                    f"{'declares ' + str(declared) if model in config.models else 'does not declare it'}"
                )
    for name, spec in config.models.items():
        unknown = set(spec.media) - set(MEDIA_KINDS[:-1])
        if unknown:
            raise RouteConfigError(f"routing file {path}: models.{name}.media has unknown kinds {sorted(unknown)}")
        beyond = set(spec.media) - PROVIDER_MEDIA.get(str(spec.provider), frozenset(MEDIA_KINDS[:-1]))
        if beyond:
            raise RouteConfigError(
                f"routing file {path}: models.{name}.media lists {sorted(beyond)}, which the {spec.provider} API "
                f"cannot take inline ({sorted(PROVIDER_MEDIA[str(spec.provider)])} only)"
            )
    return config
