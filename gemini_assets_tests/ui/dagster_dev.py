"""`dagster dev` as a test fixture: started on loopback in its own process group, always stopped.

The webserver, the daemon, the code servers and the runs they launch all share the process
group of `dagster dev`, so stopping the group leaves nothing behind even when `dagster dev`
ignores a polite signal (it can: notes/dagster.md §1.4).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(url: str, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{url}/graphql", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.load(response)
    if answer.get("errors"):
        raise RuntimeError(f"GraphQL errors: {answer['errors']}")
    return answer["data"]


LOCATION_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries {
  name locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


class DagsterDev:
    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None):
        self.env, self.log_path = env, log_path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 240) -> None:
        dagster = Path(sys.executable).parent / "dagster"
        command = [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(self.port)]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - the server writes to it until stop() closes it
        self.process = subprocess.Popen(
            command, cwd=REPO, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dagster dev exited with {self.process.returncode}:\n{self.log_tail()}")
            if self._location_loaded():
                return
            time.sleep(1)
        raise TimeoutError(f"dagster dev did not load the code location in {timeout_s:.0f} s:\n{self.log_tail()}")

    def _location_loaded(self) -> bool:
        try:
            entries = graphql(self.url, LOCATION_QUERY, timeout=5)["workspaceOrError"]["locationEntries"]
        except (OSError, RuntimeError, KeyError, ValueError):
            return False
        for entry in entries:
            loaded = (entry.get("locationOrLoadError") or {}).get("__typename")
            if loaded == "PythonError":
                raise RuntimeError(
                    f"code location {entry['name']} failed to load: {entry['locationOrLoadError']['message']}"
                )
            if entry["name"] == "gemini_assets" and loaded == "RepositoryLocation":
                return True
        return False

    def stop(self, grace_s: float = 20) -> None:
        if self.process is None:
            return
        group = self.process.pid  # start_new_session: the group id is the leader's pid
        _signal_group(group, signal.SIGINT)  # dagster dev's own shutdown of its children
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace_s)
        _signal_group(group, signal.SIGKILL)  # whatever is left of the group, the runs included
        self.process.wait(timeout=30)
        self._log.close()
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, sig)
