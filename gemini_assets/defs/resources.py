"""Resources: configuration, model access and the warehouse IO manager.

The environment contract is read by ``load_settings()`` (core/config) when a step runs. Resource
fields are only what a person may tune per run in the launchpad (never a secret): the API key
is not a field here, so it cannot reach run config, the UI or the event log.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from gemini_assets.core.config import Settings, load_settings
from gemini_assets.core.contracts.enums import CallMode
from gemini_assets.core.contracts.errors import ConfigurationError
from gemini_assets.core.stages.context import DayContext
from gemini_assets.core.stages.models import BatchSettings, CallOptions, ModelAccess, RetrySettings
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.storage.tables import read_partition, write_partition


def _overrides(root: str | None, s3_endpoint: str | None) -> dict[str, Any]:
    return {k: v for k, v in (("storage", root), ("s3_endpoint", s3_endpoint)) if v}


class StorageResource(dg.ConfigurableResource):
    """The storage root: a local folder or an s3:// URL (default: env GEMINI_ASSETS_STORAGE)."""

    root: str | None = None
    s3_endpoint: str | None = None

    def settings(self) -> Settings:
        return load_settings(**_overrides(self.root, self.s3_endpoint))

    def store(self) -> ObjectStore:
        return ObjectStore.from_settings(self.settings())

    def day(self, context: dg.AssetExecutionContext, pins: dict[str, str] | None = None) -> DayContext:
        """Everything one step of this partition needs, read from the environment once."""
        return DayContext.create(self.settings(), context.partition_key, pins, context.run.run_id, log=context.log.info)


class CatalogResource(dg.ConfigurableResource):
    """Which task versions a run uses. Pin an earlier version to re-run or roll back a day:
    run config ``resources: {catalog: {config: {pinned_versions: {product_recognition: "1.0.0"}}}}``."""

    pinned_versions: dict[str, str] = Field(default_factory=dict)


class GeminiResource(dg.ConfigurableResource):
    """Model access through the ModelGateway. The backend (GEMINI_ASSETS_BACKEND), key, routing
    file (GEMINI_ASSETS_ROUTES) and quota store (GEMINI_ASSETS_LIMITER) come from the
    environment; the knobs below tune one run."""

    concurrency: int = 4
    max_attempts: int = 4
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    timeout_s: float = 120.0
    max_quota_wait_s: float = 600.0
    breaker_failures: int = 5
    breaker_reset_s: float = 60.0
    file_poll_max_s: float = 300.0
    delete_remote_files: bool = True
    inline_max_bytes: int = CallOptions().inline_max_bytes
    # Batch mode: None = each route's `mode` in the routing file decides; "online" or "batch" sets it
    # for every item of the run.
    mode: str | None = None
    batch_max_wait_s: float = 3600.0  # longest wait in one step; then the step fails, the batch stays submitted
    batch_poll_initial_s: float = 2.0
    batch_poll_max_s: float = 60.0
    batch_inline_max_bytes: int = 20 * 1024 * 1024  # larger batches go as a JSONL file through the Files API
    batch_step_retries: int = 0  # >0: the step asks Dagster to run it again (resuming) instead of failing
    batch_retry_wait_s: float = 600.0

    def options(self) -> CallOptions:
        retry = RetrySettings(
            max_attempts=self.max_attempts,
            initial_backoff_s=self.initial_backoff_s,
            max_backoff_s=self.max_backoff_s,
            timeout_s=self.timeout_s,
            max_quota_wait_s=self.max_quota_wait_s,
            breaker_failures=self.breaker_failures,
            breaker_reset_s=self.breaker_reset_s,
            file_poll_max_s=self.file_poll_max_s,
        )
        batch = BatchSettings(
            self.batch_max_wait_s, self.batch_poll_initial_s, self.batch_poll_max_s, self.batch_inline_max_bytes
        )
        mode = _mode(self.mode)
        return CallOptions(retry, self.concurrency, mode, batch, self.delete_remote_files, self.inline_max_bytes)

    def open(self, settings: Settings) -> ModelAccess:
        """The gateways of one step; fails fast when the backend is not configured."""
        return ModelAccess.open(settings, self.options())


def _mode(value: str | None) -> CallMode | None:
    if not value:
        return None
    try:
        return CallMode(value)
    except ValueError:
        modes = [str(m) for m in CallMode]
        raise ConfigurationError(f"gemini.mode must be one of {modes} or unset (per route), not {value!r}") from None


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Tables as hive-partitioned Parquet under <storage root>/warehouse/<table>/date=<day>/."""

    root: str | None = None
    s3_endpoint: str | None = None

    def _store(self) -> ObjectStore:
        return ObjectStore.from_settings(load_settings(**_overrides(self.root, self.s3_endpoint)))

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        store = self._store()
        key = write_partition(store, context.asset_key.path[-1], context.partition_key, obj)
        context.add_output_metadata({"path": dg.MetadataValue.path(store.uri(key))})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        return read_partition(self._store(), context.asset_key.path[-1], context.asset_partition_key)


def default_resources() -> dict[str, Any]:
    return {
        "catalog": CatalogResource(),
        "storage": StorageResource(),
        "gemini": GeminiResource(),
        "io_manager": WarehouseIOManager(),
    }
