"""Object storage over fsspec: a local folder by default, ``s3://bucket/prefix`` through s3fs.

All paths handed to callers are *keys* relative to the storage root (``media/ab/abcd.png``) so
that the same code and the same table rows work on disk and on S3.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from gemini_assets.core import settings

CHUNK_BYTES = 1024 * 1024


class UnsafeKeyError(ValueError):
    """A key would resolve outside the storage root."""


def safe_key(*parts: str) -> str:
    """Join key parts, refusing anything that could escape the storage root."""
    joined = posixpath.join(*parts)
    normalized = posixpath.normpath(joined)
    if normalized.startswith(("/", "..")) or normalized in (".", "") or "\x00" in normalized:
        raise UnsafeKeyError(f"unsafe storage key: {joined!r}")
    return normalized


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int


class ObjectStore:
    """Streaming reads and writes below one root, local or remote."""

    def __init__(self, root: str | None = None, s3_endpoint: str | None = None):
        root = root or settings.storage_root()
        endpoint = s3_endpoint or settings.s3_endpoint()
        options: dict[str, Any] = {}
        if root.startswith("s3://") and endpoint:
            options["client_kwargs"] = {"endpoint_url": endpoint}
        fs, path = fsspec.core.url_to_fs(root, **options)
        self.fs: fsspec.AbstractFileSystem = fs
        self.is_local = isinstance(fs, LocalFileSystem)
        self.root_path = path.rstrip("/")
        self.url = root if not self.is_local else self.root_path
        self.storage_options = options

    def path(self, key: str) -> str:
        """Filesystem path (for fs calls) of a key."""
        return f"{self.root_path}/{safe_key(key)}"

    def uri(self, key: str) -> str:
        """A URL other tools (DuckDB, pandas) can open."""
        if self.is_local:
            return self.path(key)
        protocol = self.fs.protocol[0] if isinstance(self.fs.protocol, tuple) else self.fs.protocol
        return f"{protocol}://{self.path(key)}"

    def exists(self, key: str) -> bool:
        return self.fs.exists(self.path(key))

    def open(self, key: str, mode: str = "rb") -> IO[bytes]:
        if "w" in mode and self.is_local:
            self.fs.makedirs(posixpath.dirname(self.path(key)), exist_ok=True)
        return self.fs.open(self.path(key), mode)

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.open(key, "wb") as handle:
            handle.write(data)

    def read_json(self, key: str) -> Any:
        return json.loads(self.read_bytes(key))

    def write_json(self, key: str, value: Any) -> None:
        self.write_bytes(key, json.dumps(value, indent=2, sort_keys=True, default=str).encode())

    def size(self, key: str) -> int:
        return int(self.fs.size(self.path(key)))

    def sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        with self.open(key) as handle:
            for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def copy_stream(self, source_key: str, target_key: str) -> None:
        """Copy in bounded chunks: memory stays flat whatever the file size."""
        with self.open(source_key) as src, self.open(target_key, "wb") as dst:
            for chunk in iter(lambda: src.read(CHUNK_BYTES), b""):
                dst.write(chunk)

    def walk_files(self, prefix: str) -> Iterator[StoredObject]:
        """Every object below ``prefix``, sorted by key, as keys relative to the root."""
        base = self.path(prefix)
        if not self.fs.exists(base):
            return
        found = self.fs.find(base, detail=True)
        for full_path in sorted(found):
            info = found[full_path]
            if info.get("type") == "directory":
                continue
            key = full_path[len(self.root_path) + 1 :] if full_path.startswith(self.root_path) else full_path
            yield StoredObject(key=key, size=int(info.get("size") or 0))

    def delete_prefix(self, prefix: str) -> None:
        """Remove a derived folder (table partitions only; media and quarantine are never deleted)."""
        path = self.path(prefix)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)
