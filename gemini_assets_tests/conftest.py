import pytest

from gemini_assets.core.storage.objectstore import ObjectStore

# moto S3 server and the local/S3 parametrized storage fixtures.
pytest_plugins = ["gemini_assets_tests.s3_fixtures"]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Every test gets its own storage root and emulator state; no real API key leaks in."""
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GEMINI_ASSETS_S3_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GEMINI_ASSETS_STORAGE", str(tmp_path / "storage"))
    monkeypatch.setenv("GEMINI_EMULATOR_STATE_DIR", str(tmp_path / "emulator"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()


@pytest.fixture
def store(tmp_path) -> ObjectStore:
    return ObjectStore(str(tmp_path / "storage"))


@pytest.fixture(autouse=True)
def audit_key(tmp_path, monkeypatch):
    """A per-test audit signing key, never the developer's own."""
    monkeypatch.setenv("GEMINI_ASSETS_AUDIT_KEY", str(tmp_path / "keys" / "audit_ed25519.pem"))
