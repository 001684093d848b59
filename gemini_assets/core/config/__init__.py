"""The one configuration object (Settings), read from the environment at each entry point."""

from gemini_assets.core.config.settings import Settings, environment_fingerprint, environment_overrides, load_settings

__all__ = ["Settings", "environment_fingerprint", "environment_overrides", "load_settings"]
