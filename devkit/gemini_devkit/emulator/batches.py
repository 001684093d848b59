"""Batch API: batchGenerateContent (inline requests or a JSONL file), get, list, cancel, delete.

A batch lives in ``<state>/batches/<id>.json`` (+ its normalized input lines), so every emulator
process serving the same directory sees it. Its state follows the clock, from the knobs
snapshotted at create time: PENDING until ``batch_pending_s``, RUNNING until ``batch_delay_s``,
then ``batch_outcome``. The lines are answered once, by whichever process first sees the batch
done (under an exclusive file lock), with the same generate logic as online calls, so answers
are derived from the media and ``[[emulate:...]]`` directives work. Each answered line is
appended to served.jsonl (method ``batchGenerateContent``, ``service_tier`` batch, its ``key``)
so a ledger reconciles against the emulator's books exactly as for online calls.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from .errors import ApiError, error_body, invalid
from .files_api import get_live_file
from .generate import answer_document
from .knobs import LINE_ERROR_CODES
from .protocol import Request, Response, pick
from .state import StateStore, is_valid_id, new_file_meta, parse_rfc3339, read_json, rfc3339, utc_now, write_json_atomic

TERMINAL = ("SUCCEEDED", "FAILED", "EXPIRED", "CANCELLED")
BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
INLINE_LIMIT_BYTES = 20 * 1024 * 1024  # the real API's cap on an inline batch request


def _dir(store: StateStore) -> Path:
    path = store.root / "batches"
    path.mkdir(exist_ok=True)
    return path


def _paths(store: StateStore, batch_id: str) -> tuple[Path, Path, Path]:
    base = _dir(store) / batch_id
    return base.with_suffix(".json"), base.with_suffix(".input.jsonl"), base.with_suffix(".lock")


# ---- create ---------------------------------------------------------------------------------


def create(store: StateStore, request: Request, model: str) -> Response:
    if request.content_length and request.content_length > INLINE_LIMIT_BYTES:
        raise invalid(f"Inline batch requests are limited to {INLINE_LIMIT_BYTES} bytes: use a JSONL file.")
    batch = pick(request.json(), "batch", default={}) or {}
    source = pick(batch, "inputConfig", "input_config", default={}) or {}
    lines = _input_lines(store, source)
    if not lines:
        raise invalid("A batch needs at least one request.")
    batch_id = secrets.token_hex(8)
    doc_path, input_path, _ = _paths(store, batch_id)
    with input_path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, separators=(",", ":")) + "\n")
    knobs, now = store.behaviour.knobs, utc_now()
    doc = {
        "id": batch_id,
        "model": model,
        "displayName": pick(batch, "displayName", "display_name") or "",
        "inputKind": "file" if pick(source, "fileName", "file_name") else "inline",
        "createTime": rfc3339(now),
        "pendingUntil": rfc3339(now + timedelta(seconds=knobs.batch_pending_s)),
        "readyAt": rfc3339(now + timedelta(seconds=max(knobs.batch_delay_s, knobs.batch_pending_s))),
        "outcome": knobs.batch_outcome,
        "faults": {
            "keys": list(knobs.batch_line_error_keys),
            "rate": knobs.batch_line_error_rate,
            "code": knobs.batch_line_error_code,
        },
        "requestCount": len(lines),
        "cancelTime": None,
        "output": None,
    }
    write_json_atomic(doc_path, doc)
    store.behaviour.count("batches_created")
    return Response.json(_operation(doc, utc_now()))


def _input_lines(store: StateStore, source: dict[str, Any]) -> list[dict[str, Any]]:
    file_name = pick(source, "fileName", "file_name")
    if file_name:
        stored = get_live_file(store, str(file_name).removeprefix("files/"))
        lines = []
        for number, raw in enumerate(stored.read_bytes().decode("utf-8").splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                raise invalid(f"Line {number} of {file_name} is not JSON.") from None
            lines.append({"key": str(line.get("key", number)), "request": line.get("request") or {}})
        return lines
    wrapper = pick(source, "requests", default={}) or {}
    entries = pick(wrapper, "requests", default=[]) or []
    return [
        {
            "key": str((pick(e, "metadata", default={}) or {}).get("key", i)),
            "request": pick(e, "request", default={}) or {},
            "metadata": pick(e, "metadata"),
        }
        for i, e in enumerate(entries)
    ]


# ---- get / list / cancel / delete -----------------------------------------------------------


def _load(store: StateStore, batch_id: str) -> dict[str, Any]:
    doc = read_json(_paths(store, batch_id)[0]) if is_valid_id(batch_id) else None
    if doc is None:
        raise ApiError("NOT_FOUND", f"Batch batches/{batch_id} was not found.")
    return doc


def get(store: StateStore, request: Request, batch_id: str) -> Response:
    doc = _settle(store, _load(store, batch_id))
    return Response.json(_operation(doc, utc_now()))


def list_batches(store: StateStore, request: Request) -> Response:
    size = int(request.query.get("pageSize") or request.query.get("page_size") or 50)
    start = int(request.query.get("pageToken") or request.query.get("page_token") or 0)
    docs = [d for d in (read_json(p) for p in _dir(store).glob("*.json")) if d is not None]
    docs.sort(key=lambda d: (d["createTime"], d["id"]), reverse=True)
    now = utc_now()
    page = docs[start : start + max(size, 1)]
    document: dict[str, Any] = {"operations": [_operation(_settle(store, d), now) for d in page]}
    if start + size < len(docs):
        document["nextPageToken"] = str(start + size)
    return Response.json(document)


def cancel(store: StateStore, request: Request, batch_id: str) -> Response:
    doc_path, _, lock_path = _paths(store, batch_id)
    with _locked(lock_path):
        doc = _load(store, batch_id)
        if _state(doc, utc_now()) not in TERMINAL:
            doc["cancelTime"] = rfc3339(utc_now())
            write_json_atomic(doc_path, doc)
    return Response.json({})


def delete(store: StateStore, request: Request, batch_id: str) -> Response:
    doc = _load(store, batch_id)
    for path in _paths(store, batch_id):
        path.unlink(missing_ok=True)
    output = doc.get("output") or {}
    if output.get("responsesFile"):
        store.delete_file(output["responsesFile"].removeprefix("files/"))
    return Response.json({"name": f"batches/{batch_id}", "done": True})


def download(store: StateStore, request: Request, file_id: str) -> Response:
    stored = get_live_file(store, file_id)
    if stored.meta.get("source") != "GENERATED":
        raise invalid("Only generated files (such as batch results) can be downloaded.")
    return Response(body=stored.read_bytes(), content_type=stored.mime_type)


# ---- state and results ----------------------------------------------------------------------


def _state(doc: dict[str, Any], now) -> str:
    if doc.get("cancelTime"):
        return "CANCELLED"
    if now < parse_rfc3339(doc["pendingUntil"]):
        return "PENDING"
    if now < parse_rfc3339(doc["readyAt"]):
        return "RUNNING"
    return doc["outcome"]


def _settle(store: StateStore, doc: dict[str, Any]) -> dict[str, Any]:
    """Answer the lines of a batch that just succeeded, exactly once across processes."""
    if doc.get("output") is not None or _state(doc, utc_now()) != "SUCCEEDED":
        return doc
    doc_path, input_path, lock_path = _paths(store, doc["id"])
    with _locked(lock_path):
        doc = read_json(doc_path) or doc
        if doc.get("output") is not None:
            return doc
        results = [_answer_line(store, doc, json.loads(raw)) for raw in input_path.read_text().splitlines() if raw]
        doc["stats"] = {"ok": sum("response" in r for r in results), "failed": sum("error" in r for r in results)}
        doc["output"] = _store_output(store, doc, results)
        write_json_atomic(doc_path, doc)
    return doc


def _answer_line(store: StateStore, doc: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
    key = line["key"]
    record: dict[str, Any] = {
        "ts": rfc3339(utc_now()),
        "method": "batchGenerateContent",
        "model": doc["model"],
        "status": 500,
        "usage": None,
        "media": [],
        "response_id": None,
        "service_tier": "batch",
        "batch": f"batches/{doc['id']}",
        "key": key,
    }
    result: dict[str, Any] = {"key": key}
    if line.get("metadata") is not None:
        result["metadata"] = line["metadata"]
    try:
        if _injected(doc, key):
            code = int(doc["faults"]["code"])
            raise ApiError(LINE_ERROR_CODES[code], f"Injected batch line error {code} by the emulator.")
        result["response"] = answer_document(store, line["request"], doc["model"], record, online=False)
        record["status"] = 200
    except ApiError as error:
        record["status"] = error.code
        result["error"] = error_body(error.code, error.status, error.message)["error"]
    finally:
        store.append_served(record)
    return result


def _injected(doc: dict[str, Any], key: str) -> bool:
    faults = doc["faults"]
    if key in faults["keys"]:
        return True
    digest = hashlib.sha256(f"{doc['id']}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < float(faults["rate"])


def _store_output(store: StateStore, doc: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    if doc["inputKind"] == "inline":
        inlined = [{k: v for k, v in r.items() if k != "key"} for r in results]
        return {"inlinedResponses": {"inlinedResponses": inlined}}
    # JSONL in, JSONL out: one line per request with its key, a response or an error object.
    body = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in results).encode()
    file_id = store.new_file_id()
    part = store.uploads_dir / f"{file_id}.result"
    part.write_bytes(body)
    meta = new_file_meta(
        file_id, f"batch-{doc['id']}-results", "application/jsonl", len(body), hashlib.sha256(body).digest()
    )
    meta["source"] = "GENERATED"
    store.put_file(file_id, meta, part)
    return {"responsesFile": f"files/{file_id}"}


def _operation(doc: dict[str, Any], now) -> dict[str, Any]:
    state = _state(doc, now)
    done = state in TERMINAL
    count = int(doc["requestCount"])
    stats = doc.get("stats") or {}
    metadata: dict[str, Any] = {
        "@type": BATCH_TYPE,
        "name": f"batches/{doc['id']}",
        "model": f"models/{doc['model']}",
        "displayName": doc["displayName"],
        "state": f"BATCH_STATE_{state}",
        "createTime": doc["createTime"],
        "updateTime": rfc3339(now),
        "batchStats": {
            "requestCount": str(count),
            "successfulRequestCount": str(stats.get("ok", 0)),
            "failedRequestCount": str(stats.get("failed", 0)),
            "pendingRequestCount": str(0 if done else count),
        },
    }
    if done:
        metadata["endTime"] = doc.get("cancelTime") or doc["readyAt"]
    if state == "SUCCEEDED" and doc.get("output") is not None:
        metadata["output"] = doc["output"]
    operation: dict[str, Any] = {"name": f"batches/{doc['id']}", "metadata": metadata, "done": done}
    if state in ("FAILED", "EXPIRED", "CANCELLED"):
        operation["error"] = {"code": 400 if state == "FAILED" else 499, "message": f"Batch {state.lower()}."}
    return operation


class _locked:
    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.handle = self.path.open("a")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
