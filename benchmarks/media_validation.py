"""Media validation throughput per kind, and peak memory while ingesting a 1 GiB video.

    .venv/bin/python benchmarks/media_validation.py [--files 60] [--big-gib 1.0]

Throughput: files/s of ``validate_and_store`` (sniff + parser child + content-addressed copy)
for product photos, audio, video and PDFs made on the fly. Memory: a 1 GiB MP4 is written to a
temporary directory (one second of all-intra noise video repeated packet by packet, no
re-encode), then a fresh process scans and ingests it; its own peak RSS and the peak RSS of the
probe child are reported. Everything is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

DAY = "2026-01-01"
CONSENT = {"uploader": "benchmark", "consent": True, "residency": "global"}


def throughput(files: int) -> dict[str, float]:
    from gemini_assets.core.media.policy import DEFAULT_POLICY
    from gemini_assets.core.media.probe import Prober
    from gemini_assets.core.stages.intake import scan_landing, validate_and_store
    from gemini_assets.core.storage.objectstore import ObjectStore
    from gemini_assets.core.tasks.catalog import TaskCatalog
    from gemini_devkit.samples import media as sm
    from gemini_devkit.samples.day import seed_day

    results = {}
    makers = {
        "audio_summary": lambda i: (
            f"a{i}.{list(sm.AUDIO_FORMATS)[i % 6]}",
            sm.make_audio(list(sm.AUDIO_FORMATS)[i % 6], seconds=3.0, seed=i),
        ),
        "video_summary": lambda i: (
            f"v{i}.{list(sm.VIDEO_FORMATS)[i % 3]}",
            sm.make_video(
                list(sm.VIDEO_FORMATS)[i % 3], seconds=3.0, size=(320, 240), fps=25, colour=(i % 255, 80, 80)
            ),
        ),
        "document_extraction": lambda i: (f"d{i}.pdf", sm.make_pdf([[f"Invoice {i}", "Total 9.00 EUR"]] * (1 + i % 5))),
    }
    with tempfile.TemporaryDirectory() as tmp, Prober(DEFAULT_POLICY.probe) as prober:
        store = ObjectStore(tmp)
        seed_day(store, DAY, files)  # product photos, a few invalid ones among them
        for task, make in makers.items():
            for i in range(files):
                name, data = make(i)
                land(store, f"landing/{DAY}/{task}/bench/{name}", data)
        rows, catalog = scan_landing(store, DAY), TaskCatalog()
        validate_and_store(store, rows[0], DAY, DEFAULT_POLICY, catalog, prober)  # child start-up
        for task in ("product_recognition", *makers):
            mine = [r for r in rows if r.task == task]
            started = time.perf_counter()
            for row in mine:
                validate_and_store(store, row, DAY, DEFAULT_POLICY, catalog, prober)
            results[task] = round(len(mine) / (time.perf_counter() - started), 1)
    return results


def land(store, key: str, data: bytes) -> None:
    """An upload as uploaders make it: the file and a sidecar giving consent (the consent gate is
    judged after the parser, so a file without one would be parsed and then quarantined)."""
    store.write_bytes(key, data)
    store.write_bytes(key + ".meta.json", json.dumps(CONSENT).encode())


def write_big_video(path: Path, target_bytes: int) -> float:
    """An MP4 of ``target_bytes``: 1 s of all-intra 640x480 noise at 30 fps, packets repeated."""
    fps, frames = 30, 30
    source = Path(path.parent, "one_second.mp4")
    with av.open(str(source), "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=fps, options={"qscale": "2"})
        stream.width, stream.height, stream.pix_fmt, stream.gop_size = 640, 480, "yuv420p", 1
        rng = np.random.default_rng(0)
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with av.open(str(source)) as inp:
        template = inp.streams.video[0]
        packets = [(bytes(p), p.pts, p.duration, p.time_base) for p in inp.demux(template) if p.dts is not None]
        with av.open(str(path), "w", format="mp4") as out:
            stream = out.add_stream_from_template(template)
            written, repeat = 0, 0
            step = sum(d for _, _, d, _ in packets)
            while written < target_bytes:
                for payload, pts, duration, time_base in packets:
                    packet = av.Packet(payload)
                    packet.pts = packet.dts = pts + repeat * step
                    packet.duration, packet.time_base, packet.is_keyframe = duration, time_base, True
                    packet.stream = stream
                    out.mux(packet)
                    written += len(payload)
                repeat += 1
    source.unlink()
    return float(repeat * step * packets[0][3]) if packets else 0.0


def ingest_one(root: str) -> None:
    """Child mode: scan and ingest one day, print JSON with peak RSS of this process and the probe."""
    from gemini_assets.core.media.policy import DEFAULT_POLICY
    from gemini_assets.core.media.probe import Prober
    from gemini_assets.core.stages.intake import scan_landing, validate_and_store
    from gemini_assets.core.storage.objectstore import ObjectStore
    from gemini_assets.core.tasks.catalog import TaskCatalog

    store = ObjectStore(root)
    started = time.perf_counter()
    with Prober(DEFAULT_POLICY.probe) as prober:
        rows = scan_landing(store, DAY)
        results = [validate_and_store(store, r, DAY, DEFAULT_POLICY, TaskCatalog(), prober) for r in rows]
    accepted = [r.accepted for r in results if r.accepted]
    rejected = [r.quarantined.model_dump(mode="json") for r in results if r.quarantined]
    print(
        json.dumps(
            {
                "seconds": round(time.perf_counter() - started, 1),
                "accepted": len(accepted),
                "verdict": accepted[0].model_dump(
                    mode="json", include={"mime_type", "duration_s", "frames", "width", "height", "codecs"}
                )
                if accepted
                else rejected,
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "probe_child_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
            }
        )
    )


def big_video(gib: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp, "landing", DAY, "video_summary", "bench")
        landing.mkdir(parents=True)
        path = landing / "big.mp4"
        path.with_name("big.mp4.meta.json").write_text(json.dumps(CONSENT))
        started = time.perf_counter()
        seconds = write_big_video(path, int(gib * 2**30))
        made = time.perf_counter() - started
        out = subprocess.run(
            [sys.executable, __file__, "--ingest-one", tmp], capture_output=True, text=True, check=True
        ).stdout
        report = json.loads(out.strip().splitlines()[-1])
        report.update(
            file_mib=round(path.stat().st_size / 2**20), video_seconds=round(seconds, 1), generate_s=round(made, 1)
        )
        return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=60, help="files per kind for the throughput runs")
    parser.add_argument("--big-gib", type=float, default=1.0, help="size of the big video (GiB)")
    parser.add_argument("--ingest-one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ingest_one:
        ingest_one(args.ingest_one)
        return
    print(json.dumps({"files_per_s": throughput(args.files)}, indent=2))
    print(json.dumps({"big_video": big_video(args.big_gib)}, indent=2))


if __name__ == "__main__":  # required: the probe child is started with "spawn"
    main()
