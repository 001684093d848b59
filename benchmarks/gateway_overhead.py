"""What the gateway adds per call over the bare SDK, paired, on a zero-latency emulator.

    .venv/bin/python benchmarks/gateway_overhead.py [--calls 400] [--admissions 2000]

One emulator process (no latency, no quota) answers five paths called in turn, one request at a
time, the same request each (a short text note): the bare google-genai SDK (``generate_content``) and
``GeminiGateway.generate`` without a limiter and with the limiter on memory, on SQLite and on
Redis (a throwaway Debian redis-server on loopback). Each round calls every path once, so each
gateway call has a bare call beside it; the overhead is the median of those paired differences
(machine noise hits both of a pair alike). A second part times the admission alone
(``QuotaLimiter.acquire`` with RPM, TPM and RPD configured; a busy loop, so mostly from leases,
quota_lease.py) and one admission in each store itself, what a call without a lease pays.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import start_emulator

MODEL = "gemini-3.8-flash"
# A short text note, not an image: the emulator analyses an image for ~40 ms, which would bury a
# sub-millisecond difference in its noise; the gateway does the same work for either.
NOTE = b"Red ceramic mug, 350 ml, dishwasher safe."
ROOMY_LIMITS = {"rpm": 1_000_000, "tpm": 10**12, "rpd": 10_000_000}
SCHEMA = {"type": "object", "properties": {"description": {"type": "string"}}, "required": ["description"]}


def paths(url: str, stores: dict[str, str]) -> dict[str, Callable[[], object]]:
    from google import genai
    from google.genai import types

    from gemini_assets.core.contracts.calls import GenerateRequest, MediaRef
    from gemini_assets.core.gateway.gemini.client import GeminiGateway, RetrySettings
    from gemini_assets.core.gateway.ratelimit import limiter_for
    from gemini_assets.core.gateway.routing import Limits

    note = NOTE
    options = types.HttpOptions(base_url=url, api_version="v1beta", timeout=30_000)
    bare = genai.Client(api_key="bench", http_options=options)
    contents = [types.Part.from_bytes(data=note, mime_type="text/plain"), "Describe the product."]
    config = types.GenerateContentConfig(
        system_instruction="Answer in JSON.",
        response_mime_type="application/json",
        response_json_schema=SCHEMA,
        max_output_tokens=256,
        temperature=0.0,
    )
    request = GenerateRequest(
        model=MODEL,
        system_prompt="Answer in JSON.",
        user_text="Describe the product.",
        media=MediaRef(mime_type="text/plain", data=note),
        response_schema=SCHEMA,
        max_output_tokens=256,
    )
    retry = RetrySettings(max_attempts=1, timeout_s=30)
    gateways = {"gateway_no_limiter": GeminiGateway("bench", url, retry, None)}
    for name, store in stores.items():
        limiter = limiter_for(store, {}, Limits(**ROOMY_LIMITS))
        gateways[f"gateway_{name}_limiter"] = GeminiGateway("bench", url, retry, limiter)
    calls: dict[str, Callable[[], object]] = {
        "bare_sdk": lambda: bare.models.generate_content(model=MODEL, contents=contents, config=config)
    }
    for name, gateway in gateways.items():
        calls[name] = lambda gateway=gateway: gateway.generate(request)
    return calls


def admission_costs(stores: dict[str, str], count: int) -> dict[str, dict[str, float]]:
    """``QuotaLimiter.acquire`` alone, per store: what admission costs without any HTTP around it."""
    from gemini_assets.core.gateway.ratelimit import limiter_for
    from gemini_assets.core.gateway.routing import Limits

    report = {}
    for name, store in stores.items():
        limiter = limiter_for(store, {}, Limits(**ROOMY_LIMITS), namespace=f"admission-{name}")
        assert limiter is not None
        timings = []
        for _ in range(count):
            started = time.perf_counter()
            limiter.acquire(MODEL, 1500, timeout_s=5)
            timings.append((time.perf_counter() - started) * 1000)
        limiter.close()
        report[name] = summary(timings)
    return report


def store_round_trips(stores: dict[str, str], count: int) -> dict[str, dict[str, float]]:
    """One admission in the store itself (RPD, TPM and RPM at once), as every call without a lease
    pays it: the SQLite transaction, the Redis script."""
    from gemini_assets.core.gateway.quota_store import Demand, quota_store

    demands = [
        Demand("rpd", 86_400_000, 10**9, 1),
        Demand("tpm", 60_000, 10**12, 1500),
        Demand("rpm", 60_000, 10**9, 1),
    ]
    report = {}
    for name, url in stores.items():
        store = quota_store(url)
        timings = []
        for _ in range(count):
            started = time.perf_counter()
            store.admit(f"round-trip-{name}", demands)
            timings.append((time.perf_counter() - started) * 1000)
        store.close()
        report[name] = summary(timings)
    return report


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="per path, after 20 warm-up calls each")
    parser.add_argument("--admissions", type=int, default=2000, help="acquire() calls per store")
    args = parser.parse_args()
    os.environ.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    from gemini_devkit.redis_server import RedisServer

    with tempfile.TemporaryDirectory(prefix="gemini-assets-overhead-") as folder:
        work = Path(folder)
        redis = RedisServer().start()
        emulator, url = start_emulator(work / "emulator")
        stores = {"memory": "memory", "sqlite": f"sqlite://{work / 'limiter'}", "redis": redis.url}
        try:
            calls = paths(url, stores)
            timings: dict[str, list[float]] = {name: [] for name in calls}
            for index in range(20 + args.calls):
                for name, call in calls.items():  # in turn: drift and noise hit every path alike
                    started = time.perf_counter()
                    call()
                    if index >= 20:
                        timings[name].append((time.perf_counter() - started) * 1000)
            admissions = admission_costs(stores, args.admissions)
            round_trips = store_round_trips(stores, args.admissions)
        finally:
            emulator.terminate()
            emulator.wait(10)
            redis.stop()
    bare = timings["bare_sdk"]
    report: dict = {"calls_per_path": args.calls, "cpus": os.cpu_count()}
    for name, values in timings.items():
        paired = [value - base for value, base in zip(values, bare, strict=True)]
        report[name] = {**summary(values), "overhead_p50_ms": round(statistics.median(paired), 3)}
    report["admission_alone"] = admissions  # QuotaLimiter.acquire in a tight loop: mostly from leases
    report["store_round_trip"] = round_trips
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
