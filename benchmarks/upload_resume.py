"""A large upload over a network that cuts it: wall time, bytes sent per file byte, peak RSS.

    .venv/bin/python benchmarks/upload_resume.py [--gib 1.0] [--drops 5]

A file of ``--gib`` GiB is written to a temporary storage root, then uploaded through the
gateway (core/gateway/gemini/resumable.py) to the bundled emulator running in its own process,
three times, each in a fresh process so its peak RSS is its own:

- ``resumable_clean``: our upload, no faults;
- ``resumable_cut``: our upload while the emulator cuts ``--drops`` chunks of each session after
  3 MiB of their bytes (it keeps those bytes, as a real server may); each cut is resumed at the
  offset the server reports;
- ``sdk_clean``: the SDK's own ``files.upload`` with no faults, for comparison (with cuts it
  cannot finish: it does not resume).

Everything is deleted afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import start_emulator

MIB = 1024 * 1024


def write_file(path: Path, size: int) -> None:
    block = hashlib.sha256(b"benchmark").digest() * (MIB // 32)
    with path.open("wb") as handle:
        for start in range(0, size, MIB):
            handle.write(block[: min(MIB, size - start)])


def upload_once(mode: str, url: str, root: str, key: str) -> dict:
    """Runs in a fresh process (``--child``): one upload, then its own numbers."""
    from google import genai
    from google.genai import types

    from gemini_assets.core.gateway.gemini.client import GeminiGateway, RetrySettings
    from gemini_assets.core.storage.objectstore import ObjectStore

    store = ObjectStore(root)
    size = store.size(key)
    started = time.perf_counter()
    if mode == "sdk":
        client = genai.Client(api_key="bench", http_options=types.HttpOptions(base_url=url, api_version="v1beta"))
        with store.open(key) as stream:
            readable: object = stream
            client.files.upload(file=readable, config={"mime_type": "video/mp4"})  # type: ignore[arg-type]
        sent, resumes = None, None  # the SDK does not say; with no cuts it sends the file once
    else:
        gateway = GeminiGateway("bench", url, RetrySettings(initial_backoff_s=0.2, max_backoff_s=1.0))
        with store.open(key) as stream:
            remote = gateway.upload(stream, "video/mp4", "bench")
        gateway.close()
        sent, resumes = remote.bytes_sent, remote.resumes
    wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 2),
        "mib_per_s": round(size / MIB / wall, 1),
        "bytes_sent_per_file_byte": round(sent / size, 4) if sent is not None else None,
        "resumes": resumes,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_child(mode: str, url: str, root: str, key: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, url, root, key], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--drops", type=int, default=5)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(upload_once(*args.child)))
        return 0

    os.environ.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")  # the children inherit it
    size = int(args.gib * 1024 * MIB)
    report: dict = {"file_mib": round(size / MIB, 1), "drops": args.drops, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="gemini-assets-upload-bench-") as folder:
        work = Path(folder)
        (work / "storage" / "sanitized").mkdir(parents=True)
        write_file(work / "storage" / "sanitized" / "big.mp4", size)
        cut = {"upload_drops": args.drops, "upload_drop_after_bytes": 3 * MIB}
        runs = (("resumable_clean", "ours", {}), ("resumable_cut", "ours", cut), ("sdk_clean", "sdk", {}))
        for name, mode, knobs in runs:
            emulator, url = start_emulator(work / f"emulator-{name}", knobs)
            try:
                report[name] = run_child(mode, url, str(work / "storage"), "sanitized/big.mp4")
            finally:
                emulator.terminate()
                emulator.wait(10)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
