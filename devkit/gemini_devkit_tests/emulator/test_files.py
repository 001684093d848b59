"""Files API over real HTTP: resumable upload, get, list paging, delete, expiry."""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import logging
import os
import urllib.parse
from pathlib import Path

import pytest
from google.genai import errors, types

from gemini_devkit.samples.media import make_png

from .conftest import raw_request


def test_upload_get_list_delete(client, tmp_path: Path) -> None:
    path = tmp_path / "red.png"
    path.write_bytes(make_png())
    by_path = client.files.upload(file=path, config={"mime_type": "image/png", "display_name": "x"})
    by_stream = client.files.upload(file=io.BytesIO(make_png((10, 10))), config={"mime_type": "image/png"})
    assert by_path.state == types.FileState.ACTIVE and by_path.display_name == "x"
    assert by_path.size_bytes == path.stat().st_size
    assert by_path.sha256_hash == base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()
    assert by_path.name.startswith("files/") and by_path.name[6:].isalnum()
    assert by_path.uri.endswith(by_path.name) and by_path.expiration_time > by_path.create_time

    fetched = client.files.get(name=by_stream.name)
    assert fetched.name == by_stream.name and fetched.mime_type == "image/png"

    for _ in range(3):
        client.files.upload(file=io.BytesIO(b"%PDF-1.4 x"), config={"mime_type": "application/pdf"})
    pager = client.files.list(config={"page_size": 2})
    assert len(pager.page) == 2
    names = [f.name for f in pager]
    assert len(names) == 5 == len(set(names)) and by_path.name in names

    client.files.delete(name=by_path.name)
    with pytest.raises(errors.ClientError) as denied:
        client.files.get(name=by_path.name)
    assert denied.value.code == 403 and denied.value.status == "PERMISSION_DENIED"


def test_ten_mib_upload_goes_in_two_chunks(client, emulator, caplog) -> None:
    data = os.urandom(10 * 1024 * 1024)
    caplog.set_level(logging.DEBUG, logger="gemini_devkit.emulator")
    uploaded = client.files.upload(file=io.BytesIO(data), config={"mime_type": "video/mp4"})
    chunk_posts = [r for r in caplog.records if "upload_id=" in r.getMessage() and "POST" in r.getMessage()]
    assert len(chunk_posts) == 2
    assert uploaded.size_bytes == len(data)
    assert uploaded.sha256_hash == base64.b64encode(hashlib.sha256(data).digest()).decode()
    # finalized uploads leave only their answer, for a client that lost it and asks again (query)
    assert [p.suffix for p in (emulator.state_dir / "uploads").iterdir()] == [".done"]


def test_expired_file_is_denied(client, emulator) -> None:
    uploaded = client.files.upload(file=io.BytesIO(make_png()), config={"mime_type": "image/png"})
    meta_path = emulator.state_dir / "files" / f"{uploaded.name[6:]}.json"
    meta = json.loads(meta_path.read_text())
    meta["expirationTime"] = "2000-01-01T00:00:00.000000Z"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(errors.ClientError) as denied:
        client.files.get(name=uploaded.name)
    assert denied.value.code == 403


def test_chunk_offset_mismatch_is_final_400(emulator) -> None:
    start = raw_request(
        f"{emulator.url}/upload/v1beta/files",
        "POST",
        json.dumps({"file": {"mime_type": "image/png"}}).encode(),
        {"x-goog-api-key": "k", "X-Goog-Upload-Command": "start", "Content-Type": "application/json"},
    )
    upload_url = start[1]["X-Goog-Upload-URL"]
    status, headers, _ = raw_request(
        upload_url, "POST", b"abc", {"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "7"}
    )
    assert status == 400 and headers["X-Goog-Upload-Status"] == "final"


def test_chunked_transfer_encoding_upload(emulator) -> None:
    # Some HTTP clients stream bodies without Content-Length; the emulator must still store them.
    start = raw_request(
        f"{emulator.url}/upload/v1/files",
        "POST",
        json.dumps({"file": {"displayName": "c", "mimeType": "text/plain", "sizeBytes": 6}}).encode(),
        {"x-goog-api-key": "k", "X-Goog-Upload-Command": "start"},
    )
    target = urllib.parse.urlsplit(start[1]["X-Goog-Upload-URL"])
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=5)
    connection.request(
        "POST",
        f"{target.path}?{target.query}",
        body=iter([b"abc", b"def"]),
        headers={"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0"},
        encode_chunked=True,
    )
    response = connection.getresponse()
    document = json.loads(response.read())
    connection.close()
    assert response.status == 200 and response.headers["X-Goog-Upload-Status"] == "final"
    assert document["file"]["sizeBytes"] == "6" and document["file"]["displayName"] == "c"


def _start(emulator, size: int) -> str:
    start = raw_request(
        f"{emulator.url}/upload/v1beta/files",
        "POST",
        json.dumps({"file": {"mime_type": "video/mp4", "size_bytes": size}}).encode(),
        {"x-goog-api-key": "k", "X-Goog-Upload-Command": "start", "Content-Type": "application/json"},
    )
    return start[1]["X-Goog-Upload-URL"]


def _query(url: str) -> tuple[int, dict]:
    status, headers, _ = raw_request(url, "POST", b"", {"X-Goog-Upload-Command": "query"})
    return status, headers


def test_a_cut_chunk_keeps_its_first_bytes_and_query_reports_them(emulator) -> None:
    emulator.set_knobs(upload_drops=1, upload_drop_after_bytes=1000)
    url = _start(emulator, 5000)
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        raw_request(
            url, "POST", b"x" * 5000, {"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0"}
        )
    status, headers = _query(url)
    assert status == 200 and headers["X-Goog-Upload-Status"] == "active"
    assert headers["X-Goog-Upload-Size-Received"] == "1000"
    status, headers, body = raw_request(
        url, "POST", b"x" * 4000, {"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "1000"}
    )  # the knob is spent for this session: the rest goes through
    assert status == 200 and json.loads(body)["file"]["sizeBytes"] == "5000"
    assert emulator.stats()["upload_drops"] == 1


def test_a_lost_session_answers_404_and_a_finished_one_repeats_its_answer(emulator) -> None:
    emulator.set_knobs(upload_lose_sessions=1)
    lost = _start(emulator, 20)
    status, _, _ = raw_request(
        lost, "POST", b"a" * 10, {"X-Goog-Upload-Command": "upload", "X-Goog-Upload-Offset": "0"}
    )
    assert status == 200  # accepted, then the session vanished
    assert _query(lost)[0] == 404
    finished = _start(emulator, 3)
    status, _, body = raw_request(
        finished, "POST", b"abc", {"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0"}
    )
    status, headers, again = raw_request(finished, "POST", b"", {"X-Goog-Upload-Command": "query"})
    assert status == 200 and headers["X-Goog-Upload-Status"] == "final"
    assert json.loads(again)["file"]["name"] == json.loads(body)["file"]["name"]  # the answer a client lost
