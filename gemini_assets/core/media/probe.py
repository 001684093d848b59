"""Gate 2: the format's own parser, in a child process with a timeout and a memory limit.

Pillow, FFmpeg (PyAV) and pypdf are large native or recursive parsers fed with hostile bytes: a
hang, a runaway allocation or a segfault must cost one upload, never the run. One long-lived
child serves many files (start-up with the imports is ~0.5 s, far more than a probe); it is
killed and replaced after a timeout or a crash.

The child is started with the "spawn" context on purpose: fork would copy a Dagster step
process with its threads and held locks (gRPC, logging, the event loop) into the child, which can
deadlock; spawn starts a clean interpreter. The memory limit is ``RLIMIT_AS`` set in the child
before it imports the parsers. The child exits on its own when the parent goes away (its pipe
reaches EOF), so no process outlives its parent.
"""

from __future__ import annotations

import atexit
import io
import logging
import multiprocessing
import resource
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

from gemini_assets.core.config import environment_fingerprint
from gemini_assets.core.contracts.errors import MediaRejected, ProbeUnavailable, SanitizeError
from gemini_assets.core.contracts.reasons import QuarantineReason
from gemini_assets.core.media.facts import MediaFacts
from gemini_assets.core.media.messages import diagnostic, plain
from gemini_assets.core.media.policy import GIB, MediaPolicy, ProbePolicy

_CONTEXT = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class ProbeJob:
    """Everything the child needs to open and judge one stored object (picklable)."""

    store_url: str
    s3_endpoint: str | None
    key: str
    size: int
    mime: str
    kind: str
    extension: str
    policy: MediaPolicy
    # Accepted means sendable: the stripper that will make the outgoing copy runs on the same
    # bytes here, so a file it cannot strip is rejected now instead of stranding in review.
    # Passed in (a module-level function, pickled by name) because media sits beside privacy.
    strip_check: Callable[[bytes, str], None] | None = None  # raises SanitizeError


def run_probe(job: ProbeJob) -> MediaFacts:
    """Parse one object with its kind's parser (in the child; importable for direct use too)."""
    from gemini_assets.core.media.audio_video import probe_audio_video
    from gemini_assets.core.media.images import probe_image
    from gemini_assets.core.media.pdf import probe_pdf
    from gemini_assets.core.storage.objectstore import ObjectStore

    try:  # a storage failure is not a property of the file: it must fail the run, not quarantine
        store = ObjectStore(job.store_url, job.s3_endpoint)
        stream = store.open(job.key)
        stream.read(1)
        stream.seek(0)
    except Exception as exc:  # noqa: BLE001 - whatever storage raises, the file was not judged
        raise ProbeUnavailable(f"cannot read {job.key!r} from storage: {type(exc).__name__}: {exc}") from None
    with stream:
        if job.kind in ("audio", "video"):
            # Stripping remuxes with the same PyAV demuxer that judged every packet here.
            return probe_audio_video(stream, job.mime, job.kind, job.policy.av_policy(job.kind))
        data = stream.read()  # images and PDFs are bounded by the policy (tens of MiB): in memory
    if job.kind == "image":
        facts = probe_image(io.BytesIO(data), job.extension, job.policy.image, job.mime)
    else:
        facts = probe_pdf(io.BytesIO(data), job.policy.document)
    if job.strip_check is not None:
        _check_strippable(job.strip_check, data, facts.mime_type)
    return facts


def _check_strippable(strip_check: Callable[[bytes, str], None], data: bytes, mime: str) -> None:
    try:
        strip_check(data, mime)
    except SanitizeError as exc:
        raise MediaRejected(
            QuarantineReason.CORRUPT_MEDIA,
            f"the metadata cannot be stripped: {plain(exc)}",
            mime,
            diagnostic(exc.__cause__ or exc),
        ) from exc


def _child_main(conn: Connection, memory_bytes: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, hard))
    import gemini_assets.core.media.audio_video
    import gemini_assets.core.media.images
    import gemini_assets.core.media.pdf  # noqa: F401

    # Parsers narrate their repairs of hostile files (pypdf's log, Pillow's warnings) on the
    # step's stderr; the verdict and its diagnostic are what count, so only errors are shown.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")

    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        try:
            conn.send(("ok", run_probe(job)))
        except MediaRejected as rejected:
            conn.send(("rejected", rejected))
        except ProbeUnavailable as unavailable:
            conn.send(("unavailable", str(unavailable)))
        except MemoryError:
            conn.send(("crashed", f"the parser exceeded the {memory_bytes // 2**20} MiB memory limit"))
            return
        except Exception as exc:  # noqa: BLE001 - any other parser failure is a property of the file
            unreadable = MediaRejected(
                QuarantineReason.CORRUPT_MEDIA, f"unreadable: {plain(exc)}", job.mime, diagnostic(exc)
            )
            conn.send(("rejected", unreadable))


class Prober:
    """A parent-side handle on the probe child; one job at a time."""

    def __init__(self, policy: ProbePolicy):
        self.policy = policy
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None

    def _start(self) -> None:
        parent, child = _CONTEXT.Pipe()
        process = _CONTEXT.Process(
            target=_child_main, args=(child, self.policy.memory_bytes), name="gemini-assets-probe"
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent

    def probe(self, job: ProbeJob) -> MediaFacts:
        """The file's facts, or MediaRejected (including probe_timeout / probe_crashed)."""
        if self._process is None or not self._process.is_alive():
            self.close()
            self._start()
        timeout = self.policy.timeout_s + self.policy.timeout_s_per_gib * job.size / GIB
        if self._conn is None:
            raise ProbeUnavailable("the probe child did not start")
        try:
            self._conn.send(job)
            ready = self._conn.poll(timeout)
            status, payload = self._conn.recv() if ready else ("timeout", None)
        except (EOFError, OSError, BrokenPipeError):
            status, payload = "crashed", None
        if status == "ok" and isinstance(payload, MediaFacts):
            return payload
        if status == "rejected" and isinstance(payload, MediaRejected):
            raise payload
        if status == "unavailable":
            raise ProbeUnavailable(str(payload))
        exit_code = self._stop()
        if status == "timeout":
            raise MediaRejected(
                QuarantineReason.PROBE_TIMEOUT, f"no verdict within {timeout:.1f} s; parser killed", job.mime
            )
        raise MediaRejected(
            QuarantineReason.PROBE_CRASHED, payload or f"parser process died (exit code {exit_code})", job.mime
        )

    def _stop(self) -> int | None:
        process, self._process = self._process, None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if process is None:
            return None
        if process.is_alive():
            process.kill()
        process.join(5)
        return process.exitcode

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> Prober:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_shared: Prober | None = None
_shared_env: str | None = None


def _storage_env() -> str:
    # The child reads storage with the environment it was spawned with (credentials included).
    return environment_fingerprint()


def shared_prober(policy: ProbePolicy) -> Prober:
    """A process-wide prober (closed at exit), replaced when the policy or the storage env changes."""
    global _shared, _shared_env
    env = _storage_env()
    if _shared is None or _shared.policy != policy or _shared_env != env:
        if _shared is not None:
            _shared.close()
        _shared, _shared_env = Prober(policy), env
    return _shared


@atexit.register
def _close_shared() -> None:
    if _shared is not None:
        _shared.close()
