"""Benchmark: the demo's day (N seeded images) through daily_pipeline on the bundled emulator.

Reports wall time per phase and peak resident memory of the process (ru_maxrss). Runs in a
fresh temporary storage root and emulator state, in-process (the executor the demo uses).

    ./run bench --count 200
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--date", default="2026-11-20")
    parser.add_argument("--repeat", type=int, default=1, help="materializations of the same day (2nd+ hit the cache)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gemini-assets-bench-"))
    from gemini_devkit.emulator import start_emulator

    emulator = start_emulator(work / "emulator", knobs={})  # the backend is chosen explicitly, as ./run demo does
    os.environ.update(
        GEMINI_ASSETS_BACKEND="emulator",
        GOOGLE_GEMINI_BASE_URL=emulator.url,
        GEMINI_ASSETS_STORAGE=str(work / "storage"),
        NO_PROXY="127.0.0.1,localhost",
        GEMINI_ASSETS_AUDIT_KEY=str(work / "audit_ed25519.pem"),
        GEMINI_ASSETS_LIMITER=f"sqlite://{work / 'limiter'}",
    )
    os.environ.pop("GEMINI_API_KEY", None)
    os.environ.pop("DAGSTER_HOME", None)

    import dagster as dg

    from gemini_assets.core.storage.objectstore import ObjectStore
    from gemini_assets.definitions import defs
    from gemini_devkit.samples.day import seed_day

    started = time.perf_counter()
    store = ObjectStore(str(work / "storage"))
    summary = seed_day(store, args.date, args.count)  # product photos, as the demo-day target asks
    seed_s = time.perf_counter() - started

    runs = []
    job = defs.resolve_job_def("daily_pipeline")
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = job.execute_in_process(partition_key=args.date, instance=dg.DagsterInstance.ephemeral())
        runs.append(round(time.perf_counter() - started, 2))
        assert result.success

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {
        "count": args.count,
        "valid": summary.valid,
        "invalid": summary.invalid,
        "seed_s": round(seed_s, 2),
        "pipeline_s": runs,
        "items_per_s_first_run": round(args.count / runs[0], 1),
        "peak_rss_mib": round(peak_mib, 1),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
