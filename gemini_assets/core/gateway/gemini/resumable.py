"""Files API uploads that survive bad networks: resume at the server's offset, stream, report progress.

Hand-written on the SDK's HTTP library because the SDK's ``files.upload`` cannot resume: when a
chunk fails it re-sends the same chunk three times without asking the server what it kept, and
a lost session or a cut connection fails the whole upload (``_api_client._upload_fd``). The
wire protocol is the documented resumable one the SDK speaks (start, upload, query, finalize):

- start a session (``X-Goog-Upload-Command: start``), which answers with an upload URL;
- send 8 MiB chunks read from object storage one at a time (memory stays flat);
- after a cut connection, a timeout or a 5xx, ask the session for its committed offset
  (``query``) and continue from there, with exponential backoff and full jitter;
- a session that is gone (404/410) is replaced by a new one, from offset 0;
- failed requests and sessions per upload are bounded: then ``UploadFailed`` lists each failure.

The HTTP client honours ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` and ``SSL_CERT_FILE`` like
the SDK's own, and a configured base URL (a company gateway) carries the chunks too: the upload
URL the server hands out is rewritten onto it, as the SDK does.
"""

from __future__ import annotations

import logging
import os
import random
import time
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import httpx2
from google.genai import errors

from gemini_assets.core.contracts.calls import UploadProgress, UploadProgressCallback
from gemini_assets.core.contracts.errors import GeminiAssetsError, UploadFailed
from gemini_assets.core.gateway import stopping

log = logging.getLogger(__name__)

CHUNK_BYTES = 8 * 1024 * 1024  # the API's chunk granularity; every chunk but the last is a multiple
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/"
TRANSPORT_ERRORS = (httpx2.TransportError, TimeoutError, ConnectionError)
SESSION_GONE = frozenset({404, 410})
NOT_RETRYABLE = frozenset({400, 401, 403, 409, 413})  # on start: the request itself is wrong


@dataclass(frozen=True)
class UploadSettings:
    max_failures: int = 10  # failed requests (chunks, queries, starts) per upload before giving up
    max_sessions: int = 3  # upload sessions per upload (one replaces a lost one)
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    connect_timeout_s: float = 10.0
    base_timeout_s: float = 30.0
    # The slowest link still worth waiting for: a request may take base + its bytes / this rate,
    # so timeouts scale with what is sent (a chunk) and, for the finalize answer, the file size.
    min_rate_bytes_s: float = 512 * 1024
    progress_min_bytes: int = 64 * 1024 * 1024  # uploads above this report progress ...
    progress_every_s: float = 10.0  # ... at most this often


@dataclass
class UploadOutcome:
    file: dict[str, Any]  # the File resource of the finalize answer
    bytes_sent: int
    resumes: int
    sessions: int


