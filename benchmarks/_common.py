"""What several benchmark scripts share: the bundled emulator in its own process."""

from __future__ import annotations

import json
import os
import re
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
