"""A real GeminiGateway (google-genai over HTTP) against the emulator of the root conftest."""

from __future__ import annotations

import pytest

from gemini_assets.core.contracts.calls import GenerateRequest, MediaRef
from gemini_assets.core.gateway.gemini.client import GeminiGateway, RetrySettings
from gemini_assets.core.gateway.ratelimit import QuotaLimiter
from gemini_devkit.emulator import EmulatorHandle
from gemini_devkit.redis_server import RedisServer

MODEL = "gemini-3.8-flash"
FAST = RetrySettings(max_attempts=4, initial_backoff_s=0.01, max_backoff_s=0.05, timeout_s=5, breaker_failures=50)


def make_gateway(
    emulator: EmulatorHandle, retry: RetrySettings = FAST, limiter: QuotaLimiter | None = None
) -> GeminiGateway:
    return GeminiGateway(api_key="test-key", base_url=emulator.url, retry=retry, limiter=limiter)


def text_request(text: str = "Describe the item.", model: str = MODEL) -> GenerateRequest:
    return GenerateRequest(
        model=model,
        system_prompt="Answer in JSON.",
        user_text=text,
        media=MediaRef(mime_type="text/plain", data=b"a plain note"),
        response_schema={
            "type": "object",
            "properties": {"description": {"type": "string"}},
            "required": ["description"],
        },
        max_output_tokens=256,
    )


@pytest.fixture(params=["sqlite", "redis"])
def shared_store(request, tmp_path):
    """One store for quotas and breakers of several processes: SQLite on this machine, or a real
    redis-server (Debian's package, a throwaway one on a loopback port)."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'quota'}"
        return
    server = RedisServer().start()
    try:
        yield server.url
    finally:
        server.stop()
