"""Every environment variable the project honours, typed and validated in one object.

pydantic-settings rather than Dagster ``EnvVar`` resources: ``core`` must not import Dagster,
and the CLI, the benchmarks and the Dagster resources all need the same values with the same
validation. Each entry point (a run's step, a CLI command) calls ``load_settings()`` once and
passes the object down; no other module reads ``os.environ`` (a test enforces it).

Secrets are ``SecretStr``: their repr is masked, and the object is never Dagster run config, so a
key cannot reach the UI, the event log or a table. Empty variables count as unset.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from gemini_assets.core.contracts.enums import Backend
from gemini_assets.core.contracts.errors import ConfigurationError

DEFAULT_STORAGE = "data"
# A placeholder the bundled emulator accepts: a real key is never sent to it.
EMULATOR_KEY = "emulator-local-key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", frozen=True, populate_by_name=True)

    # -- storage --------------------------------------------------------------------------------
    storage: str = Field(
        DEFAULT_STORAGE,
        validation_alias="GEMINI_ASSETS_STORAGE",
        description="storage root: a folder or s3://bucket/prefix",
    )
    s3_endpoint: str | None = Field(
        None, validation_alias="GEMINI_ASSETS_S3_ENDPOINT", description="S3 endpoint URL for MinIO-style stores"
    )
    # -- model backend --------------------------------------------------------------------------
    backend: Backend = Field(
        Backend.GEMINI,
        validation_alias="GEMINI_ASSETS_BACKEND",
        description="gemini (default): the real API, needs GEMINI_API_KEY; emulator: the bundled emulator",
    )
    gemini_api_key: SecretStr | None = Field(None, validation_alias="GEMINI_API_KEY", description="Gemini API key")
    gemini_base_url: str | None = Field(
        None,
        validation_alias="GOOGLE_GEMINI_BASE_URL",
        description="a Gemini-compatible endpoint (gateway, proxy); with the emulator backend, the emulator's URL",
    )
    # Other providers a route or challenger may name (routes.yaml `provider:`); with the emulator
    # backend the emulator answers for them too, and these are not read.
    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY", description="OpenAI API key")
    openai_base_url: str | None = Field(
        None,
        validation_alias="OPENAI_BASE_URL",
        description="an OpenAI-compatible endpoint incl. /v1 (OpenAI, a LiteLLM proxy, OpenRouter, a gateway)",
    )
    anthropic_api_key: SecretStr | None = Field(
        None, validation_alias="ANTHROPIC_API_KEY", description="Anthropic API key"
    )
    anthropic_base_url: str | None = Field(
        None, validation_alias="ANTHROPIC_BASE_URL", description="an Anthropic Messages endpoint, without /v1"
    )
    in_region_base_url: str | None = Field(
        None,
        validation_alias="GEMINI_ASSETS_IN_REGION_BASE_URL",
        description="endpoint for residency: restricted items (unset: they are never sent)",
    )
    in_region_api_key: SecretStr | None = Field(
        None, validation_alias="GEMINI_ASSETS_IN_REGION_API_KEY", description="key of the in-region endpoint"
    )
    routes_file: Path | None = Field(
        None, validation_alias="GEMINI_ASSETS_ROUTES", description="routing, A/B and quota YAML"
    )
    releases_file: Path | None = Field(
        None,
        validation_alias="GEMINI_ASSETS_RELEASES",
        description="canary release plan YAML: candidate versions or models, shares, thresholds (unset: none)",
    )
    limiter: str | None = Field(
        None,
        validation_alias="GEMINI_ASSETS_LIMITER",
        description="quota store: sqlite:///dir | redis://... | postgresql://... | memory | off",
    )
    # -- costs, privacy, audit ------------------------------------------------------------------
    budgets_file: Path | None = Field(
        None, validation_alias="GEMINI_ASSETS_BUDGETS", description="daily budgets per task (YAML)"
    )
    sensitive_words_file: Path | None = Field(
        None, validation_alias="GEMINI_ASSETS_SENSITIVE_WORDS", description="sensitive words, one per line"
    )
    pii_patterns_file: Path | None = Field(
        None, validation_alias="GEMINI_ASSETS_PII_PATTERNS", description="JSON object of extra PII name -> regex"
    )
    sanitized_retention_days: float = Field(
        7.0,
        ge=0,
        validation_alias="GEMINI_ASSETS_SANITIZED_RETENTION_DAYS",
        description="days sanitized copies are kept",
    )
    audit_checkpoints: str | None = Field(
        None,
        validation_alias="GEMINI_ASSETS_AUDIT_CHECKPOINTS",
        description="another storage root for signed audit checkpoints (e.g. an object-locked bucket)",
    )
    audit_key_file: Path | None = Field(
        None, validation_alias="GEMINI_ASSETS_AUDIT_KEY", description="Ed25519 key that signs audit checkpoints"
    )
    audit_trusted_keys: str | None = Field(
        None,
        validation_alias="GEMINI_ASSETS_AUDIT_TRUSTED_KEYS",
        description=(
            "earlier audit keys verification still accepts: PEM public-key files or folders of *.pem, "
            "separated like PATH (os.pathsep)"
        ),
    )
    lease_ttl_s: float = Field(
        120.0,
        gt=0,
        validation_alias="GEMINI_ASSETS_LEASE_TTL_S",
        description="a run holding a day's model calls whose heartbeat is older than this is presumed dead",
    )
    lease_wait_s: float = Field(
        900.0,
        ge=0,
        validation_alias="GEMINI_ASSETS_LEASE_WAIT_S",
        description="how long a second run of the same day waits for the first one's model calls",
    )
    audit_checkpoint_every: int = Field(
        100,
        ge=1,
        validation_alias="GEMINI_ASSETS_AUDIT_CHECKPOINT_EVERY",
        description="sign an audit checkpoint every N events within a step (and always at a step's end)",
    )
    # -- local state ----------------------------------------------------------------------------
    dagster_home: Path | None = Field(None, validation_alias="DAGSTER_HOME", description="Dagster instance folder")
    home: Path = Field(default_factory=Path.home, validation_alias="HOME", description="the user's home folder")

    @property
    def cache_dir(self) -> Path:
        return self.home / ".cache" / "gemini_assets"

    def limiter_url(self, scope: str) -> str:
        """Where client-side quotas are counted; by default one SQLite folder per backend scope,
        shared by every process of the machine (quotas of different endpoints never mix)."""
        if self.limiter:
            return self.limiter
        return f"sqlite://{(self.cache_dir / 'limiter' / scope).resolve()}"

    def audit_key_path(self) -> Path:
        return self.audit_key_file or self.home / ".config" / "gemini_assets" / "audit_ed25519.pem"

    def audit_trusted_key_paths(self) -> list[Path]:
        # os.pathsep, as PATH: a path may hold commas, and a list of paths reads as every other one does.
        entries = (self.audit_trusted_keys or "").split(os.pathsep)
        return [Path(entry.strip()) for entry in entries if entry.strip()]


class Executor(StrEnum):
    """Where the steps of a run execute."""

    MULTIPROCESS = "multiprocess"  # Dagster's default: a child process per step on the run's host
    CELERY = "celery"  # each step a Celery task, taken by `dagster-celery worker` processes on any host


class ExecutorSettings(BaseSettings):
    """The executor of every job, read when the code location loads (definitions.py).

    Apart from Settings, which steps read: a bad value among the step settings must keep failing
    at the step that needs it (with its run and its reason), not take the whole location down.
    Broker URLs may carry a password, hence SecretStr.
    """

    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", frozen=True, populate_by_name=True)

    executor: Executor = Field(
        Executor.MULTIPROCESS,
        validation_alias="GEMINI_ASSETS_EXECUTOR",
        description="multiprocess (default, one host) | celery (steps on dagster-celery workers, docs/deploy.md)",
    )
    celery_broker: SecretStr | None = Field(
        None,
        validation_alias="GEMINI_ASSETS_CELERY_BROKER",
        description="Celery broker URL, e.g. redis://broker:6379/1 (needed with GEMINI_ASSETS_EXECUTOR=celery)",
    )
    celery_backend: SecretStr | None = Field(
        None,
        validation_alias="GEMINI_ASSETS_CELERY_BACKEND",
        description="Celery result backend URL, e.g. redis://broker:6379/2 (rpc:// with RabbitMQ)",
    )

    def celery_urls(self) -> tuple[str, str]:
        """(broker, result backend); raises naming every variable still to set."""
        # Unset, dagster-celery falls back to amqp://guest@localhost and rpc://: runs would queue
        # their steps where no worker of this deployment listens.
        wanted = (
            ("GEMINI_ASSETS_CELERY_BROKER", self.celery_broker, "the broker the workers listen on", "6379/1"),
            ("GEMINI_ASSETS_CELERY_BACKEND", self.celery_backend, "where the workers put step results", "6379/2"),
        )
        missing = [f"{name} ({what}, e.g. redis://broker:{db})" for name, value, what, db in wanted if value is None]
        if self.celery_broker is None or self.celery_backend is None:
            raise ConfigurationError("GEMINI_ASSETS_EXECUTOR=celery needs " + " and ".join(missing))
        return self.celery_broker.get_secret_value(), self.celery_backend.get_secret_value()


def load_executor_settings() -> ExecutorSettings:
    """The executor choice; celery without its broker or result backend fails here, when the
    definitions load, naming the variable to set."""
    try:
        chosen = ExecutorSettings()
    except ValidationError as exc:
        allowed = " or ".join(e.value for e in Executor)
        given = exc.errors()[0].get("input")
        raise ConfigurationError(
            f"invalid environment: GEMINI_ASSETS_EXECUTOR must be {allowed}, not {given!r}"
        ) from None
    if chosen.executor is Executor.CELERY:
        chosen.celery_urls()  # at load, not when the first run is already queued
    return chosen


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; a bad value fails with the variable's name and what is allowed."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            info = Settings.model_fields.get(field)
            name = info.validation_alias if info is not None and isinstance(info.validation_alias, str) else field
            problems.append(f"{name}: {error['msg']}")
        raise ConfigurationError("invalid environment: " + "; ".join(problems)) from None


def environment_fingerprint(prefixes: tuple[str, ...] = ("AWS_", "GEMINI_ASSETS_")) -> str:
    """A hash of the variables a spawned child inherits for storage access (credentials included),
    so a long-lived child can be replaced when they change."""
    items = sorted((k, v) for k, v in os.environ.items() if k.startswith(prefixes))
    return hashlib.sha256(repr(items).encode()).hexdigest()


@contextmanager
def environment_overrides(values: Mapping[str, str]) -> Iterator[None]:
    """Set variables for the duration of a block (the demo points the pipeline at its emulator)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
