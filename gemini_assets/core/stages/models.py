"""Model access for one step: the configured backend's gateway, the in-region one, routing, knobs.

``ModelAccess.open`` is the first thing a model-calling step does: a missing key or emulator
address fails there, before anything is written for the step (core/gateway/backends.py).
Tests hand ``ModelAccess`` a FakeGateway directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType

from gemini_assets.core.config import Settings
from gemini_assets.core.contracts.enums import Backend, CallMode, Endpoint, Provider
from gemini_assets.core.contracts.tables import DeliveryPlan
from gemini_assets.core.gateway.backends import open_gateway, resolve_backend, resolve_in_region, resolve_provider
from gemini_assets.core.gateway.base import ModelGateway
from gemini_assets.core.gateway.gemini.batch import INLINE_LIMIT_BYTES
from gemini_assets.core.gateway.gemini.client import RetrySettings
from gemini_assets.core.gateway.remote_files import HandleRegistry
from gemini_assets.core.gateway.routing import RoutingConfig, load_routing
from gemini_assets.core.media.policy import DEFAULT_POLICY
from gemini_assets.core.storage.objectstore import ObjectStore

__all__ = ["BatchSettings", "CallOptions", "ModelAccess", "RetrySettings"]


@dataclass(frozen=True)
class BatchSettings:
    max_wait_s: float = 3600.0  # longest wait in one step; then BatchWaitExceeded (the batch stays submitted)
    poll_initial_s: float = 2.0
    poll_max_s: float = 60.0
    inline_limit_bytes: int = INLINE_LIMIT_BYTES


@dataclass(frozen=True)
class CallOptions:
    """The knobs of one run (Dagster resource config): retries, concurrency, mode, batches."""

    retry: RetrySettings = field(default_factory=RetrySettings)
    concurrency: int = 4
    mode: CallMode | None = None  # None: each route's mode in the routing file
    batch: BatchSettings = field(default_factory=BatchSettings)
    delete_remote_files: bool = True
    inline_max_bytes: int = DEFAULT_POLICY.inline_max_bytes


class ModelAccess:
    def __init__(
        self,
        gateway: ModelGateway,
        routing: RoutingConfig,
        options: CallOptions | None = None,
        in_region: ModelGateway | None = None,
        scope: str = "default",
        others: dict[Provider, ModelGateway] | None = None,
    ):
        self.gateway, self.routing, self.in_region, self.scope = gateway, routing, in_region, scope
        self.options = options or CallOptions()
        # Gateways of the other providers the routing file names (OpenAI, Anthropic): online, inline.
        self.others = dict(others or {})

    @classmethod
    def open(cls, settings: Settings, options: CallOptions | None = None) -> ModelAccess:
        target = resolve_backend(settings)  # fails fast: nothing is written before this
        routing = load_routing(settings.routes_file)  # a bad routing file fails here, before any upload
        options = options or CallOptions()
        in_region_target = resolve_in_region(settings)
        other_targets = [resolve_provider(settings, p) for p in sorted(routing.providers()) if p != Provider.GEMINI]
        gateway = open_gateway(settings, target, routing, options.retry)
        in_region = open_gateway(settings, in_region_target, routing, options.retry) if in_region_target else None
        others = {t.provider: open_gateway(settings, t, routing, options.retry) for t in other_targets}
        return cls(gateway, routing, options, in_region, target.scope, others)

    @property
    def backend(self) -> Backend:
        return self.gateway.backend

    @property
    def provider(self) -> Provider:
        return self.gateway.provider

    def for_provider(self, provider: Provider | None) -> ModelGateway:
        if provider is None or provider == self.gateway.provider:
            return self.gateway
        if provider not in self.others:
            raise RuntimeError(f"an item was planned for {provider} but the routing file no longer names it")
        return self.others[provider]

    def for_plan(self, plan: DeliveryPlan) -> ModelGateway:
        """Restricted items were planned for the in-region endpoint: called there or not at all."""
        if plan.provider not in (None, self.gateway.provider):
            return self.for_provider(plan.provider)
        if plan.endpoint == Endpoint.IN_REGION:
            if self.in_region is None:
                raise RuntimeError(f"{plan.media_id} was planned in-region but no in-region endpoint is configured now")
            return self.in_region
        return self.gateway

    def handles(self, store: ObjectStore) -> HandleRegistry:
        return HandleRegistry(store, self.gateway, self.scope)

    def mode_for(self, route_mode: CallMode) -> CallMode:
        return self.options.mode or route_mode

    def breakers_opened(self) -> dict[str, int]:
        opened = dict(self.gateway.breakers_opened())
        for other in self.others.values():
            opened.update(other.breakers_opened())
        if self.in_region is not None:
            for model, times in self.in_region.breakers_opened().items():
                opened[f"{model} (in region)"] = times
        return opened

    def learned_limits(self) -> dict[str, int]:
        learned = dict(self.gateway.learned_limits())
        for other in self.others.values():
            learned.update(other.learned_limits())
        return learned

    def close(self) -> None:
        self.gateway.close()
        for other in self.others.values():
            other.close()
        if self.in_region is not None:
            self.in_region.close()

    def __enter__(self) -> ModelAccess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
