"""The one configuration object (Settings), read from the environment at each entry point."""

from gemini_assets.core.config.settings import (
    Executor,
    ExecutorSettings,
    Settings,
    environment_fingerprint,
    environment_overrides,
    load_executor_settings,
    load_settings,
)

__all__ = [
    "Executor",
    "ExecutorSettings",
    "Settings",
    "environment_fingerprint",
    "environment_overrides",
    "load_executor_settings",
    "load_settings",
]
