"""What several benchmark scripts share: the bundled emulator in its own process."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path


def start_emulator(state: Path, knobs: dict | None = None) -> tuple[subprocess.Popen, str]:
    """The emulator on a free loopback port, with its knobs; returns the process and its URL."""
    env = {**os.environ, "GEMINI_EMULATOR_KNOBS": json.dumps(knobs or {})}
    command = [sys.executable, "-m", "gemini_devkit.emulator", "--port", "0", "--state-dir", str(state)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    line = process.stdout.readline() if process.stdout else ""
    match = re.search(r"http://127\.0\.0\.1:\d+", line)
    if not match:
        process.kill()
        raise RuntimeError(f"the emulator did not start: {line!r}")
    return process, match.group(0)


def window_utilisation(times: list[float], limit: int, window_s: float = 60.0) -> dict:
    """Requests in each full window [t, t + window) sliding by 1 s from the first request: the max
    must never exceed the limit; the mean over the limit is the steady-state utilisation."""
    times, counts = sorted(times), []
    start = times[0] if times else 0.0
    while times and start + window_s <= times[-1]:
        counts.append(sum(1 for t in times if start <= t < start + window_s))
        start += 1.0
    if not counts:
        return {"full_windows": 0}
    return {
        "full_windows": len(counts),
        "max_in_window": max(counts),
        "mean_utilisation": round(statistics.fmean(counts) / limit, 3),
    }
