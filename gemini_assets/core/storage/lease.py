"""Leases in object storage: one holder at a time for a name (a day and task's model calls).

Dagster's run queue limits runs by tag only for runs it launches; a CLI run, a sensor's run and a
colleague's run of the same day still meet in the steps. So the steps that call the model take a
lease in the one place every worker shares, the storage root, using the one compare-and-set
both stores have (``ObjectStore.create``: a hard link on disk, If-None-Match on S3):

- a lease is a sequence of claims ``leases/<name>/<epoch>.json``; whoever creates the next
  epoch holds it, so two contenders can never both win;
- the holder beats ``<epoch>.beat`` every ``ttl/4`` and marks ``<epoch>.released`` at the end;
- a claim whose beat is older than ``ttl`` (its holder hung or was killed), or whose holder
  process is gone from this host, may be taken over by creating the next epoch; a holder that
  finds a newer epoch has lost the lease and stops (``check``).

Hand-written because no library offers a lease over plain object storage; the protocol is the
usual epoch-numbered one (as in etcd or Chubby), reduced to create-if-absent.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gemini_assets.core.contracts.errors import LeaseBusy, LeaseLost
from gemini_assets.core.storage.objectstore import ObjectStore

PREFIX = "leases"


@dataclass(frozen=True)
class LeaseSettings:
    ttl_s: float = 120.0  # a holder silent this long is presumed dead
    wait_s: float = 900.0  # how long a second run waits before it gives up
    poll_s: float = 2.0

    @property
    def beat_s(self) -> float:
        return max(0.2, self.ttl_s / 4)


class Lease:
    def __init__(self, store: ObjectStore, name: str, holder: str, settings: LeaseSettings | None = None):
        self.store, self.name, self.settings = store, name, settings or LeaseSettings()
        self.holder = holder
        self.epoch: int | None = None
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._beater: threading.Thread | None = None

    # -- taking and giving back ------------------------------------------------------------
    def acquire(self, on_wait: Any = None) -> None:
        """Hold the lease, waiting up to ``wait_s`` for the current holder; raises LeaseBusy."""
        deadline = time.monotonic() + self.settings.wait_s
        told = False
        while True:
            latest = self._latest_epoch()
            if latest is None or self._free(latest):
                epoch = 0 if latest is None else latest + 1
                if self.store.create(self._key(epoch, "json"), json.dumps(self._claim()).encode()):
                    self.epoch = epoch
                    self._beat()
                    self._start_beating()
                    return
                continue  # another contender took that epoch: look again
            if time.monotonic() >= deadline:
                raise LeaseBusy(self.name, self.describe(latest), self.settings.wait_s)
            if on_wait is not None and not told:
                on_wait(self.describe(latest))
                told = True
            time.sleep(self.settings.poll_s)

    def release(self) -> None:
        self._stop.set()
        if self._beater is not None:
            self._beater.join(5)
        if self.epoch is not None and not self._lost.is_set():
            self.store.create(self._key(self.epoch, "released"), b"")
        self.epoch = None

    def check(self) -> None:
        """Raise LeaseLost if another process took the lease over (this one was presumed dead)."""
        if self._lost.is_set():
            raise LeaseLost(self.name)

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- claims ----------------------------------------------------------------------------
    def _key(self, epoch: int, suffix: str) -> str:
        return f"{PREFIX}/{self.name}/{epoch:010d}.{suffix}"

    def _claim(self) -> dict[str, Any]:
        return {
            "holder": self.holder,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "process_started": _process_start(os.getpid()),
            "acquired_at": datetime.now(UTC).isoformat(),
        }

    def _latest_epoch(self) -> int | None:
        epochs = [
            int(obj.key.rsplit("/", 1)[1].split(".")[0])
            for obj in self.store.walk_files(f"{PREFIX}/{self.name}")
            if obj.key.endswith(".json")
        ]
        return max(epochs, default=None)

    def _free(self, epoch: int) -> bool:
        if self.store.exists(self._key(epoch, "released")):
            return True
        claim = self.store.read_json(self._key(epoch, "json"))
        if claim.get("host") == socket.gethostname() and not _alive(claim.get("pid"), claim.get("process_started")):
            return True  # its process is gone: no need to wait out the ttl
        return time.time() - self._last_beat(epoch, claim) > self.settings.ttl_s

    def _last_beat(self, epoch: int, claim: dict[str, Any]) -> float:
        key = self._key(epoch, "beat")
        stamp = self.store.read_bytes(key).decode() if self.store.exists(key) else claim.get("acquired_at", "")
        return datetime.fromisoformat(stamp).timestamp() if stamp else 0.0

    def describe(self, epoch: int) -> str:
        claim = self.store.read_json(self._key(epoch, "json"))
        beat = datetime.fromtimestamp(self._last_beat(epoch, claim), UTC).isoformat(timespec="seconds")
        return f"{claim.get('holder')} (on {claim.get('host')}, pid {claim.get('pid')}, last heartbeat {beat})"

    # -- heartbeat -------------------------------------------------------------------------
    def _beat(self) -> None:
        if self.epoch is not None:
            self.store.replace(self._key(self.epoch, "beat"), datetime.now(UTC).isoformat().encode())

    def _start_beating(self) -> None:
        self._stop.clear()
        self._beater = threading.Thread(target=self._beat_loop, name=f"lease-{self.name}", daemon=True)
        self._beater.start()

    def _beat_loop(self) -> None:
        while not self._stop.wait(self.settings.beat_s):
            if self.epoch is None:
                return
            if self.store.exists(self._key(self.epoch + 1, "json")):
                self._lost.set()  # presumed dead and taken over: stop calling, say so
                return
            self._beat()


def holder_id(run_id: str | None) -> str:
    return f"run {run_id}" if run_id else f"process {os.getpid()}-{uuid.uuid4().hex[:6]}"


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


def _alive(pid: Any, started: Any) -> bool:
    if not isinstance(pid, int):
        return True  # unknown: only the ttl can tell
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _stat_fields(pid)
    if fields is None:
        return True  # no /proc: trust kill(0)
    if fields[0] in ("Z", "X"):
        return False  # killed, not yet reaped by its parent
    return started is None or (len(fields) > 19 and fields[19] == started)


def process_identity(pid: int | None = None) -> str:
    """``host:pid:start``: a process on a host, told apart from a later one that reuses its pid."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid) or ''}"


def process_gone(identity: str) -> bool:
    """True when the process ``identity`` names ran on this host and is no longer running (a
    process on another host cannot be checked from here: False)."""
    host, _, rest = identity.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    return not _alive(int(pid_text), started or None)