class ResumableUploader:
    def __init__(self, base_url: str | None, api_version: str, api_key: str, settings: UploadSettings | None = None):
        self.configured_base = base_url  # None: the real API, whose upload URLs are used as given
        self.base_url = base_url or DEFAULT_BASE_URL
        self.api_version, self._api_key = api_version, api_key
        self.settings = settings or UploadSettings()
        # trust_env, as the SDK's client: proxies from HTTPS_PROXY/HTTP_PROXY/ALL_PROXY, exceptions
        # from NO_PROXY, and CA certificates from SSL_CERT_FILE/SSL_CERT_DIR when set.
        self.http = httpx2.Client(trust_env=True, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def upload(
        self,
        stream: IO[bytes],
        mime_type: str,
        display_name: str,
        progress: UploadProgressCallback | None = None,
    ) -> UploadOutcome:
        start_at = stream.tell()
        size = stream.seek(0, os.SEEK_END) - start_at
        run = _Upload(self, stream, start_at, size, mime_type, display_name, progress)
        return run.go()

    # -- requests ----------------------------------------------------------------------------
    def start_session(self, size: int, mime_type: str, display_name: str) -> str:
        url = f"{self.base_url.rstrip('/')}/upload/{self.api_version}/files"
        headers = {
            "x-goog-api-key": self._api_key,
            "Content-Type": "application/json",
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": str(size),
            "X-Goog-Upload-Header-Content-Type": mime_type,
        }
        body = {"file": {"display_name": display_name, "mime_type": mime_type, "size_bytes": size}}
        response = self.http.post(url, headers=headers, json=body, timeout=self.timeout(0))
        if response.status_code != 200 or "x-goog-upload-url" not in response.headers:
            errors.APIError.raise_for_response(response)  # an httpx2 response, as the SDK passes
            raise errors.APIError(response.status_code, {"error": {"message": "no upload URL was returned"}})
        return self.on_base_url(response.headers["x-goog-upload-url"])

    def send_chunk(self, url: str, offset: int, chunk: bytes, final: bool, size: int) -> httpx2.Response:
        headers = {
            "X-Goog-Upload-Command": "upload, finalize" if final else "upload",
            "X-Goog-Upload-Offset": str(offset),
            "Content-Type": "application/octet-stream",
        }
        # The finalize answer comes once the server has the whole file: allow for its size.
        timeout = self.timeout(len(chunk), read_bytes=size if final else 0)
        return self.http.post(url, headers=headers, content=chunk, timeout=timeout)

    def query(self, url: str) -> httpx2.Response:
        headers = {"X-Goog-Upload-Command": "query", "Content-Length": "0"}
        return self.http.post(url, headers=headers, timeout=self.timeout(0))

    def timeout(self, write_bytes: int, read_bytes: int = 0) -> httpx2.Timeout:
        s = self.settings
        return httpx2.Timeout(
            connect=s.connect_timeout_s,
            write=s.base_timeout_s + write_bytes / s.min_rate_bytes_s,
            read=s.base_timeout_s + read_bytes / s.min_rate_bytes_s,
            pool=s.connect_timeout_s,
        )

    def on_base_url(self, upload_url: str) -> str:
        """Send the chunks where the calls go: the server's URL moved onto the configured base
        (scheme, host, and a gateway's path prefix), as the SDK does with ``base_url``."""
        if not self.configured_base:
            return upload_url
        base, upload = urlsplit(self.base_url), urlsplit(upload_url)
        prefix = base.path.rstrip("/")
        path = upload.path if not prefix or upload.path.startswith(prefix + "/") else prefix + upload.path
        return urlunsplit((base.scheme, base.netloc, path, upload.query, ""))


class _Upload:
    """One upload's state: the offset the server confirmed, the session, what went wrong."""

    def __init__(
        self,
        client: ResumableUploader,
        stream: IO[bytes],
        start_at: int,
        size: int,
        mime_type: str,
        display_name: str,
        progress: UploadProgressCallback | None,
    ):
        self.client, self.stream, self.start_at, self.size = client, stream, start_at, size
        self.mime_type, self.display_name, self.progress = mime_type, display_name, progress
        self.settings = client.settings
        self.failures: list[str] = []
        self.committed = self.bytes_sent = self.resumes = self.sessions = 0
        self.started = self.last_report = time.monotonic()

    def go(self) -> UploadOutcome:
        try:
            return self._send_all()
        except _Finalized as finished:
            return self._done(finished.answer)

    def _send_all(self) -> UploadOutcome:
        url = self._new_session()
        while True:
            if stopping.stop_requested():  # a terminated run: its upload threads end within a chunk
                self._give_up("the run is stopping")
            self.stream.seek(self.start_at + self.committed)
            chunk = self.stream.read(CHUNK_BYTES)
            final = self.committed + len(chunk) >= self.size
            try:
                response = self.client.send_chunk(url, self.committed, chunk, final, self.size)
            except TRANSPORT_ERRORS as exc:
                self.bytes_sent += len(chunk)  # at most this much went out before the cut
                url = self._recover(url, f"chunk at {self.committed}: {type(exc).__name__}")
                continue
            self.bytes_sent += len(chunk)
            status = response.headers.get("x-goog-upload-status", "")
            if response.status_code == 200 and status == "final":
                return self._done(response)
            if response.status_code == 200 and status == "active" and not final:
                self.committed += len(chunk)
                self._report()
                continue
            if response.status_code in SESSION_GONE:
                url = self._replace_session(f"chunk at {self.committed}: session gone ({response.status_code})")
                continue
            if response.status_code in (401, 403):
                errors.APIError.raise_for_response(response)
            why = f"chunk at {self.committed}: HTTP {response.status_code} {status or 'no upload status'}"
            url = self._recover(url, why)

    # -- recovery ----------------------------------------------------------------------------
    def _recover(self, url: str, why: str) -> str:
        """After a failed chunk: back off, ask the session what it kept, continue from there."""
        self._failed(why)
        while True:
            try:
                answer = self.client.query(url)
            except TRANSPORT_ERRORS as exc:
                self._failed(f"query: {type(exc).__name__}")
                continue
            status = answer.headers.get("x-goog-upload-status", "")
            if answer.status_code in SESSION_GONE or status == "cancelled":
                return self._replace_session(f"query: session gone ({answer.status_code})")
            if answer.status_code == 200 and status == "final":
                raise _Finalized(answer)  # finalized; its answer was lost on the way back
            received = answer.headers.get("x-goog-upload-size-received", "")
            if answer.status_code == 200 and status == "active" and received.isdigit():
                self.committed = int(received)
                self.resumes += 1
                log.info("upload %s resumes at byte %d of %d", self.display_name, self.committed, self.size)
                return url
            self._failed(f"query: HTTP {answer.status_code} {status or 'no upload status'}")

    def _replace_session(self, why: str) -> str:
        self._failed(why, backoff=False)
        self.committed = 0
        return self._new_session()

    def _new_session(self) -> str:
        while True:
            if self.sessions >= self.settings.max_sessions:
                self._give_up(f"{self.sessions} upload sessions used")
            self.sessions += 1
            try:
                return self.client.start_session(self.size, self.mime_type, self.display_name)
            except TRANSPORT_ERRORS as exc:
                self.sessions -= 1  # no session was made
                self._failed(f"start: {type(exc).__name__}")
            except errors.APIError as exc:
                if exc.code in NOT_RETRYABLE:
                    raise
                self.sessions -= 1
                self._failed(f"start: HTTP {exc.code} {exc.status}")

    def _failed(self, why: str, backoff: bool = True) -> None:
        self.failures.append(why)
        log.warning("upload %s: %s", self.display_name, why)
        if len(self.failures) >= self.settings.max_failures:
            self._give_up(why)
        if backoff:
            s = self.settings
            ceiling = min(s.max_backoff_s, s.initial_backoff_s * 2 ** (len(self.failures) - 1))
            if stopping.pause(random.uniform(0, ceiling)):  # noqa: S311 - jitter, not security
                self._give_up("the run is stopping")

    def _give_up(self, why: str) -> None:
        if not self.failures or self.failures[-1] != why:
            self.failures.append(why)
        raise UploadFailed(self.display_name, self.failures, self.committed, self.size, self.sessions)

    # -- the end and the way there -----------------------------------------------------------
    def _done(self, response: httpx2.Response) -> UploadOutcome:
        resource = response.json().get("file")
        if not isinstance(resource, dict):
            raise errors.APIError(response.status_code, {"error": {"message": "finalize answer has no file"}})
        return UploadOutcome(resource, self.bytes_sent, self.resumes, self.sessions)

    def _report(self) -> None:
        s, now = self.settings, time.monotonic()
        if self.progress is None or self.size <= s.progress_min_bytes or now - self.last_report < s.progress_every_s:
            return
        self.last_report = now
        self.progress(UploadProgress(self.display_name, self.committed, self.size, now - self.started, self.resumes))


class _Finalized(GeminiAssetsError):
    """Control flow, never leaves this module: the query found the upload already finished."""

    def __init__(self, answer: httpx2.Response):
        super().__init__("finalized")
        self.answer = answer
