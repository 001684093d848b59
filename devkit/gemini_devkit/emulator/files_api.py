"""Files API: resumable upload (start + chunks), get, list, delete."""

from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path

from .errors import ApiError, DropConnection, file_denied, invalid
from .protocol import READ_BLOCK, Request, Response, pick
from .state import StateStore, StoredFile, file_resource, is_valid_id, new_file_meta, read_json, write_json_atomic

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


# ---- resumable upload ---------------------------------------------------------------------


def start_upload(store: StateStore, request: Request) -> Response:
    body = request.json()
    spec = pick(body, "file", default={}) or {}
    mime = pick(spec, "mime_type", "mimeType") or request.header("x-goog-upload-header-content-type")
    if not mime:
        raise invalid("A mime type is required to upload a file.")
    size = pick(spec, "size_bytes", "sizeBytes")
    if size is None and request.header("x-goog-upload-header-content-length"):
        size = request.header("x-goog-upload-header-content-length")
    file_id = _requested_id(store, pick(spec, "name"))
    upload_id = secrets.token_hex(16)
    meta_path, part_path = store.upload_paths(upload_id)
    part_path.touch()
    write_json_atomic(
        meta_path,
        {
            "file_id": file_id,
            "display_name": pick(spec, "display_name", "displayName"),
            "mime_type": mime,
            "size_bytes": int(size) if size is not None else None,
        },
    )
    store.behaviour.upload_session(+1)
    prefix = f"{request.prefix}/upload/{request.version}/files"
    url = f"{request.scheme}://{request.host}{prefix}?upload_id={upload_id}&upload_protocol=resumable"
    return Response(
        status=200,
        headers={
            "X-Goog-Upload-URL": url,
            "X-Goog-Upload-Status": "active",
            "X-Goog-Upload-Chunk-Granularity": str(8 * 1024 * 1024),
        },
    )


def _requested_id(store: StateStore, name: str | None) -> str | None:
    """A caller-chosen `files/<id>`; the id is reserved only when the upload finalizes."""
    if not name:
        return None
    file_id = name.removeprefix("files/")
    if not is_valid_id(file_id):
        raise invalid(f"Invalid file name {name!r}: use lowercase letters and digits only.")
    if store.file_exists(file_id):
        raise ApiError("ALREADY_EXISTS", f"File files/{file_id} already exists.")
    return file_id


def upload_chunk(store: StateStore, request: Request) -> Response:
    """Every failure here answers with X-Goog-Upload-Status: final, else the SDK retries silently."""
    try:
        return _upload_chunk(store, request)
    except ApiError as error:
        return Response.error(error, headers={"X-Goog-Upload-Status": "final"})


def _upload_chunk(store: StateStore, request: Request) -> Response:
    upload_id = request.query.get("upload_id", "")
    if not is_valid_id(upload_id):
        raise ApiError("NOT_FOUND", "Unknown upload id.")
    meta_path, part_path = store.upload_paths(upload_id)
    commands = {c.strip().lower() for c in request.header("x-goog-upload-command").split(",") if c.strip()}
    done = read_json(meta_path.with_suffix(".done"))
    if done is not None and commands == {"query"}:
        # Finalized, but the client may have lost the answer: the real API repeats it.
        return Response.json({"file": done}, headers={"X-Goog-Upload-Status": "final"})
    meta = read_json(meta_path)
    if meta is None or not part_path.exists():
        raise ApiError("NOT_FOUND", f"Upload {upload_id} does not exist or was already finalized.")
    received = part_path.stat().st_size
    behaviour = store.behaviour
    if commands == {"query"}:
        behaviour.count("upload_queries")
        return Response(headers={"X-Goog-Upload-Status": "active", "X-Goog-Upload-Size-Received": str(received)})
    if not commands or not commands <= {"upload", "finalize"}:
        raise invalid(f"Unsupported X-Goog-Upload-Command {request.header('x-goog-upload-command')!r}.")
    if "upload" in commands:
        offset_text = request.header("x-goog-upload-offset")
        if not offset_text.isdigit() or int(offset_text) != received:
            raise invalid(f"X-Goog-Upload-Offset {offset_text!r} does not match the {received} bytes received so far.")
        _maybe_drop(store, request, meta, meta_path, part_path)
        first_chunk = received == 0
        received += _append_body(request, part_path)
        if behaviour.knobs.upload_chunk_delay_s:
            time.sleep(behaviour.knobs.upload_chunk_delay_s)
        if first_chunk and "finalize" not in commands and behaviour.take_session_loss():
            meta_path.unlink(missing_ok=True)  # the session is gone: every later request is a 404
            part_path.unlink(missing_ok=True)
            behaviour.upload_session(-1)
    if "finalize" not in commands:
        return Response(headers={"X-Goog-Upload-Status": "active"})
    return _finalize(store, request, meta, meta_path, part_path, received)


