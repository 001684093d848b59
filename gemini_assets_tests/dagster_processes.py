"""Running the pipeline as operators do: `dagster asset materialize` in its own process.

Each run gets its own session (process group), so a test can kill it the way the OOM killer or
a crashed container does: every process of the run at once, with SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# One process per run: the run is the process a test kills.
IN_PROCESS = '{"execution": {"config": {"in_process": {}}}}'


def start_materialize(day: str, select: str = "*", env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    command = [
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "gemini_assets.definitions",
        "--select",
        select,
        "--partition",
        day,
        "--config-json",
        IN_PROCESS,
    ]
    return subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def materialize(day: str, select: str = "*", timeout: float = 300, env: dict[str, str] | None = None) -> str:
    """Run to the end; the run's output, asserting it succeeded."""
    process = start_materialize(day, select, env)
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-4000:]
    return output


def kill_run(process: subprocess.Popen[str]) -> None:
    """SIGKILL every process of the run at once, and reap them."""
    with contextlib.suppress(ProcessLookupError):  # it ended on its own just before
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)


def gemini_assets_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "gemini-assets"), *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
