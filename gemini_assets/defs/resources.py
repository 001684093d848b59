"""Resources: storage, the model gateway and the warehouse IO manager.

Fields left unset fall back to the environment contract (core/settings.py) at run time. The API
key is deliberately not a resource field: it is read from the environment when the gateway is
built, so it never appears in run config, the UI or the event log.
"""


import dagster as dg
import pandas as pd

from gemini_assets.core.gateway.backend import Backend, resolve_backend
from gemini_assets.core.gateway.gemini import GeminiGateway, RetrySettings
from gemini_assets.core.media.policy import DEFAULT_POLICY, MediaPolicy
from gemini_assets.core.output.batch_outputs import BatchSettings
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.storage.tables import read_partition, write_partition


class StorageResource(dg.ConfigurableResource):
    """The storage root: a local folder or an s3:// URL (env GEMINI_ASSETS_STORAGE)."""

    root: str | None = None
    s3_endpoint: str | None = None

    def store(self) -> ObjectStore:
        return ObjectStore(self.root, self.s3_endpoint)


class GeminiResource(dg.ConfigurableResource):
    """Model access through the ModelGateway; the emulator when GEMINI_API_KEY is unset.

    Routing and per-model quotas come from the routing file (GEMINI_ASSETS_ROUTES), the quota
    store from GEMINI_ASSETS_LIMITER; the knobs below tune one run."""

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
    inline_max_bytes: int = DEFAULT_POLICY.inline_max_bytes
    # Batch mode (README "Batch mode"): None = each route's `mode` in the routing file decides;
    # "online" or "batch" sets it for every item of the run.
    mode: str | None = None
    batch_max_wait_s: float = 3600.0  # longest wait in one step; then the step fails, the batch stays submitted
    batch_poll_initial_s: float = 2.0
    batch_poll_max_s: float = 60.0
    batch_inline_max_bytes: int = 20 * 1024 * 1024  # larger batches go as a JSONL file through the Files API
    batch_step_retries: int = 0  # >0: the step asks Dagster to run it again (resuming) instead of failing
    batch_retry_wait_s: float = 600.0

    def backend(self) -> Backend:
        return resolve_backend()

    def retry_settings(self) -> RetrySettings:
        return RetrySettings(
            max_attempts=self.max_attempts,
            initial_backoff_s=self.initial_backoff_s,
            max_backoff_s=self.max_backoff_s,
            timeout_s=self.timeout_s,
            max_quota_wait_s=self.max_quota_wait_s,
            breaker_failures=self.breaker_failures,
            breaker_reset_s=self.breaker_reset_s,
            file_poll_max_s=self.file_poll_max_s,
        )

    def gateway(self, backend: Backend | None = None) -> GeminiGateway:
        return (backend or self.backend()).gateway(self.retry_settings())

    def batch_settings(self) -> BatchSettings:
        return BatchSettings(self.batch_max_wait_s, self.batch_poll_initial_s, self.batch_poll_max_s, self.batch_inline_max_bytes)

    def policy(self) -> MediaPolicy:
        return MediaPolicy(image=DEFAULT_POLICY.image, inline_max_bytes=self.inline_max_bytes)


class WarehouseIOManager(dg.ConfigurableIOManager):
    """Tables as hive-partitioned Parquet under <storage root>/warehouse/<table>/date=<day>/."""

    root: str | None = None
    s3_endpoint: str | None = None

    def _store(self) -> ObjectStore:
        return ObjectStore(self.root, self.s3_endpoint)

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        key = write_partition(self._store(), context.asset_key.path[-1], context.partition_key, obj)
        context.add_output_metadata({"path": dg.MetadataValue.path(self._store().uri(key))})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        return read_partition(self._store(), context.asset_key.path[-1], context.asset_partition_key)


def default_resources() -> dict:
    from gemini_assets.defs.catalog import CatalogResource

    return {
        "catalog": CatalogResource(),
        "storage": StorageResource(),
        "gemini": GeminiResource(),
        "io_manager": WarehouseIOManager(),
    }
