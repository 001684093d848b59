"""On-disk state shared by every emulator process that points at the same state_dir.

Nothing lives only in memory: several OS processes may serve the same directory, so each
request reads what it needs from disk and every JSON document is replaced atomically.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .knobs import Behaviour, Knobs

FILE_TTL = timedelta(hours=48)
_ID_RE = re.compile(r"^[a-z0-9]{1,40}$")
_SERVED_LOG = "served.jsonl"


def utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def is_valid_id(value: str) -> bool:
    return bool(_ID_RE.match(value))


def write_json_atomic(path: Path, document: dict[str, Any]) -> None:
    # tmp file in the same directory so os.replace stays a same-filesystem atomic rename.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except (FileNotFoundError, json.JSONDecodeError):
        # A concurrent delete or a foreign half-file: treat as absent rather than crash a listing.
        return None


@dataclass(frozen=True)
class StoredFile:
    """A File resource as stored; the uri is added per request because it depends on Host."""

    file_id: str
    meta: dict[str, Any]
    data_path: Path

    @property
    def mime_type(self) -> str:
        return str(self.meta.get("mimeType", "application/octet-stream"))

    @property
    def size(self) -> int:
        return int(self.meta.get("sizeBytes", "0"))

    @property
    def sha256_hex(self) -> str:
        return base64.b64decode(self.meta.get("sha256Hash", "")).hex()

    def expired(self, now: datetime | None = None) -> bool:
        return (now or utc_now()) > parse_rfc3339(self.meta["expirationTime"])

    def read_bytes(self) -> bytes:
        return self.data_path.read_bytes()


class StateStore:
    def __init__(self, root: str | Path, knobs: Knobs | None = None) -> None:
        self.root = Path(root)
        # Knobs and counters belong to this emulator instance, not to the shared directory.
        self.behaviour = Behaviour(knobs or Knobs())
        self.files_dir = self.root / "files"
        self.uploads_dir = self.root / "uploads"
        for directory in (self.root, self.files_dir, self.uploads_dir):
            directory.mkdir(parents=True, exist_ok=True)

    # ---- files -------------------------------------------------------------------------
    def new_file_id(self) -> str:
        while True:
            file_id = secrets.token_hex(8)
            if not (self.files_dir / f"{file_id}.json").exists():
                return file_id

    def file_exists(self, file_id: str) -> bool:
        return (self.files_dir / f"{file_id}.json").exists()

    def get_file(self, file_id: str) -> StoredFile | None:
        if not is_valid_id(file_id):
            return None
        meta = read_json(self.files_dir / f"{file_id}.json")
        if meta is None:
            return None
        return StoredFile(file_id, _resolve_processing(meta), self.files_dir / f"{file_id}.bin")

    def put_file(self, file_id: str, meta: dict[str, Any], data_source: Path) -> StoredFile:
        # Bytes first, then the resource, so a visible resource always has its bytes.
        data_path = self.files_dir / f"{file_id}.bin"
        os.replace(data_source, data_path)
        write_json_atomic(self.files_dir / f"{file_id}.json", meta)
        return StoredFile(file_id, meta, data_path)

    def delete_file(self, file_id: str) -> None:
        (self.files_dir / f"{file_id}.json").unlink(missing_ok=True)
        (self.files_dir / f"{file_id}.bin").unlink(missing_ok=True)

    def iter_files(self) -> Iterator[StoredFile]:
        for path in self.files_dir.glob("*.json"):
            stored = self.get_file(path.stem)
            if stored is not None:
                yield stored

    # ---- resumable uploads ---------------------------------------------------------------
    def upload_paths(self, upload_id: str) -> tuple[Path, Path]:
        return self.uploads_dir / f"{upload_id}.json", self.uploads_dir / f"{upload_id}.part"

    # ---- served-request log ----------------------------------------------------------------
    def append_served(self, record: dict[str, Any]) -> None:
        append_jsonl_locked(self.root / _SERVED_LOG, record)


def append_jsonl_locked(path: Path, record: dict[str, Any]) -> None:
    line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
    # One write() under an exclusive flock: lines from concurrent processes never interleave.
    with path.open("ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.write(line)
            handle.flush()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_served_log(state_dir: str | Path) -> list[dict[str, Any]]:
    """Every generateContent/countTokens request served on state_dir, oldest first; OpenAI and
    Anthropic calls too, told apart by their ``provider`` ("openai" | "anthropic")."""
    path = Path(state_dir) / _SERVED_LOG
    if not path.exists():
        return []
    with path.open("rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            raw = handle.read()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]


def _resolve_processing(meta: dict[str, Any]) -> dict[str, Any]:
    """A file uploaded while the processing knob was set turns ACTIVE or FAILED once its time is up."""
    ready_at = meta.get("_readyAt")
    if meta.get("state") != "PROCESSING" or ready_at is None or utc_now() < parse_rfc3339(ready_at):
        return meta
    meta = dict(meta, state=meta.get("_outcome", "ACTIVE"), updateTime=ready_at)
    if meta["state"] == "FAILED":
        meta["error"] = {"code": 400, "message": "The file could not be processed.", "status": "INVALID_ARGUMENT"}
    return meta


def new_file_meta(
    file_id: str,
    display_name: str | None,
    mime_type: str,
    size: int,
    sha256: bytes,
    knobs: Knobs | None = None,
) -> dict[str, Any]:
    knobs = knobs or Knobs()
    created = utc_now()
    ttl = FILE_TTL if knobs.file_ttl_s is None else timedelta(seconds=knobs.file_ttl_s)
    meta: dict[str, Any] = {
        "name": f"files/{file_id}",
        "mimeType": mime_type,
        "sizeBytes": str(size),
        "createTime": rfc3339(created),
        "updateTime": rfc3339(created),
        "expirationTime": rfc3339(created + ttl),
        "sha256Hash": base64.b64encode(sha256).decode(),
        "state": "ACTIVE",
        "source": "UPLOADED",
    }
    if display_name:
        meta["displayName"] = display_name
    if knobs.processing_s > 0:
        # Private fields (leading underscore) never reach the wire; see file_resource.
        meta.update(state="PROCESSING", _readyAt=rfc3339(created + timedelta(seconds=knobs.processing_s)))
        meta["_outcome"] = knobs.processing_outcome
    return meta


def file_resource(stored: StoredFile, host: str) -> dict[str, Any]:
    """The wire File resource; the uri follows the Host the client used to reach us."""
    resource = {k: v for k, v in stored.meta.items() if not k.startswith("_")}
    resource["uri"] = f"http://{host}/v1beta/files/{stored.file_id}"
    if resource.get("source") == "GENERATED":  # batch results: the only downloadable files
        resource["downloadUri"] = f"http://{host}/v1beta/files/{stored.file_id}:download?alt=media"
    return resource
