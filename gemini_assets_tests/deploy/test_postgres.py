"""Two partitions in parallel from two processes share one Dagster instance and one quota.

A local PostgreSQL (Debian package) holds both the Dagster instance (deploy/dagster.postgres.yaml
through dagster-postgres) and the gateway's shared RPM/TPM/RPD limiter
(GEMINI_ASSETS_LIMITER=postgresql://...). Two `dagster asset materialize` processes, one per
day, run at the same time with nothing else in common but those URLs and the storage root, as
two hosts would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from gemini_assets.core.gateway.breaker_board import PostgresBoard
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.storage.tables import read_partition
from gemini_assets_tests.deploy.postgres import PostgresCluster
from gemini_devkit.samples.day import seed_day

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]
DAYS = ("2026-11-10", "2026-11-11")
UPLOADS_PER_DAY = 4
IN_PROCESS = '{"execution": {"config": {"in_process": {}}}}'  # one process per run: the two runs are the two processes


@pytest.fixture(scope="module")
def postgres():
    cluster = PostgresCluster()
    try:
        cluster.start(["dagster", "limiter"])
        yield cluster
    finally:
        cluster.stop()


def test_two_partitions_in_parallel_share_one_instance_and_one_limit(postgres, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"  # made empty by the suite's conftest
    shutil.copy(REPO / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_URL", postgres.url("dagster", driver="psycopg2"))
    monkeypatch.setenv("GEMINI_ASSETS_LIMITER", postgres.url("limiter"))
    store = ObjectStore(os.environ["GEMINI_ASSETS_STORAGE"])
    for day in DAYS:
        seed_day(store, day, UPLOADS_PER_DAY)

    dagster = Path(sys.executable).parent / "dagster"
    # Pools are created lazily by the first step that claims a slot; two processes doing that at
    # the same moment race on the same row (UniqueViolation). A deployment sets them once, first.
    subprocess.run(
        [str(dagster), "instance", "concurrency", "set", "gemini_api", "2"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    processes = {
        day: subprocess.Popen(
            [
                str(dagster),
                "asset",
                "materialize",
                "-m",
                "gemini_assets.definitions",
                "--select",
                "*",
                "--partition",
                day,
                "--config-json",
                IN_PROCESS,
            ],
            cwd=REPO,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for day in DAYS
    }
    outputs = {}
    for day, process in processes.items():
        outputs[day], _ = process.communicate(timeout=240)
        assert process.returncode == 0, outputs[day][-3000:]

    # One instance: both runs, from two processes, are in the Postgres run storage.
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        records = instance.get_run_records()
        by_day = {record.dagster_run.tags.get("dagster/partition"): record for record in records}
        assert set(by_day) == set(DAYS) and len(records) == 2
        assert all(record.dagster_run.status == dg.DagsterRunStatus.SUCCESS for record in records)
        first, second = (by_day[day] for day in DAYS)
        # In parallel: each run started before the other one ended.
        assert first.start_time < second.end_time and second.start_time < first.end_time
        checks = instance.get_records_for_run(
            first.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        assert checks and all(r.event_log_entry.dagster_event.event_specific_data.passed for r in checks)

    # One limit: each call saw the other process's calls in the same minute window.
    ledgers = {day: read_partition(store, "call_ledger", day) for day in DAYS}
    calls = sum(len(ledger) for ledger in ledgers.values())
    assert all(len(ledger) >= UPLOADS_PER_DAY for ledger in ledgers.values())
    highest = max(int(ledger["rpm_used"].max()) for ledger in ledgers.values())
    assert highest > max(len(ledger) for ledger in ledgers.values()), "rpm counts of one run only: limiter not shared"
    with psycopg.connect(postgres.url("limiter")) as connection:
        totals = dict(connection.execute("SELECT key, total FROM gemini_assets_quota_total").fetchall())
    keys = sorted(totals)
    # rpm_used may count slots another process had leased and not used yet (quota_lease.py); once
    # both are done the day's count is exact: both runs' calls, the unused lease slots refunded.
    (day_total,) = (total for key, total in totals.items() if key.endswith(":rpd"))
    assert day_total == calls, (totals, calls)
    print(f"\n{calls} calls from 2 processes; highest rpm_used seen {highest}; limiter keys {sorted(keys)}")


def test_an_open_breaker_on_postgres_is_seen_by_every_worker(postgres):
    url = postgres.url("limiter")
    first, second = PostgresBoard(url), PostgresBoard(url)  # two workers' connections
    assert second.opened_until("scope|gemini-3.8-flash") is None
    until = time.time() + 30
    first.publish("scope|gemini-3.8-flash", until)
    assert second.opened_until("scope|gemini-3.8-flash") == pytest.approx(until)
    assert second.opened_until("other-scope|gemini-3.8-flash") is None
    second.publish("scope|gemini-3.8-flash", None)  # its probe succeeded
    assert first.opened_until("scope|gemini-3.8-flash") is None


def test_workers_starting_together_all_get_the_breaker_board(postgres):
    """Guards: two runs starting at once failed with UniqueViolation on pg_type: Postgres's
    CREATE TABLE IF NOT EXISTS is not atomic between sessions."""
    url = postgres.url("limiter")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS gemini_assets_breakers")
    with ThreadPoolExecutor(max_workers=6) as pool:
        boards = list(pool.map(lambda _: PostgresBoard(url), range(6)))
    boards[0].publish("scope|model", time.time() + 30)
    assert all(board.opened_until("scope|model") is not None for board in boards)
