"""Only regular files are read: links, FIFOs, sockets and hard-to-name files in landing/ (issue 14).

A link in landing/ that was followed would copy its target (any file the worker can read) into
quarantine/, where analysts and reviewers open it. Here every target holds a marker, and after the
day no byte of it is anywhere under the storage root.
"""

import io
import os
import socket
from pathlib import Path

import dagster as dg
import pytest
from PIL import Image, PngImagePlugin

from gemini_assets.core.storage.tables import read_partition
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import default_resources
from gemini_assets_tests.landing import land

DAY = "2026-11-25"
FOLDER = f"landing/{DAY}/product_recognition/u"
MARKER = b"TARGET-BYTES-" + os.urandom(8).hex().encode()


def png(text: bytes = b"") -> bytes:
    """A valid upload; with ``text`` it carries it uncompressed (so a copy would show it verbatim)."""
    info = PngImagePlugin.PngInfo()
    if text:
        info.add_text("Comment", text.decode())
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (40, 90, 160)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


@pytest.fixture
def outside(tmp_path) -> Path:
    """Files outside the storage root that a followed link would leak."""
    folder = tmp_path / "outside"
    (folder / "folder").mkdir(parents=True)
    (folder / "secret.png").write_bytes(png(MARKER))
    (folder / "folder" / "inner.png").write_bytes(png(MARKER))
    (folder / "secret.json").write_bytes(b'{"consent": true, "context": "' + MARKER + b'"}')
    return folder


def test_links_fifos_sockets_and_odd_names_are_quarantined_without_reading_a_byte(store, outside, monkeypatch):
    land(store, f"{FOLDER}/ordinary.png", png())
    land(store, f"{FOLDER}/new\nline -rf.png", png())  # hard to name, but an ordinary file
    landing = Path(store.path(FOLDER))
    (landing / "link.png").symlink_to(outside / "secret.png")
    (landing / "linked_folder").symlink_to(outside / "folder")
    (landing / "dangling.png").symlink_to(outside / "missing.png")
    (landing / "inside_link.png").symlink_to(landing / "ordinary.png")  # not followed either
    store.write_bytes(f"{FOLDER}/linked_sidecar.png", png())
    (landing / "linked_sidecar.png.meta.json").symlink_to(outside / "secret.json")
    os.mkfifo(landing / "pipe.png")  # opening it for reading would block the run forever
    listener = socket.socket(socket.AF_UNIX)
    with monkeypatch.context() as here:  # a socket path is limited to 108 bytes: bind it relative
        here.chdir(landing)
        listener.bind("socket.png")
    with open(os.fsencode(landing) + b"/caf\xe9.png", "wb") as odd:  # a name that is not UTF-8
        odd.write(png())

    try:
        result = dg.materialize(
            ASSETS,
            selection=["raw_media", "validated_media", "quarantined_media"],
            partition_key=DAY,
            resources=default_resources(),
        )
    finally:
        listener.close()

    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [c.description for c in checks if not c.passed]
    accepted = read_partition(store, "validated_media", DAY)
    quarantined = read_partition(store, "quarantined_media", DAY).set_index("file_name")
    assert len(accepted) == 2  # ordinary.png and the hard-to-name one
    assert quarantined["reason_code"].to_dict() == {
        "link.png": "not_regular_file",
        "linked_folder": "not_regular_file",
        "dangling.png": "not_regular_file",
        "inside_link.png": "not_regular_file",
        "pipe.png": "not_regular_file",
        "socket.png": "not_regular_file",
        "linked_sidecar.png": "invalid_sidecar",  # the sidecar is a link: not read
        "caf\\xe9.png": "unsafe_name",
    }
    raw = read_partition(store, "raw_media", DAY).set_index("file_name")
    assert raw.loc["link.png", "object_type"] == "symlink" and raw.loc["pipe.png", "object_type"] == "fifo"
    assert raw.loc["link.png", "size_bytes"] == 0 and raw.loc["link.png", "sha256"] == ""  # never opened

    for row in quarantined.itertuples():
        folder = Path(store.path(row.quarantine_key))
        assert (folder / "reason.json").is_file()
        copied = (folder / "original").exists()
        assert copied == (row.reason_code == "invalid_sidecar"), row.Index  # a regular file is kept
    leaks = [path for path in _regular_files(Path(store.root_path)) if MARKER in path.read_bytes()]
    assert leaks == []
    assert os.path.islink(landing / "link.png")  # landing/ is left as it was


def _regular_files(root: Path) -> list[Path]:
    """Every regular file under root, links not followed (the links themselves are not files)."""
    found = []
    for folder, _, names in os.walk(root, followlinks=False):
        for name in names:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                found.append(path)
    return found


def test_the_marker_would_be_found_if_a_target_were_copied(store, outside):
    """The leak check above can fail: a copy of a target under the root is caught."""
    store.write_bytes("quarantine/x/original", (outside / "secret.png").read_bytes())
    assert [p for p in _regular_files(Path(store.root_path)) if MARKER in p.read_bytes()]
