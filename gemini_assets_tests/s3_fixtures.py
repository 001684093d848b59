"""S3 for tests: moto's S3 server on 127.0.0.1 in a thread, the way s3fs tests itself.

``storage_root`` is parametrized over local disk and S3; tests and Dagster runs reach the store
through the same environment contract production uses (GEMINI_ASSETS_STORAGE and
GEMINI_ASSETS_S3_ENDPOINT), so the S3 variant exercises the real s3fs code path.
"""

from __future__ import annotations

import os
import uuid

import boto3
import pytest
import s3fs

from gemini_assets.core.config import load_settings
from gemini_assets.core.storage.objectstore import ObjectStore

DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    # Process-wide on purpose: probe children are spawned with this environment.
    saved = {name: os.environ.get(name) for name in (*DUMMY_CREDENTIALS, "AWS_PROFILE")}
    os.environ.update(DUMMY_CREDENTIALS)
    os.environ.pop("AWS_PROFILE", None)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def s3_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def s3_bucket(moto_endpoint, monkeypatch):
    """A fresh bucket per test (no stale s3fs listings), reachable through the env contract."""
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    s3_client(moto_endpoint).create_bucket(Bucket=bucket)
    yield bucket
    s3fs.S3FileSystem.clear_instance_cache()


# The S3 variant talks to a moto server in another process: slow (the fast loop runs the local one).
@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.slow)])
def backend_store(request, tmp_path, monkeypatch) -> ObjectStore:
    """The storage root on local disk or on moto S3, set through the environment contract."""
    if request.param == "local":
        root = str(tmp_path / "storage")
        monkeypatch.setenv("GEMINI_ASSETS_STORAGE", root)
        return ObjectStore(root)
    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    monkeypatch.setenv("GEMINI_ASSETS_STORAGE", f"s3://{bucket}/root")
    monkeypatch.setenv("GEMINI_ASSETS_S3_ENDPOINT", endpoint)
    return ObjectStore.from_settings(load_settings())
