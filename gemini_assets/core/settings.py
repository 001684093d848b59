"""Environment contract of the project (DESIGN.md §3), read in one place.

Every environment variable the pipeline honours is named here so that the README, the
resources and the tests agree. Secrets are read at use time and never copied into config.
"""

from __future__ import annotations

import os
from pathlib import Path

STORAGE_ENV = "GEMINI_ASSETS_STORAGE"
S3_ENDPOINT_ENV = "GEMINI_ASSETS_S3_ENDPOINT"
API_KEY_ENV = "GEMINI_API_KEY"
BASE_URL_ENV = "GOOGLE_GEMINI_BASE_URL"
EMULATOR_STATE_ENV = "GEMINI_EMULATOR_STATE_DIR"
ROUTES_ENV = "GEMINI_ASSETS_ROUTES"  # routing/limits YAML (core/gateway/routing.py)
LIMITER_ENV = "GEMINI_ASSETS_LIMITER"  # quota store: sqlite:///dir | redis://.. | postgresql://.. | memory | off

DEFAULT_STORAGE = "data"


def storage_root() -> str:
    return os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE


def s3_endpoint() -> str | None:
    return os.environ.get(S3_ENDPOINT_ENV) or None


def api_key() -> str | None:
    """The Gemini API key, or None to run on the bundled emulator."""
    return os.environ.get(API_KEY_ENV) or None


def base_url() -> str | None:
    return os.environ.get(BASE_URL_ENV) or None


def emulator_state_dir() -> Path:
    """Where the bundled emulator keeps uploaded files and its own request log.

    On local disk on purpose: every step process of a run starts its own emulator thread, and
    they must all see the same uploaded files.
    """
    configured = os.environ.get(EMULATOR_STATE_ENV)
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "gemini_assets" / "emulator"


def limiter_url(backend: str) -> str:
    """Where client-side quotas are counted. The default SQLite folder is shared by every
    process of the machine; the emulator's quotas live beside its state, so they never mix
    with the real API's."""
    configured = os.environ.get(LIMITER_ENV)
    if configured:
        return configured
    if backend == "emulator":
        folder = emulator_state_dir() / "limiter"
    else:  # each real endpoint (global, in-region) has quotas of its own
        folder = Path.home() / ".cache" / "gemini_assets" / ("limiter" if backend == "gemini" else f"limiter-{backend}")
    return f"sqlite://{folder.resolve()}"


IN_REGION_URL_ENV = "GEMINI_ASSETS_IN_REGION_BASE_URL"
IN_REGION_KEY_ENV = "GEMINI_ASSETS_IN_REGION_API_KEY"


def in_region_base_url() -> str | None:
    """A Gemini-compatible endpoint inside the required region, for `residency: restricted` items."""
    return os.environ.get(IN_REGION_URL_ENV) or None


def in_region_api_key() -> str | None:
    return os.environ.get(IN_REGION_KEY_ENV) or None
