"""One quota, two worker processes: how much of it they use, how many 429s they meet.

    .venv/bin/python benchmarks/shared_quota.py [--store redis] [--rpm 60] [--window-s 10] [--items 200]

Two OS processes stand for two hosts. Each runs a GeminiGateway with 8 threads and the shared
limiter (a throwaway Debian redis-server, or SQLite), and calls one emulator process that
enforces the quota with real-shaped 429s (QuotaFailure with quotaValue, RetryInfo) over a window
of ``--window-s`` seconds (shorter than a minute so a run takes a minute, not ten; the limiter
gets the same window). Latency per call is 0.2-0.6 s. Two scenarios, each with a fresh emulator:

- ``configured_equals_real``: routes.yaml's limit is the account's quota;
- ``configured_30x_real``: routes.yaml says 30 times the quota; the limiter learns the real one
  from the first 429s (its hint), in each worker.

Reported per scenario: items and attempts, the share of attempts answered 429, and from the
emulator's served log the requests in every full window (sliding by 1 s): the busiest window
must not exceed the quota; the mean is the steady-state utilisation.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from _common import start_emulator, window_utilisation

MODEL = "gemini-3.8-flash"
THREADS = 8
SCHEMA = {"type": "object", "properties": {"description": {"type": "string"}}, "required": ["description"]}


def worker(url: str, store: str, configured: int, window_ms: int, items: int, out: multiprocessing.Queue) -> None:
    from gemini_assets.core.contracts.calls import GenerateRequest, MediaRef
    from gemini_assets.core.gateway.gemini.client import GeminiGateway, RetrySettings
    from gemini_assets.core.gateway.ratelimit import QuotaLimiter
    from gemini_assets.core.gateway.routing import Limits

    limiter = QuotaLimiter(store, {MODEL: Limits(rpm=configured)}, minute_ms=window_ms, namespace="bench-account")
    retry = RetrySettings(max_attempts=8, timeout_s=30, breaker_failures=10_000)
    gateway = GeminiGateway("bench-key", url, retry, limiter)
    note = MediaRef(mime_type="text/plain", data=b"Red ceramic mug, 350 ml.")
    request = GenerateRequest(MODEL, "Answer in JSON.", "Describe the item.", note, SCHEMA, 128)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(lambda _: gateway.generate(request), range(items)))
    elapsed = time.monotonic() - started
    attempts = [attempt for result in results for attempt in result.attempts]
    out.put(
        {
            "items": items,
            "ok": sum(result.ok for result in results),
            "attempts": len(attempts),
            "attempts_429": sum(attempt.status_code == 429 for attempt in attempts),
            "elapsed_s": round(elapsed, 2),
            "learned_limits": gateway.learned_limits(),
        }
    )
    gateway.close()


def scenario(work: Path, store: str, rpm: int, configured: int, window_s: float, items: int) -> dict:
    knobs = {"rpm": rpm, "minute_s": window_s, "latency_s": 0.2, "latency_jitter_s": 0.4, "seed": 3}
    emulator, url = start_emulator(work / "emulator", knobs)
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = context.Queue()
    try:
        args = (url, store, configured, int(window_s * 1000), items, out)
        workers = [context.Process(target=worker, args=args) for _ in range(2)]
        started = time.monotonic()
        for process in workers:
            process.start()
        reports = [out.get(timeout=900) for _ in workers]
        for process in workers:
            process.join(60)
        elapsed = time.monotonic() - started
    finally:
        emulator.terminate()
        emulator.wait(10)
    served = [json.loads(line) for line in (work / "emulator" / "served.jsonl").read_text().splitlines() if line]
    admitted = [datetime.fromisoformat(row["ts"].replace("Z", "+00:00")).timestamp() for row in served]
    accepted = [t for t, row in zip(admitted, served, strict=True) if row["status"] == 200]
    attempts = sum(report["attempts"] for report in reports)
    refused = sum(report["attempts_429"] for report in reports)
    return {
        "configured_limit": configured,
        "real_limit": rpm,
        "workers": reports,
        "items": sum(report["items"] for report in reports),
        "ok": sum(report["ok"] for report in reports),
        "attempts": attempts,
        "share_429": round(refused / attempts, 4),
        "wall_s": round(elapsed, 2),
        "served_ok_per_window": window_utilisation(accepted, rpm, window_s),
        "served_all_per_window": window_utilisation(admitted, rpm, window_s),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["redis", "sqlite"], default="redis")
    parser.add_argument("--rpm", type=int, default=60, help="the account's real quota per window")
    parser.add_argument("--window-s", type=float, default=10.0)
    parser.add_argument("--items", type=int, default=200, help="per worker")
    args = parser.parse_args()
    os.environ.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    from gemini_devkit.redis_server import RedisServer

    report: dict = {"store": args.store, "window_s": args.window_s, "threads_per_worker": THREADS}
    for name, factor in (("configured_equals_real", 1), ("configured_30x_real", 30)):
        with tempfile.TemporaryDirectory(prefix="gemini-assets-shared-quota-") as folder:
            work = Path(folder)
            redis = RedisServer().start() if args.store == "redis" else None
            store = redis.url if redis else f"sqlite://{work / 'limiter'}"
            try:
                report[name] = scenario(work, store, args.rpm, args.rpm * factor, args.window_s, args.items)
            finally:
                if redis:
                    redis.stop()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
