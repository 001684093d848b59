"""What the gateway adds per call over the bare SDK, at p50 and p95, on a zero-latency emulator.

    .venv/bin/python benchmarks/gateway_overhead.py [--calls 400]

One emulator process (no latency, no quota) answers four paths, called in turn one request at a
time so that machine noise hits them alike: the bare google-genai SDK (``generate_content``),
and ``GeminiGateway.generate`` without a limiter, with the in-process limiter and with the
shared SQLite limiter. The overhead is a path's p50 minus the bare SDK's p50. The same script
runs on any commit since the gateway took its current constructor, so a change is measured
against the commit before it on the same machine, back to back.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

MODEL = "gemini-3.8-flash"
SCHEMA = {"type": "object", "properties": {"description": {"type": "string"}}, "required": ["description"]}


def start_emulator(state: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "GEMINI_EMULATOR_KNOBS": "{}"}
    command = [sys.executable, "-m", "gemini_devkit.emulator", "--port", "0", "--state-dir", str(state)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    line = process.stdout.readline() if process.stdout else ""
    match = re.search(r"http://127\.0\.0\.1:\d+", line)
    if not match:
        process.kill()
        raise RuntimeError(f"the emulator did not start: {line!r}")
    return process, match.group(0)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 48), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def paths(url: str, work: Path) -> dict[str, Callable[[], object]]:
    from google import genai
    from google.genai import types

    from gemini_assets.core.contracts.calls import GenerateRequest, MediaRef
    from gemini_assets.core.gateway.gemini.client import GeminiGateway, RetrySettings
    from gemini_assets.core.gateway.ratelimit import limiter_for
    from gemini_assets.core.gateway.routing import Limits

    image = png()
    options = types.HttpOptions(base_url=url, api_version="v1beta", timeout=30_000)
    bare = genai.Client(api_key="bench", http_options=options)
    contents = [types.Part.from_bytes(data=image, mime_type="image/png"), "Describe the product."]
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
        media=MediaRef(mime_type="image/png", data=image),
        response_schema=SCHEMA,
        max_output_tokens=256,
    )
    roomy = Limits(rpm=1_000_000, tpm=10**12, rpd=10_000_000)
    retry = RetrySettings(max_attempts=1, timeout_s=30)
    gateways = {
        "gateway_no_limiter": GeminiGateway("bench", url, retry, None),
        "gateway_memory_limiter": GeminiGateway("bench", url, retry, limiter_for("memory", {}, roomy)),
        "gateway_sqlite_limiter": GeminiGateway(
            "bench", url, retry, limiter_for(f"sqlite://{work / 'limiter'}", {}, roomy)
        ),
    }
    calls: dict[str, Callable[[], object]] = {
        "bare_sdk": lambda: bare.models.generate_content(model=MODEL, contents=contents, config=config)
    }
    for name, gateway in gateways.items():
        calls[name] = lambda gateway=gateway: gateway.generate(request)
    return calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="per path, after 20 warm-up calls each")
    args = parser.parse_args()
    os.environ.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    with tempfile.TemporaryDirectory(prefix="gemini-assets-overhead-") as folder:
        work = Path(folder)
        emulator, url = start_emulator(work / "emulator")
        try:
            calls = paths(url, work)
            timings: dict[str, list[float]] = {name: [] for name in calls}
            for index in range(20 + args.calls):
                for name, call in calls.items():  # in turn: drift and noise hit every path alike
                    started = time.perf_counter()
                    call()
                    if index >= 20:
                        timings[name].append((time.perf_counter() - started) * 1000)
        finally:
            emulator.terminate()
            emulator.wait(10)
    bare_p50 = statistics.median(timings["bare_sdk"])
    report: dict = {"calls_per_path": args.calls, "cpus": os.cpu_count()}
    for name, values in timings.items():
        ordered = sorted(values)
        p50 = statistics.median(ordered)
        report[name] = {
            "p50_ms": round(p50, 3),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
            "overhead_p50_ms": round(p50 - bare_p50, 3),
        }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
