"""Object storage over fsspec: a local folder by default, ``s3://bucket/prefix`` through s3fs.

All paths handed to callers are *keys* relative to the storage root (``media/ab/abcd.png``) so
that the same code and the same table rows work on disk and on S3.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import posixpath
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from gemini_assets.core.config import Settings
from gemini_assets.core.contracts.errors import UnsafeKeyError

CHUNK_BYTES = 1024 * 1024
# s3fs buffers one block per open file (default 50 MiB): 8 MiB keeps memory flat and still makes
# every write above it a multipart upload (S3's minimum part is 5 MiB).
S3_BLOCK_BYTES = 8 * 1024 * 1024


def safe_key(*parts: str) -> str:
    """Join key parts, refusing anything that could escape the storage root.

    A ``..`` segment is refused even when it would stay inside the root: on S3 it is a literal
    name, on disk it is a step up, so the same key would mean two different objects.
    """
    joined = posixpath.join(*parts)
    normalized = posixpath.normpath(joined)
    if joined.startswith("/") or normalized in (".", "") or "\x00" in joined or ".." in joined.split("/"):
        raise UnsafeKeyError(f"unsafe storage key: {joined!r}")
    return normalized


def is_safe_key(key: str) -> bool:
    try:
        return safe_key(key) == key
    except UnsafeKeyError:
        return False


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    # file | symlink | fifo | socket | device | other. Only a local disk has the others; they are
    # never opened: opening a link reads its target, opening a FIFO blocks.
    kind: str = "file"

    @property
    def regular(self) -> bool:
        return self.kind == "file"


def _stored(key: str, info: dict[str, Any]) -> StoredObject:
    kind = _kind(info)
    # A link's reported size is its target's: not ours to record.
    return StoredObject(key=key, size=int(info.get("size") or 0) if kind == "file" else 0, kind=kind)


def _kind(info: dict[str, Any]) -> str:
    """What an fsspec entry is, from its lstat mode (local disk) or its type (object stores)."""
    if info.get("islink"):
        return "symlink"
    mode = info.get("mode")
    if isinstance(mode, int) and stat.S_IFMT(mode):
        if stat.S_ISREG(mode):
            return "file"
        if stat.S_ISLNK(mode):
            return "symlink"
        if stat.S_ISFIFO(mode):
            return "fifo"
        if stat.S_ISSOCK(mode):
            return "socket"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            return "device"
        return "other"
    return "file" if info.get("type") == "file" else "other"


class ObjectStore:
    """Streaming reads and writes below one root, local or remote."""

    def __init__(self, root: str, s3_endpoint: str | None = None):
        endpoint = s3_endpoint
        options: dict[str, Any] = {}
        if root.startswith("s3://") and endpoint:
            options["client_kwargs"] = {"endpoint_url": endpoint}
        fs, path = fsspec.core.url_to_fs(root, **options)
        self.fs: fsspec.AbstractFileSystem = fs
        self.is_local = isinstance(fs, LocalFileSystem)
        self.root_path = path.rstrip("/")
        self.url = root if not self.is_local else self.root_path
        self.storage_options = options
        self.s3_endpoint = endpoint if not self.is_local else None

    @classmethod
    def from_settings(cls, settings: Settings) -> ObjectStore:
        return cls(settings.storage, settings.s3_endpoint)

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
        return bool(self.fs.exists(self.path(key)))

    def open(self, key: str, mode: str = "rb") -> IO[bytes]:
        handle: IO[bytes]
        if self.is_local and mode == "rb":
            # O_NOFOLLOW: a key that became a symbolic link after it was listed is refused, not
            # followed to its target (the last path component; the store's own folders are ours).
            try:
                descriptor = os.open(self.path(key), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ELOOP:
                    raise
                raise UnsafeKeyError(f"{key!r} is a symbolic link") from None
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # a FIFO or device: never read
                os.close(descriptor)
                raise UnsafeKeyError(f"{key!r} is not a regular file")
            os.set_blocking(descriptor, True)
            handle = os.fdopen(descriptor, "rb")
        elif self.is_local:
            if "w" in mode:
                self.fs.makedirs(posixpath.dirname(self.path(key)), exist_ok=True)
            handle = self.fs.open(self.path(key), mode)
        else:
            handle = self.fs.open(self.path(key), mode, block_size=S3_BLOCK_BYTES)
        return handle

    def read_bytes(self, key: str) -> bytes:
        if not self.is_local:
            # One GET, one version: s3fs's file object pins the ETag it saw first, so an object
            # replaced meanwhile (a lease heartbeat) would fail with PreconditionFailed.
            return bytes(self.fs.cat_file(self.path(key)))
        with self.open(key) as handle:
            return handle.read()

    def write_bytes(self, key: str, data: bytes) -> None:
        view = memoryview(data)
        with self.open(key, "wb") as handle:
            # In chunks: s3fs then streams parts as blocks fill instead of one oversized part.
            for start in range(0, len(view), CHUNK_BYTES):
                handle.write(view[start : start + CHUNK_BYTES])

    def create(self, key: str, data: bytes) -> bool:
        """Write ``key`` only if it does not exist, atomically: True if this call created it.

        The one compare-and-set primitive both stores have (disk: a complete temporary file
        hard-linked into place, which fails if the name exists; S3: a PUT with If-None-Match),
        so journals, audit segments and leases never overwrite what another process wrote, and
        a crash never leaves half an object under the final name.
        """
        if not self.is_local:
            try:
                self.fs.pipe_file(self.path(key), data, mode="create")
            except FileExistsError:
                return False
            return True
        final = self.path(key)
        os.makedirs(posixpath.dirname(final), exist_ok=True)
        partial = f"{posixpath.dirname(final)}/.partial-{uuid.uuid4().hex}"
        try:
            with open(partial, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.link(partial, final)
        except FileExistsError:
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
        return True

    def replace(self, key: str, data: bytes) -> None:
        """Overwrite ``key`` atomically: readers see the old or the new bytes, never a mix."""
        if not self.is_local:
            self.fs.pipe_file(self.path(key), data)
            return
        final = self.path(key)
        os.makedirs(posixpath.dirname(final), exist_ok=True)
        partial = f"{posixpath.dirname(final)}/.partial-{uuid.uuid4().hex}"
        with open(partial, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, final)

    def delete(self, key: str) -> None:
        """Remove one object if it is there (journal records, never media or quarantine)."""
        if self.exists(key):
            self.fs.rm(self.path(key))

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

    def copy_stream(self, source_key: str, target_key: str, expected_sha256: str | None = None) -> str:
        """Copy in bounded chunks: memory stays flat whatever the file size. Returns the SHA-256
        of the bytes copied.

        The target appears whole or not at all (S3: a multipart upload completes at close; disk:
        a temporary name renamed at the end), so a crash never leaves a half object at a content
        address. With ``expected_sha256`` the bytes copied must be the bytes that were hashed.
        """
        target = f"{posixpath.dirname(target_key)}/.partial-{uuid.uuid4().hex}" if self.is_local else target_key
        digest = hashlib.sha256()
        with self.open(source_key) as src:
            dst = self.open(target, "wb")
            try:
                for chunk in iter(lambda: src.read(CHUNK_BYTES), b""):
                    digest.update(chunk)
                    dst.write(chunk)
                if expected_sha256 and digest.hexdigest() != expected_sha256:
                    raise ValueError(f"{source_key} changed while being copied (sha256 differs)")
            except BaseException:
                if self.is_local:
                    dst.close()
                else:  # s3fs: abort the multipart upload; the object never appears
                    s3_file: Any = dst  # s3fs's S3File, not a plain IO
                    s3_file.discard()
                    s3_file.closed = True
                if self.is_local and self.fs.exists(self.path(target)):
                    self.fs.rm(self.path(target))
                raise
            dst.close()
        if self.is_local:
            self.fs.mv(self.path(target), self.path(target_key))
        return digest.hexdigest()

    def move(self, source_key: str, target_key: str) -> None:
        """Give an object a new key (disk: a rename; S3: a server-side copy, then the source is removed)."""
        if self.is_local:
            self.fs.makedirs(posixpath.dirname(self.path(target_key)), exist_ok=True)
        self.fs.mv(self.path(source_key), self.path(target_key))

    def remove(self, key: str) -> None:
        """Remove one object if it is there (our own scratch copies only: media/ and quarantine/ are never deleted)."""
        if self.exists(key):
            self.fs.rm(self.path(key))

    def walk_entries(self, prefix: str) -> Iterator[StoredObject]:
        """Every entry below ``prefix`` but directories, sorted by key, links and FIFOs included
        (never followed: fsspec lists them with their own lstat mode and does not descend)."""
        base = self.path(prefix)
        if not self.fs.exists(base):
            return
        found = self.fs.find(base, detail=True)
        for full_path in sorted(found):
            info = found[full_path]
            if info.get("type") == "directory" and not info.get("islink"):
                continue
            key = full_path[len(self.root_path) + 1 :] if full_path.startswith(self.root_path) else full_path
            yield _stored(key, info)

    def walk_files(self, prefix: str) -> Iterator[StoredObject]:
        """Every regular file below ``prefix``, sorted by key, as keys relative to the root."""
        return (entry for entry in self.walk_entries(prefix) if entry.regular)

    def entry(self, key: str) -> StoredObject | None:
        """The entry at ``key`` without following a link, or None when there is none."""
        try:
            info = self.fs.info(self.path(key))
        except (FileNotFoundError, OSError):
            return None
        if info.get("type") == "directory" and not info.get("islink"):
            return None
        return _stored(key, info)

    def delete_prefix(self, prefix: str) -> None:
        """Remove a derived folder (table partitions only; media and quarantine are never deleted)."""
        path = self.path(prefix)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)
