"""Throughput at the quota: the gateway vs the naive sequential base64 path, side by side.

An emulator process enforces a per-model RPM quota (default 600) with 1-2 s latency. The same
tiny PNGs go through (a) GeminiGateway: shared SQLite limiter, threads, retries honouring
RetryInfo, and (b) the frontend-style baseline: read file, base64, POST with raw HTTP, no limiter,
no retry ("hope"), one at a time. The emulator's own counters give the bytes on the wire.

    .venv/bin/python benchmarks/gateway_throughput.py                 # 2,000 items, ~6 min
    .venv/bin/python benchmarks/gateway_throughput.py --items 300 --baseline-items 30   # quick look
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from _common import window_utilisation
from PIL import Image

from gemini_assets.core.contracts.calls import GenerateRequest, MediaRef
from gemini_assets.core.gateway.gemini.client import GeminiGateway, RetrySettings
from gemini_assets.core.gateway.ratelimit import QuotaLimiter
from gemini_assets.core.gateway.routing import Limits

MODEL = "gemini-3.8-flash"
SCHEMA = {"type": "object", "properties": {"description": {"type": "string"}}, "required": ["description"]}
PROMPT = "Describe the product in one sentence."


def tiny_pngs(count: int, seed: int = 4) -> list[bytes]:
    rng = random.Random(seed)  # noqa: S311 - reproducible test images, not security
    images = []
    for _ in range(count):
        image = Image.new("RGB", (48, 48), tuple(rng.randrange(256) for _ in range(3)))
        image.paste(
            Image.new("RGB", (16, 16), tuple(rng.randrange(256) for _ in range(3))),
            (rng.randrange(32), rng.randrange(32)),
        )
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        images.append(buffer.getvalue())
    return images


def start_emulator_process(state_dir: Path, knobs: dict) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gemini_devkit.emulator",
            "--port",
            "0",
            "--state-dir",
            str(state_dir),
            "--knobs",
            json.dumps(knobs),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()  # "Gemini emulator listening on http://127.0.0.1:PORT (state: ...)"
    return process, line.split("listening on ", 1)[1].split(" ", 1)[0]


def control(url: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{url}/_emulator/{path}", data=data, method="POST" if data else "GET")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return json.loads(response.read())


def served_times(state_dir: Path) -> list[tuple[float, int]]:
    rows = [json.loads(line) for line in (state_dir / "served.jsonl").read_text().splitlines() if line.strip()]
    return [(datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).timestamp(), r["status"]) for r in rows]


def run_gateway(url: str, images: list[bytes], limiter_dir: Path, rpm: int, concurrency: int) -> dict:
    limiter = QuotaLimiter(f"sqlite://{limiter_dir}", {MODEL: Limits(rpm=rpm)})
    gateway = GeminiGateway("bench-key", url, RetrySettings(max_attempts=6, timeout_s=30), limiter)

    def one(data: bytes):
        request = GenerateRequest(
            MODEL, "Answer in JSON.", PROMPT, MediaRef("image/png", data=data, size_bytes=len(data)), SCHEMA, 256
        )
        return gateway.generate(request)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, images))
    elapsed = time.monotonic() - started
    gateway.close()
    attempts = [a for r in results for a in r.attempts]
    return {
        "items": len(images),
        "ok": sum(r.ok for r in results),
        "failed_after_retries": sum(not r.ok for r in results),
        "lost": len(images) - len(results),
        "attempts": len(attempts),
        "attempts_429": sum(a.status_code == 429 for a in attempts),
        "elapsed_s": elapsed,
    }


def run_naive(url: str, images: list[bytes], folder: Path) -> dict:
    """Frontend-style: file → base64 → one POST → hope. No limiter, no retry, no timeout policy."""
    paths = []
    for index, data in enumerate(images):
        path = folder / f"{index}.png"
        path.write_bytes(data)
        paths.append(path)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    ok = failed = 0
    started = time.monotonic()
    for path in paths:
        encoded = base64.b64encode(path.read_bytes()).decode()
        body = {
            "contents": [
                {
                    "role": "user",
                    "parts": [{"inlineData": {"mimeType": "image/png", "data": encoded}}, {"text": PROMPT}],
                }
            ],
            "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": SCHEMA},
        }
        request = urllib.request.Request(
            f"{url}/v1beta/models/{MODEL}:generateContent",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "x-goog-api-key": "bench-key"},
        )
        try:
            with opener.open(request, timeout=60) as response:
                ok += response.status == 200
        except Exception:  # noqa: BLE001 - the naive path drops what fails
            failed += 1
    return {"items": len(images), "ok": ok, "lost": failed, "elapsed_s": time.monotonic() - started}


def limiter_cost(folder: Path, acquires: int = 2000) -> dict:
    limiter = QuotaLimiter(f"sqlite://{folder}", {MODEL: Limits(rpm=10**7, tpm=10**9, rpd=10**7)})
    limiter.acquire(MODEL, 1500, 10)  # create the files first
    samples = []
    for _ in range(acquires):
        started = time.perf_counter()
        limiter.acquire(MODEL, 1500, 10)
        samples.append((time.perf_counter() - started) * 1e6)
    limiter.close()
    samples.sort()
    return {
        "acquires": acquires,
        "p50_us": samples[len(samples) // 2],
        "p95_us": samples[int(len(samples) * 0.95)],
        "mean_us": statistics.fmean(samples),
        "dimensions": 3,
    }


def wire_by_path(url: str, count: int = 10) -> dict:
    """Bytes received by the server per media byte for ~100 KB images: inline base64 vs Files API."""
    rng = random.Random(9)  # noqa: S311 - reproducible test images, not security
    images = []
    for _ in range(count):
        buffer = io.BytesIO()
        Image.frombytes("RGB", (190, 180), rng.randbytes(190 * 180 * 3)).save(buffer, "PNG")
        images.append(buffer.getvalue())
    gateway = GeminiGateway("bench-key", url, RetrySettings(timeout_s=30))
    before = control(url, "stats")
    for data in images:
        gateway.generate(
            GenerateRequest(MODEL, "Answer in JSON.", PROMPT, MediaRef("image/png", data=data), SCHEMA, 256)
        )
    middle = control(url, "stats")
    for data in images:
        remote = gateway.upload(io.BytesIO(data), "image/png", "bench")
        gateway.generate(
            GenerateRequest(MODEL, "Answer in JSON.", PROMPT, MediaRef("image/png", file_uri=remote.uri), SCHEMA, 256)
        )
    after = control(url, "stats")
    gateway.close()
    media = sum(map(len, images))
    inline = middle.get("bytes_in_generateContent", 0) - before.get("bytes_in_generateContent", 0)
    files = sum(after.get(k, 0) - middle.get(k, 0) for k in ("bytes_in_generateContent", "bytes_in_upload"))
    return {
        "image_bytes_mean": media / count,
        "inline_per_media_byte": inline / media,
        "files_api_per_media_byte": files / media,
    }


class Emulator:
    """One emulator process per measurement, so each path starts with a fresh quota window."""

    def __init__(self, state_dir: Path, knobs: dict):
        self.state_dir = state_dir
        self.process, self.url = start_emulator_process(state_dir, knobs)

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--baseline-items", type=int, default=100, help="the sequential baseline is slow: a sample")
    parser.add_argument("--rpm", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args()
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    knobs = {"rpm": args.rpm, "latency_s": 1.0, "latency_jitter_s": 1.0, "seed": 1}
    images = tiny_pngs(args.items)
    media_bytes = sum(map(len, images))
    naive_images = images[: args.baseline_items]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        with Emulator(tmp_path / "emulator_gateway", knobs) as emulator:
            ours = run_gateway(emulator.url, images, tmp_path / "limiter", args.rpm, args.concurrency)
            stats_ours = control(emulator.url, "stats")
            times = [t for t, _ in served_times(emulator.state_dir)]
        with Emulator(tmp_path / "emulator_naive", knobs) as emulator:
            naive = run_naive(emulator.url, naive_images, tmp_path)
            stats_naive = control(emulator.url, "stats")
        with Emulator(tmp_path / "emulator_wire", {}) as emulator:
            wire = wire_by_path(emulator.url)
        cost = limiter_cost(tmp_path / "cost")
    achieved_rpm = 60 * ours["items"] / ours["elapsed_s"]
    naive_rpm = 60 * naive["items"] / naive["elapsed_s"]
    report = {
        "setup": {
            "items": args.items,
            "rpm_quota": args.rpm,
            "latency_s": "1-2 (uniform)",
            "concurrency": args.concurrency,
            "image_bytes_mean": media_bytes / len(images),
            "minute_window_s": 60,
        },
        "gateway": {
            **ours,
            "achieved_rpm": achieved_rpm,
            "fraction_of_limit": achieved_rpm / args.rpm,
            "windows": window_utilisation(times, args.rpm),
            "share_429": ours["attempts_429"] / ours["attempts"],
            "wire_bytes_per_media_byte": stats_ours["bytes_in_generateContent"] / media_bytes,
        },
        "naive_sequential": {
            **naive,
            "achieved_rpm": naive_rpm,
            "fraction_of_limit": naive_rpm / args.rpm,
            "projected_s_for_all_items": naive["elapsed_s"] * args.items / naive["items"],
            "wire_bytes_per_media_byte": stats_naive.get("bytes_in_generateContent", 0) / sum(map(len, naive_images)),
        },
        "wire_by_path_100kb_images": wire,
        "limiter_cost_per_acquire": cost,
    }
    report["speedup"] = achieved_rpm / naive_rpm
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
