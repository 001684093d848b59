"""Which backend answers, from the configuration: the real Gemini API or the bundled emulator.

Nothing is chosen silently. ``GEMINI_ASSETS_BACKEND`` unset means ``gemini``, which needs
``GEMINI_API_KEY``; without it the first model-calling step fails at once with a message naming
both variables. ``emulator`` must be chosen explicitly and reached at ``GOOGLE_GEMINI_BASE_URL``
(``./run demo``, ``./run ui`` and the tests start one): the pipeline never starts or imports it,
it reaches it over HTTP through the real SDK exactly as it reaches Gemini.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from gemini_assets.core.config.settings import EMULATOR_KEY, Settings
from gemini_assets.core.contracts.enums import Backend, Provider
from gemini_assets.core.contracts.errors import BackendNotConfigured
from gemini_assets.core.gateway.anthropic_messages import AnthropicGateway
from gemini_assets.core.gateway.base import ModelGateway
from gemini_assets.core.gateway.gemini.client import GeminiGateway, RetrySettings
from gemini_assets.core.gateway.openai_chat import OpenAIGateway
from gemini_assets.core.gateway.ratelimit import limiter_for
from gemini_assets.core.gateway.routing import RoutingConfig

MISSING_KEY = (
    "GEMINI_API_KEY is not set, and GEMINI_ASSETS_BACKEND is 'gemini' (the default when unset), which calls "
    "the real Gemini API. Set GEMINI_API_KEY to call Gemini, or GEMINI_ASSETS_BACKEND=emulator to answer "
    "from the bundled emulator (./run demo and ./run ui do that)."
)
MISSING_EMULATOR_URL = (
    "GEMINI_ASSETS_BACKEND=emulator, but GOOGLE_GEMINI_BASE_URL does not say where the emulator listens. "
    "Start it with `gemini-emulator --port 8765` and set GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8765 "
    "(./run demo and ./run ui do both)."
)


@dataclass(frozen=True)
class Target:
    """One endpoint model calls go to. ``scope`` keeps quotas and file handles of different
    endpoints apart; the key is never part of the repr."""

    backend: Backend
    base_url: str | None
    api_key: str = field(repr=False)
    provider: Provider = Provider.GEMINI

    @property
    def scope(self) -> str:
        endpoint = f"{self.backend}|{self.base_url or 'default'}"
        if self.provider != Provider.GEMINI:  # the emulator answers every provider on one URL
            endpoint += f"|{self.provider}"
        if self.api_key:  # two accounts on one endpoint have two quotas (a fingerprint, never the key)
            endpoint += "|" + hashlib.sha256(self.api_key.encode()).hexdigest()[:16]
        digest = hashlib.sha256(endpoint.encode()).hexdigest()[:12]
        return f"{self.backend}-{digest}"


def resolve_backend(settings: Settings) -> Target:
    """The configured backend, or BackendNotConfigured with what to set."""
    if settings.backend == Backend.EMULATOR:
        if not settings.gemini_base_url:
            raise BackendNotConfigured(MISSING_EMULATOR_URL)
        return Target(Backend.EMULATOR, settings.gemini_base_url, EMULATOR_KEY)
    if settings.gemini_api_key is None:
        raise BackendNotConfigured(MISSING_KEY)
    return Target(Backend.GEMINI, settings.gemini_base_url, settings.gemini_api_key.get_secret_value())


def resolve_in_region(settings: Settings) -> Target | None:
    """The endpoint `residency: restricted` items may use, or None: then they are never sent."""
    url = settings.in_region_base_url
    if not url:
        return None
    if settings.backend == Backend.EMULATOR:
        return Target(Backend.EMULATOR, url, EMULATOR_KEY)
    key = settings.in_region_api_key or settings.gemini_api_key
    if key is None:
        raise BackendNotConfigured(
            "GEMINI_ASSETS_IN_REGION_BASE_URL is set but neither GEMINI_ASSETS_IN_REGION_API_KEY nor GEMINI_API_KEY is"
        )
    return Target(Backend.GEMINI, url, key.get_secret_value())


def resolve_provider(settings: Settings, provider: Provider) -> Target:
    """Where a route's other provider is reached: the emulator answers for every provider when it
    is the backend; otherwise the provider's own key (and base URL) must be set."""
    if provider == Provider.GEMINI:
        return resolve_backend(settings)
    if settings.backend == Backend.EMULATOR:
        if not settings.gemini_base_url:
            raise BackendNotConfigured(MISSING_EMULATOR_URL)
        root = settings.gemini_base_url.rstrip("/")
        emulated = f"{root}/v1" if provider == Provider.OPENAI else root  # OpenAI's base URL includes /v1
        return Target(Backend.EMULATOR, emulated, EMULATOR_KEY, provider)
    key, base, names = (
        (settings.openai_api_key, settings.openai_base_url, "OPENAI_API_KEY (and OPENAI_BASE_URL for a gateway)")
        if provider == Provider.OPENAI
        else (settings.anthropic_api_key, settings.anthropic_base_url, "ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL)")
    )
    if key is None:
        raise BackendNotConfigured(f"the routing file sends items to {provider}, but {names} is not set")
    return Target(Backend.GEMINI, base, key.get_secret_value(), provider)


def open_gateway(settings: Settings, target: Target, routing: RoutingConfig, retry: RetrySettings) -> ModelGateway:
    """A gateway to ``target`` with the client-side quotas of the routing file (per provider and
    model: each provider's endpoint has its own limiter scope)."""
    limits, default = dict(routing.limits), routing.limits_for("default")
    limiter = limiter_for(settings.limiter_url(target.scope), limits, default, namespace=target.scope)
    if target.provider == Provider.OPENAI:
        audio_models = frozenset(routing.models_hearing_audio())
        return OpenAIGateway(
            target.api_key, target.base_url, retry, limiter, backend=target.backend, audio_models=audio_models
        )
    if target.provider == Provider.ANTHROPIC:
        tool_models = frozenset(routing.models_with_tool_output())
        return AnthropicGateway(
            target.api_key, target.base_url, retry, limiter, backend=target.backend, tool_models=tool_models
        )
    return GeminiGateway(target.api_key, target.base_url, retry=retry, limiter=limiter, backend=target.backend)
