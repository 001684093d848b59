"""The Gemini provider behind ModelGateway, on the google-genai SDK over HTTP.

The SDK's own retry is off by default and ignores RetryInfo, so retries live in the shared loop
(core/gateway/calling.py): a 429 waits what the server's RetryInfo says. Uploads are resumable
(resumable.py); the Files and Batch APIs are Gemini's alone.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import IO

import httpx2
from google import genai
from google.genai import errors, types

from gemini_assets.core.contracts.calls import (
    BatchJob,
    BatchLine,
    GenerateRequest,
    RemoteFile,
    SubmittedBatch,
    UploadProgressCallback,
)
from gemini_assets.core.contracts.enums import Backend, Provider
from gemini_assets.core.gateway import stopping
from gemini_assets.core.gateway.calling import Answer, CallingGateway, Failure, RetrySettings
from gemini_assets.core.gateway.gemini import batch, wire
from gemini_assets.core.gateway.gemini.resumable import ResumableUploader, UploadSettings
from gemini_assets.core.gateway.ratelimit import QuotaLimiter

__all__ = ["GeminiGateway", "GeminiWire", "RetrySettings"]

TRANSPORT_ERRORS = (httpx2.TimeoutException, httpx2.TransportError, TimeoutError, ConnectionError)


class GeminiWire:
    """generateContent through the SDK: one request, and what its errors mean."""

    def __init__(self, client: genai.Client):
        self.client = client

    def send(self, request: GenerateRequest) -> Answer:
        response = self.client.models.generate_content(
            model=request.model, contents=wire.contents(request), config=wire.config(request)
        )
        return Answer(
            response.text,
            wire.finish_reason(response),
            wire.block_reason(response),
            wire.usage(response),
            response.response_id,
        )

    def failure(self, exc: Exception) -> Failure | None:
        if isinstance(exc, errors.APIError):
            code = int(exc.code or 0)
            hint = wire.server_retry_delay(exc) if code == 429 else None
            quota = wire.quota_hint(exc) if code == 429 else None
            return Failure(code, str(exc.status or ""), str(exc.message or ""), hint, quota=quota)
        if isinstance(exc, TRANSPORT_ERRORS):
            return Failure(0, type(exc).__name__, str(exc))
        return None


FILES_API = "files-api"  # the limiter's name for uploads (a key of routes.yaml `limits:`)


class GeminiGateway(CallingGateway):
    provider = Provider.GEMINI

    def __init__(
        self,
        api_key: str,
        base_url: str | None,
        retry: RetrySettings | None = None,
        limiter: QuotaLimiter | None = None,
        backend: Backend = Backend.GEMINI,
        upload: UploadSettings | None = None,
    ):
        self.backend = backend
        retry = retry or RetrySettings()
        upload = upload or UploadSettings(initial_backoff_s=retry.initial_backoff_s, max_backoff_s=retry.max_backoff_s)
        self.uploader = ResumableUploader(base_url, "v1beta", api_key, upload)
        # retry_options stays unset: the SDK's retry is off, each attempt is ours and visible.
        options = types.HttpOptions(base_url=base_url, api_version="v1beta", timeout=int(retry.timeout_s * 1000))
        self.client = genai.Client(api_key=api_key, http_options=options)
        super().__init__(GeminiWire(self.client), retry, limiter, api_key)

    def close(self) -> None:
        self.client.close()
        self.uploader.close()
        if self.limiter is not None:
            self.limiter.close()

    # ---- Files API ---------------------------------------------------------------------------
    def upload(
        self,
        stream: IO[bytes],
        mime_type: str,
        display_name: str,
        progress: UploadProgressCallback | None = None,
    ) -> RemoteFile:
        """Resumable upload (resumable.py: the SDK's own cannot resume), then the SDK polls it.

        Uploads are admitted by the same limiter as the calls, under ``files-api`` when the routing
        file lists it (`limits: files-api: {rpm: N}`): the Files API's requests are not counted in
        a model's generateContent quota, so they never take a model's slots."""
        if self.limiter is not None and FILES_API in self.limiter.limits:
            self.limiter.acquire(FILES_API, 1, self.retry.max_quota_wait_s)
        outcome = self.uploader.upload(stream, mime_type, display_name, progress)
        uploaded = types.File.model_validate(outcome.file)
        remote = wire.remote_file(self._wait_processed(uploaded), mime_type)
        return replace(remote, bytes_sent=outcome.bytes_sent, resumes=outcome.resumes, sessions=outcome.sessions)

    def _wait_processed(self, remote: types.File) -> types.File:
        """Poll PROCESSING with exponential backoff until ACTIVE or FAILED (or the wait is over)."""
        deadline, delay = time.monotonic() + self.retry.file_poll_max_s, 0.2
        while remote.state == types.FileState.PROCESSING and time.monotonic() < deadline and remote.name:
            if stopping.pause(min(delay, max(0.0, deadline - time.monotonic()))):
                break  # still PROCESSING: the plan says so, and the run is ending anyway
            delay = min(delay * 2, 10.0)
            remote = self.client.files.get(name=remote.name)
        return remote

    def get_file(self, name: str) -> RemoteFile | None:
        try:
            remote = self.client.files.get(name=name)
        except errors.APIError:
            return None  # unknown or expired: the real API answers 403
        return wire.remote_file(remote, remote.mime_type or "")

    def delete_file(self, name: str) -> bool:
        try:
            self.client.files.delete(name=name)
        except (errors.APIError, *TRANSPORT_ERRORS):
            return False
        return True

    # ---- Batch API ---------------------------------------------------------------------------
    def submit_batch(
        self, model: str, requests: Mapping[str, GenerateRequest], display_name: str, inline_limit_bytes: int
    ) -> SubmittedBatch:
        return batch.submit(self.client, model, requests, display_name, inline_limit_bytes)

    def find_batch(self, display_name: str) -> BatchJob | None:
        return batch.find(self.client, display_name)

    def get_batch(self, name: str) -> BatchJob | None:
        return batch.get(self.client, name)

    def batch_results(self, name: str) -> dict[str, BatchLine]:
        lines = batch.results(self.client, name)
        return {
            key: replace(line, error_message=self.scrub(line.error_message)) if line.error_message else line
            for key, line in lines.items()
        }
