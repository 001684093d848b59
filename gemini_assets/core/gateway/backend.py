"""Pick the backend: the real Gemini API when GEMINI_API_KEY is set, else the bundled emulator.

The emulator is reached exactly like Gemini, over HTTP through the SDK; this module only starts
it (once per process, on a free loopback port) and hands its URL to the gateway, together with
the client-side quota limiter configured for that backend.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from gemini_assets.core import settings
from gemini_assets.core.gateway.gemini import GeminiGateway, RetrySettings
from gemini_assets.core.gateway.ratelimit import limiter_for
from gemini_assets.core.gateway.routing import load_routing

log = logging.getLogger(__name__)

# A placeholder the emulator accepts; never a real secret.
EMULATOR_KEY = "emulator-local-key"

_lock = threading.Lock()
_emulators: dict[str, str] = {}  # state dir -> URL of this process's emulator for it


@dataclass(frozen=True)
class Backend:
    name: str  # "gemini" | "emulator"
    base_url: str | None
    api_key: str

    def gateway(self, retry: RetrySettings | None = None, limiter_url: str | None = None) -> GeminiGateway:
        routing = load_routing()
        url = limiter_url or settings.limiter_url(self.name)
        limiter = limiter_for(url, dict(routing.limits), routing.limits_for("default"))
        return GeminiGateway(api_key=self.api_key, base_url=self.base_url, retry=retry, limiter=limiter)


def resolve_backend() -> Backend:
    key = settings.api_key()
    if key:
        return Backend("gemini", settings.base_url(), key)
    return Backend("emulator", _ensure_emulator(), EMULATOR_KEY)


def resolve_in_region_backend() -> Backend | None:
    """The endpoint restricted items may use, or None: then they are never sent anywhere."""
    url = settings.in_region_base_url()
    if not url:
        return None
    return Backend("in_region", url, settings.in_region_api_key() or settings.api_key() or EMULATOR_KEY)


def _ensure_emulator() -> str:
    state_dir = settings.emulator_state_dir()
    with _lock:
        if str(state_dir) not in _emulators:
            from gemini_devkit.emulator.server import start_emulator

            handle = start_emulator(state_dir)
            _emulators[str(state_dir)] = handle.url
            log.info("GEMINI_API_KEY is unset: using the bundled emulator at %s (state %s)", handle.url, state_dir)
        return _emulators[str(state_dir)]
