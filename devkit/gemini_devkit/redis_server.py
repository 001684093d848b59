"""A throwaway redis-server from Debian's `redis-server` package, on a loopback port, no persistence
(the tests' and benchmarks' Redis: the shared quota store, the breaker board, the Celery broker)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    def __init__(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise RuntimeError("redis-server is missing: `./run test` installs Debian's redis-server package")
        self.binary, self.port = binary, free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="gemini-assets-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        log = (self.folder / "server.log").open("wb")
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        # Our own command line (the Debian binary, fixed arguments), not input from anyone.
        self.process = subprocess.Popen(  # noqa: S603
            [*command, "--dir", str(self.folder)], stdout=log, stderr=subprocess.STDOUT
        )
        from redis import Redis

        deadline = time.monotonic() + 30
        while True:
            try:
                if Redis.from_url(self.url, socket_timeout=1).ping():
                    return self
            except OSError:
                pass
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start: {self.folder / 'server.log'}") from exc
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)
