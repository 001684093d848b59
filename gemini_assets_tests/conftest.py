from collections.abc import Iterator

import pytest

from gemini_assets.core.gateway import stopping
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_devkit.emulator import EmulatorHandle, start_emulator

# moto S3 server and the local/S3 parametrized storage fixtures.
pytest_plugins = ["gemini_assets_tests.s3_fixtures"]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Every test gets its own storage root, quota store and Dagster home; no real API key leaks in."""
    for name in (
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GOOGLE_GEMINI_BASE_URL",
        "GEMINI_ASSETS_S3_ENDPOINT",
        "GEMINI_ASSETS_BACKEND",
        "GEMINI_EMULATOR_KNOBS",
        "GEMINI_ASSETS_EXECUTOR",
        "GEMINI_ASSETS_CELERY_BROKER",
        "GEMINI_ASSETS_CELERY_BACKEND",
        "GEMINI_ASSETS_RELEASES",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GEMINI_ASSETS_STORAGE", str(tmp_path / "storage"))
    monkeypatch.setenv("GEMINI_ASSETS_LIMITER", f"sqlite://{tmp_path / 'limiter'}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    stopping.clear()  # a test that stops calls leaves no stop behind for the next one
    yield
    stopping.clear()


@pytest.fixture(autouse=True)
def emulator(isolated_env, tmp_path, monkeypatch) -> Iterator[EmulatorHandle]:
    """The tests choose the bundled emulator, as ./run demo and ./run ui do: a real HTTP server
    on a free port, reached through the real SDK. Tune it with ``emulator.set_knobs(...)``."""
    handle = start_emulator(tmp_path / "emulator", knobs={})
    monkeypatch.setenv("GEMINI_ASSETS_BACKEND", "emulator")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", handle.url)
    yield handle
    handle.stop()


@pytest.fixture
def store(tmp_path) -> ObjectStore:
    return ObjectStore(str(tmp_path / "storage"))


@pytest.fixture(autouse=True)
def audit_key(tmp_path, monkeypatch):
    """A per-test audit signing key, never the developer's own."""
    monkeypatch.setenv("GEMINI_ASSETS_AUDIT_KEY", str(tmp_path / "keys" / "audit_ed25519.pem"))
