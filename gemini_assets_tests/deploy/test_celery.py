"""A seven-day backfill whose steps run on two dagster-celery workers under one shared quota.

The deployment of docs/deploy.md (Recipe B), every piece a real process on loopback: PostgreSQL
holds the Dagster instance (deploy/dagster.postgres.yaml); one redis-server is the Celery broker
(db 1), the result backend (db 2) and the gateway's shared quota store (db 0); one bundled
emulator, reached over HTTP by every worker, enforces the model's RPM with real 429s; one
`dagster-daemon` runs the run queue; two `dagster-celery worker` processes stand for two hosts.
`dagster job backfill` queues one run per day; the daemon admits them four at a time, and each
run sends its steps to whichever worker takes them. The routes file gives the model the
emulator's RPM, so only the shared limiter keeps the two workers from being refused.

The instance settings are deploy/dagster.postgres.yaml with one change: four backfill runs at
once instead of two, so that seven days take two waves rather than four and the test stays near
three minutes on two cores (each run's process takes 10-20 s to start there). The shipped limits
themselves are checked by test_instance_config.py.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml

from gemini_assets.core.audit.signing import load_or_create_key
from gemini_assets.core.storage.checks import check_partition
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.storage.tables import read_partition
from gemini_assets_tests.deploy.postgres import PostgresCluster
from gemini_devkit.emulator import read_served_log
from gemini_devkit.redis_server import RedisServer
from gemini_devkit.samples.day import IMAGE_TASK, seed_day

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MODEL = "gemini-3.8-flash"  # the default route's model (config/routes.yaml)
DAYS = [f"2026-11-{day:02d}" for day in range(1, 8)]
PHOTOS_PER_DAY = 3
RPM = 11  # the emulator's quota and the routes file's limit: 21 calls need two minute windows
BACKFILL_RUNS = 4
SKEW_S = 2.0  # most the emulator may see a call later than the limiter admitted it
WORKERS = ("worker-a", "worker-b")
BACKFILL_TIMEOUT_S = 420
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@pytest.fixture
def postgres():
    cluster = PostgresCluster()
    try:
        cluster.start(["dagster"])
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


class Services:
    """Long-running processes of the deployment, each in its own session with its log in a file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("wb")
        environment = {**os.environ, **(env or {})}
        process = subprocess.Popen(
            command, cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def tails(self) -> str:
        return "\n".join(f"--- {name}.log ---\n{self.log(name)[-3000:]}" for name in self.processes)

    def stop(self) -> None:
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=30)
        for process in self.processes.values():
            _signal_group(process, signal.SIGKILL)  # pool children a dying worker left behind


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group has ended already
        os.killpg(process.pid, signum)


def _routes_with_rpm(path: Path, rpm: int) -> Path:
    routes = yaml.safe_load((REPO / "gemini_assets" / "config" / "routes.yaml").read_text())
    routes["limits"][MODEL]["rpm"] = rpm
    path.write_text(yaml.safe_dump(routes))
    return path


def _seed(store: ObjectStore) -> None:
    for day in DAYS:
        seed_day(store, day, PHOTOS_PER_DAY)
        # One upload per day that intake must quarantine, so conservation has both outcomes.
        store.write_bytes(f"landing/{day}/{IMAGE_TASK}/shop-lyon/not-a-photo.jpg", b"<html>renamed page</html>")