def _maybe_drop(store: StateStore, request: Request, meta: dict, meta_path: Path, part_path: Path) -> None:
    """The upload_drops knob: keep the first bytes of this chunk, then cut the connection."""
    knobs = store.behaviour.knobs
    cut_at = knobs.upload_drop_after_bytes
    if meta.get("drops", 0) >= knobs.upload_drops or (request.content_length or 0) <= cut_at:
        return
    with part_path.open("ab") as handle:
        remaining = cut_at
        while remaining > 0:
            piece = request.rfile.read(min(READ_BLOCK, remaining))
            if not piece:
                break
            handle.write(piece)
            remaining -= len(piece)
    write_json_atomic(meta_path, {**meta, "drops": meta.get("drops", 0) + 1})
    store.behaviour.count("upload_drops")
    raise DropConnection


def _append_body(request: Request, part_path: Path) -> int:
    written = 0
    with part_path.open("ab") as handle:
        for piece in request.iter_body(READ_BLOCK):
            handle.write(piece)
            written += len(piece)
    return written


def _finalize(
    store: StateStore, request: Request, meta: dict, meta_path: Path, part_path: Path, received: int
) -> Response:
    declared = meta.get("size_bytes")
    if declared is not None and declared != received:
        raise invalid(f"Upload finalized with {received} bytes but {declared} were declared.")
    digest = hashlib.sha256()
    with part_path.open("rb") as handle:
        while piece := handle.read(READ_BLOCK):
            digest.update(piece)
    file_id = meta.get("file_id") or store.new_file_id()
    if store.file_exists(file_id):
        raise ApiError("ALREADY_EXISTS", f"File files/{file_id} already exists.")
    file_meta = new_file_meta(
        file_id, meta.get("display_name"), meta["mime_type"], received, digest.digest(), store.behaviour.knobs
    )
    stored = store.put_file(file_id, file_meta, part_path)
    resource = file_resource(stored, request.host)
    write_json_atomic(meta_path.with_suffix(".done"), resource)
    meta_path.unlink(missing_ok=True)
    store.behaviour.upload_session(-1)
    return Response.json({"file": resource}, headers={"X-Goog-Upload-Status": "final"})


# ---- get / list / delete ----------------------------------------------------------------


def get_live_file(store: StateStore, file_id: str) -> StoredFile:
    stored = store.get_file(file_id)
    if stored is None or stored.expired():
        raise file_denied(file_id)
    return stored


def get_file(store: StateStore, request: Request, file_id: str) -> Response:
    return Response.json(file_resource(get_live_file(store, file_id), request.host))


def delete_file(store: StateStore, request: Request, file_id: str) -> Response:
    get_live_file(store, file_id)
    store.delete_file(file_id)
    return Response.json({})


def list_files(store: StateStore, request: Request) -> Response:
    page_size = _int_param(request.query.get("pageSize") or request.query.get("page_size"), DEFAULT_PAGE_SIZE)
    if page_size <= 0:
        page_size = DEFAULT_PAGE_SIZE
    page_size = min(page_size, MAX_PAGE_SIZE)
    start = _int_param(request.query.get("pageToken") or request.query.get("page_token"), 0)
    live = [f for f in store.iter_files() if not f.expired()]
    # Newest first like the real API; the name breaks ties so paging is stable.
    live.sort(key=lambda f: (f.meta["createTime"], f.file_id), reverse=True)
    page = live[start : start + page_size]
    document: dict = {"files": [file_resource(f, request.host) for f in page]}
    if start + page_size < len(live):
        document["nextPageToken"] = str(start + page_size)
    return Response.json(document)


def _int_param(value: str | None, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise invalid(f"Invalid integer parameter {value!r}.") from None
