"""Fixtures: a real emulator on an ephemeral port and a real google-genai client."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from google import genai
from google.genai import types

from gemini_devkit.emulator import EmulatorHandle, start_emulator


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK's HTTP clients honour HTTP(S)_PROXY; loopback traffic must bypass it.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorHandle]:
    handle = start_emulator(tmp_path / "state")
    yield handle
    handle.stop()


def make_client(base_url: str) -> genai.Client:
    return genai.Client(
        api_key="test-key",
        http_options=types.HttpOptions(base_url=base_url, api_version="v1beta"),
    )


@pytest.fixture
def client(emulator: EmulatorHandle) -> Iterator[genai.Client]:
    with make_client(emulator.url) as sdk_client:
        yield sdk_client


def raw_request(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    """A plain HTTP call for what the SDK never sends (no key, bad JSON), bypassing proxies."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
