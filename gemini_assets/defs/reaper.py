"""Runs whose worker process died give their pool slots back.

A run killed with `kill -9` (the OOM killer, a crashed container, a closed terminal running
`dagster asset materialize`) stays STARTED in the instance for good and keeps its `gemini_api`
pool slots: after two such kills every later run waited at gemini_files forever. Dagster's run
monitoring only frees slots of runs that have ended, and the default run launcher cannot tell
whether a run's worker is alive. So every step that takes a pool slot tags its run with the
worker process (``gemini_assets/run_worker`` = host:pid:start), and `dead_run_reaper` (a sensor,
on by default, every 15 s) marks STARTED runs whose worker is gone from this host as failed and
frees their slots at once. Runs on other hosts are left to their launcher's health checks
(docs/operations.md).
"""

from __future__ import annotations

import multiprocessing

import dagster as dg

from gemini_assets.core.storage.lease import process_gone, process_identity

WORKER_TAG = "gemini_assets/run_worker"
REAP_INTERVAL_S = 15


def tag_run_worker(context: dg.AssetExecutionContext) -> None:
    """Record the process that runs this run: the step's parent under the multiprocess executor
    (the run worker), or the step's own process when steps run in process."""
    parent = multiprocessing.parent_process()
    worker = process_identity(parent.pid if parent is not None else None)
    if context.run.tags.get(WORKER_TAG) != worker:
        context.instance.add_run_tags(context.run.run_id, {WORKER_TAG: worker})


def reap_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail every STARTED run whose recorded worker is gone, and free its pool slots."""
    reaped = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        run = record.dagster_run
        worker = run.tags.get(WORKER_TAG)
        if not worker or not process_gone(worker):
            continue
        message = f"its worker process {worker} is gone (killed?): marked failed, its pool slots freed"
        instance.report_engine_event(message, run)
        instance.report_run_failed(run, message=f"Run {run.run_id}: {message}")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(run.run_id)
    return reaped


@dg.sensor(
    minimum_interval_seconds=REAP_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Fails runs whose worker process died (kill -9) and frees their gemini_api pool slots.",
)
def dead_run_reaper(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    reaped = reap_dead_runs(context.instance)
    if reaped:
        context.log.warning(f"runs whose worker died, failed and freed: {', '.join(reaped)}")
    return dg.SkipReason(f"{len(reaped)} dead runs reaped" if reaped else "no dead runs")