def _dagster(*args: str) -> str:
    done = subprocess.run(
        [str(BIN / "dagster"), *args], cwd=REPO, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _wait_for_backfill(instance: dg.DagsterInstance, backfill_id: str, services: Services) -> list[dg.DagsterRun]:
    deadline = time.monotonic() + BACKFILL_TIMEOUT_S
    while True:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        if len(runs) == len(DAYS) and all(run.status in FINISHED for run in runs):
            return runs
        if time.monotonic() > deadline:
            states = sorted((run.tags.get("dagster/partition"), run.status.value) for run in runs)
            pytest.fail(f"backfill not done after {BACKFILL_TIMEOUT_S} s: {states}\n{services.tails()}")
        for name, process in services.processes.items():
            assert process.poll() is None, f"{name} exited ({process.returncode})\n{services.tails()}"
        time.sleep(2)


def _host_environment(folder: Path, audit_key: Path, dagster_yaml: Path) -> dict[str, str]:
    """A worker's own home and DAGSTER_HOME, with copies of the instance settings and the audit key,
    as on a host of its own; what remains shared is what hosts share: URLs and the storage root."""
    dagster_home = folder / "dagster_home"
    dagster_home.mkdir(parents=True)
    (dagster_home / "dagster.yaml").write_bytes(dagster_yaml.read_bytes())
    own_key = folder / audit_key.name
    own_key.write_bytes(audit_key.read_bytes())
    return {"HOME": str(folder), "DAGSTER_HOME": str(dagster_home), "GEMINI_ASSETS_AUDIT_KEY": str(own_key)}


def _worker_command(name: str) -> list[str]:
    # --pool=solo: intake probes media in a child process, which the prefork pool's daemonic
    # children may not start ("daemonic processes are not allowed to have children").
    # -i: the definitions are imported once, when the worker starts, not by its first step.
    return [
        *(str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-n", name),
        *("-y", str(REPO / "deploy" / "celery.yaml"), "-i", "gemini_assets.definitions", "--", "--pool=solo"),
    ]


def _most_in_window(moments: list[datetime], seconds: float) -> int:
    """The largest number of moments (sorted) inside any window of that length."""
    most, first = 0, 0
    for last, moment in enumerate(moments):
        while moments[first] <= moment - timedelta(seconds=seconds):
            first += 1
        most = max(most, last - first + 1)
    return most


@pytest.mark.timeout(BACKFILL_TIMEOUT_S + 180)
def test_a_backfill_runs_its_steps_on_two_celery_workers_under_one_quota(
    postgres, redis_server, emulator, store, tmp_path, monkeypatch
):
    home = tmp_path / "dagster_home"  # made empty by the suite's conftest
    instance_settings = yaml.safe_load((REPO / "deploy" / "dagster.postgres.yaml").read_text())
    instance_settings["concurrency"]["runs"]["tag_concurrency_limits"][0]["limit"] = BACKFILL_RUNS
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_settings))
    redis_db = redis_server.url.removesuffix("/0")
    monkeypatch.setenv("DAGSTER_PG_URL", postgres.url("dagster", driver="psycopg2"))
    monkeypatch.setenv("GEMINI_ASSETS_LIMITER", f"{redis_db}/0")
    monkeypatch.setenv("GEMINI_ASSETS_EXECUTOR", "celery")
    monkeypatch.setenv("GEMINI_ASSETS_CELERY_BROKER", f"{redis_db}/1")
    monkeypatch.setenv("GEMINI_ASSETS_CELERY_BACKEND", f"{redis_db}/2")
    monkeypatch.setenv("GEMINI_ASSETS_ROUTES", str(_routes_with_rpm(tmp_path / "routes.yaml", RPM)))
    # `dagster-celery worker start` runs the `celery` program it finds on PATH (an activated venv).
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    emulator.set_knobs(rpm=RPM)  # the provider's quota: a call over it is answered 429
    # Provisioned once and copied to every host: each host verifies the day's audit checkpoints,
    # signed by whichever host ran a step, against its own copy (core/audit/verify.py).
    audit_key = tmp_path / "audit_ed25519.pem"
    load_or_create_key(audit_key)

    services = Services(tmp_path)
    try:
        started = time.monotonic()
        # Workers and daemon boot while the day is seeded; steps wait in the broker until then.
        workers = {
            name: services.start(
                name, _worker_command(name), _host_environment(tmp_path / name, audit_key, home / "dagster.yaml")
            )
            for name in WORKERS
        }
        # The commands of deploy/Procfile, with the repository's workspace.yaml.
        services.start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"])
        _seed(store)
        # Pools are created lazily by the first step that claims a slot; two runs doing that at
        # the same moment race on the same row. A deployment sets them once, first (docs/deploy.md).
        _dagster("instance", "concurrency", "set", "gemini_api", "2")
        launched = _dagster(
            "job",
            "backfill",
            "-w",
            "workspace.yaml",
            "-j",
            "daily_pipeline",
            "--partitions",
            ",".join(DAYS),
            "--noprompt",
        )
        backfill_id = re.search(r"Launched backfill job `(\w+)`", launched).group(1)
        with dg.DagsterInstance.get() as instance:
            runs = _wait_for_backfill(instance, backfill_id, services)
            elapsed = time.monotonic() - started
            failed = [run.tags.get("dagster/partition") for run in runs if run.status != dg.DagsterRunStatus.SUCCESS]
            assert not failed, f"runs of {failed} did not succeed\n{services.tails()}"
            assert sorted(run.tags["dagster/partition"] for run in runs) == DAYS
            steps_by_worker = _steps_by_worker(instance, runs)
            step_pids = _step_pids(instance, runs)
        # Each worker is a session of its own: its pool's processes carry its group id.
        worker_groups = {process.pid: name for name, process in workers.items()}
        pids_by_worker = collections.Counter(worker_groups.get(os.getpgid(pid)) for pid in step_pids)
    finally:
        services.stop()

    # Every step of every run went through Celery, and both workers took steps. Two signals: the
    # worker name dagster-celery records on each step, and the process that emitted the step's events.
    assert set(steps_by_worker) == set(WORKERS), steps_by_worker
    assert all(steps_by_worker.values())
    assert set(pids_by_worker) == set(WORKERS), pids_by_worker

    # The shared limiter held both workers to the quota. The client's minute of a call starts when
    # it admits the call (plus the limiter's 250 ms margin), the emulator's when it has read the
    # request, which on two busy cores can be later still; so a call admitted as the oldest one
    # leaves the client's minute can reach the emulator while that call is still inside its
    # minute, and is refused. Those boundary 429s are allowed (the gateway retries them); any other
    # refusal, or more attempts in a minute than the quota beyond that skew, would mean the two
    # workers did not share one limit.
    attempts = [r for r in read_served_log(emulator.state_dir) if r["method"] == "generateContent"]
    assert attempts and {r["model"] for r in attempts} == {MODEL}
    assert {r["status"] for r in attempts} <= {200, 429}, collections.Counter(r["status"] for r in attempts)
    answered = sorted(_moment(r) for r in attempts if r["status"] == 200)
    refused = sorted(_moment(r) for r in attempts if r["status"] == 429)
    assert _most_in_window(sorted(answered + refused), 60 - SKEW_S) <= RPM
    for moment in refused:
        before = [m for m in answered if m <= moment]
        # The quota's worth of answered calls before the refusal began almost a minute earlier.
        assert len(before) >= RPM and moment - before[-RPM] >= timedelta(seconds=60 - SKEW_S), (moment, before)
    # The quota bound: more calls than a minute allows, and some minute filled to the quota.
    busiest = _most_in_window(answered, 60)
    assert len(answered) > RPM and busiest == RPM
    assert answered[-1] - answered[0] >= timedelta(seconds=60)

    # Nothing lost and nothing answered twice.
    items = 0
    ledgers = []
    for day in DAYS:
        tables = {
            name: read_partition(store, name, day)
            for name in (
                "raw_media",
                "validated_media",
                "quarantined_media",
                "model_outputs",
                "validated_records",
                "review_queue",
                "call_ledger",
            )
        }
        ids = {name: set(frame["media_id"]) for name, frame in tables.items()}
        assert len(tables["raw_media"]) == PHOTOS_PER_DAY + 1
        intake = check_partition(
            ids["raw_media"],
            {name: ids[name] for name in ("validated_media", "quarantined_media")},
            "raw_media",
        )
        outcome = check_partition(
            ids["validated_media"],
            {name: ids[name] for name in ("validated_records", "review_queue")},
            "validated_media",
        )
        assert intake.passed and outcome.passed, (day, intake.problems, outcome.problems)
        assert len(ids["quarantined_media"]) == 1
        outputs = tables["model_outputs"]
        assert len(outputs) == len(ids["validated_media"]) and set(outputs["media_id"]) == ids["validated_media"]
        items += len(ids["validated_media"])
        ledgers.append(tables["call_ledger"])
    # Each item's content was answered by generateContent exactly once across the whole backfill;
    # a content sent again was one the emulator had refused.
    sent = collections.Counter(media["sha256"] for r in attempts if r["status"] == 200 for media in r["media"])
    assert len(sent) == items and set(sent.values()) == {1}, sent
    resent = {media["sha256"] for r in attempts if r["status"] == 429 for media in r["media"]}
    assert resent <= set(sent)
    ledger = pd.concat(ledgers)
    ok = ledger[ledger["status_code"] == 200]
    assert len(ok) == items and ok["media_id"].is_unique
    assert sorted(ledger.loc[ledger["status_code"] != 200, "status_code"]) == [429] * len(refused)
    print(
        f"\n{len(DAYS)} runs in {elapsed:.0f} s; steps per worker {steps_by_worker}; {len(answered)} calls "
        f"answered over {(answered[-1] - answered[0]).total_seconds():.0f} s, at most {busiest} in a minute "
        f"(quota {RPM}); {len(refused)} refused at a minute's boundary"
    )


def _moment(served: dict) -> datetime:
    return datetime.fromisoformat(served["ts"].replace("Z", "+00:00"))


def _steps_by_worker(instance: dg.DagsterInstance, runs: list[dg.DagsterRun]) -> dict[str, int]:
    """Steps per Celery worker name (without the host part), as dagster-celery records them; asserts
    that every step of every run was delegated to a worker."""
    tally: collections.Counter[str] = collections.Counter()
    for run in runs:
        steps = {
            record.event_log_entry.step_key
            for record in instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_START).records
        }
        delegated = {}
        for record in instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records:
            event = record.event_log_entry.dagster_event
            worker = event.event_specific_data.metadata.get("Celery worker")
            if worker is not None:
                delegated[event.step_key] = worker.value.split("@")[0]
        assert steps and set(delegated) == steps, (run.tags.get("dagster/partition"), steps - set(delegated))
        tally.update(delegated.values())
    return dict(tally)


def _step_pids(instance: dg.DagsterInstance, runs: list[dg.DagsterRun]) -> set[int]:
    return {
        record.event_log_entry.dagster_event.pid
        for run in runs
        for record in instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_START).records
    }
