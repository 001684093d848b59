"""Every benchmark script still runs, at a tiny size: a benchmark nobody can run measures nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
TINY = {
    "media_validation.py": ["--files", "2", "--big-gib", "0.01"],
    "demo_day.py": ["--count", "6", "--repeat", "2"],
    "batch_vs_online.py": ["--count", "6", "--latency-s", "0", "--batch-delay-s", "0.3"],
    "gateway_throughput.py": ["--items", "12", "--baseline-items", "2", "--concurrency", "4"],
    "upload_resume.py": ["--gib", "0.03", "--drops", "2"],
    "gateway_overhead.py": ["--calls", "5", "--admissions", "20"],
    "shared_quota.py": ["--rpm", "10", "--window-s", "2", "--items", "8"],
}

pytestmark = pytest.mark.slow


def test_every_benchmark_script_has_a_smoke_run():
    scripts = {p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_")}  # _common.py: shared code
    assert scripts == set(TINY)


def run(script: str, tmp_path: Path) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_ASSETS_BACKEND", "GOOGLE_GEMINI_BASE_URL")}
    env["HOME"] = str(tmp_path)  # caches and keys of the run stay in the test's folder
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *TINY[script]],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(block) for block in _json_blocks(done.stdout)]


def _json_blocks(text: str) -> list[str]:
    """The top-level JSON objects a script printed (pretty-printed, one after another)."""
    blocks, current = [], []
    for line in text.splitlines():
        if line.startswith("{"):
            current = [line]
        elif current:
            current.append(line)
            if line.startswith("}"):
                blocks.append("\n".join(current))
                current = []
    return blocks


def test_media_validation(tmp_path):
    throughput, big = run("media_validation.py", tmp_path)
    assert set(throughput["files_per_s"]) == {
        "product_recognition",
        "audio_summary",
        "video_summary",
        "document_extraction",
    }
    assert big["big_video"]["accepted"] == 1, big  # consent given, like a real upload


def test_demo_day(tmp_path):
    (report,) = run("demo_day.py", tmp_path)
    assert report["count"] == 6 and len(report["pipeline_s"]) == 2


def test_batch_vs_online(tmp_path):
    (report,) = run("batch_vs_online.py", tmp_path)
    assert report["batch"]["batch_calls"] > 0 and report["cost_ratio_batch_over_online"] == pytest.approx(0.5, abs=0.05)


def test_gateway_throughput(tmp_path):
    (report,) = run("gateway_throughput.py", tmp_path)
    assert report["gateway"]["items"] == 12 and report["naive_sequential"]["items"] == 2


def test_upload_resume(tmp_path):
    (report,) = run("upload_resume.py", tmp_path)
    cut = report["resumable_cut"]
    assert cut["resumes"] == 2 and 1.0 < cut["bytes_sent_per_file_byte"] < 1.6
    assert report["resumable_clean"]["bytes_sent_per_file_byte"] == 1.0 and report["sdk_clean"]["mib_per_s"] > 0


def test_gateway_overhead(tmp_path):
    (report,) = run("gateway_overhead.py", tmp_path)
    stores = {"memory", "sqlite", "redis"}
    paths = {"bare_sdk", "gateway_no_limiter"} | {f"gateway_{store}_limiter" for store in stores}
    assert paths <= set(report) and report["bare_sdk"]["overhead_p50_ms"] == 0
    assert all(report[name]["p50_ms"] > 0 for name in paths)
    assert set(report["admission_alone"]) == stores == set(report["store_round_trip"])
    assert all(0 < cost["p50_ms"] <= cost["p95_ms"] for cost in report["admission_alone"].values())


def test_shared_quota(tmp_path):
    (report,) = run("shared_quota.py", tmp_path)
    for name in ("configured_equals_real", "configured_30x_real"):
        assert report[name]["ok"] == 16 and len(report[name]["workers"]) == 2
    at_quota = report["configured_equals_real"]
    assert at_quota["served_ok_per_window"].get("max_in_window", 0) <= 10  # one quota held by both workers
