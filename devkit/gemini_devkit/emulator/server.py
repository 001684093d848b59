"""Start/stop the Gemini Developer API emulator, in a thread or in the foreground."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import ssl
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .handler import EmulatorServer
from .knobs import KNOBS_ENV, Knobs, KnobsError, knobs_from_env, load_knobs
from .state import StateStore

KnobsSource = Knobs | dict | str | None

DEFAULT_PORT = 8765
STATE_DIR_ENV = "GEMINI_EMULATOR_STATE_DIR"


@dataclass
class EmulatorHandle:
    url: str  # "http://127.0.0.1:<port>"
    port: int
    state_dir: Path
    _server: EmulatorServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def knobs(self) -> Knobs:
        return self._server.store.behaviour.knobs

    def set_knobs(self, **changes: object) -> None:
        """Change knobs of the running instance (same as POST /_emulator/knobs)."""
        self._server.store.behaviour.update(changes)

    def stats(self) -> dict[str, int]:
        return dict(self._server.store.behaviour.stats)

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.close_connections()
        self._server.server_close()


def _bind(
    state_dir: str | Path, host: str, port: int, knobs: KnobsSource = None, ssl_context: ssl.SSLContext | None = None
) -> tuple[EmulatorServer, Path]:
    store = StateStore(state_dir, load_knobs(knobs))
    return EmulatorServer((host, port), store, ssl_context), store.root


def _client_host(host: str) -> str:
    # A wildcard bind is reachable on loopback; hand clients an address they can dial.
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 - a comparison, no bind


def start_emulator(
    state_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    knobs: KnobsSource = None,
    ssl_context: ssl.SSLContext | None = None,
) -> EmulatorHandle:
    """Serve in a daemon thread; returns once listening. `knobs`: see knobs.py. With an
    `ssl_context` (a server context holding a certificate) it serves HTTPS, e.g. behind a proxy test."""
    # No knobs given: GEMINI_EMULATOR_KNOBS decides, so the pipeline's own emulator can be tuned too.
    knobs = knobs if knobs is not None else knobs_from_env()
    server, root = _bind(state_dir, host, port, knobs, ssl_context)
    bound_port = server.server_address[1]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"gemini-emulator-{bound_port}", daemon=True
    )
    thread.start()
    scheme = "https" if ssl_context is not None else "http"
    return EmulatorHandle(f"{scheme}://{_client_host(host)}:{bound_port}", bound_port, root, server, thread)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m gemini_devkit.emulator --port N --state-dir DIR`: serve until Ctrl-C/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m gemini_devkit.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument(
        "--state-dir",
        default=os.environ.get(STATE_DIR_ENV, ".gemini_emulator"),
        help=f"shared state directory (default: ${STATE_DIR_ENV} or ./.gemini_emulator)",
    )
    parser.add_argument(
        "--knobs",
        default=None,
        help=f"JSON object or path to a JSON file of knobs (latency, quotas, errors; default: ${KNOBS_ENV})",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request at DEBUG")
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
    try:
        knobs = load_knobs(args.knobs, "--knobs") if args.knobs is not None else knobs_from_env()
    except KnobsError as exc:
        parser.error(str(exc))  # exits 2 with the message, like any bad option
    server, root = _bind(args.state_dir, args.host, args.port, knobs)
    port = server.server_address[1]

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)  # treat `kill` like Ctrl-C: close the socket cleanly
    print(f"Gemini emulator listening on http://{_client_host(args.host)}:{port} (state: {root})", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("Gemini emulator stopped.", file=sys.stderr, flush=True)
    finally:
        server.close_connections()
        server.server_close()
    return 0
