"""Upload names can never make us write outside the storage root, on disk or on S3."""

import io
import os

from PIL import Image

from gemini_assets.core.media.policy import DEFAULT_POLICY
from gemini_assets.core.stages.intake import scan_landing, validate_and_store
from gemini_assets.core.tasks.catalog import TaskCatalog
from gemini_assets_tests.s3_fixtures import s3_client

DAY = "2026-11-24"
HOSTILE_NAMES = [
    "café crème 名前.png",
    "file with  spaces .png",
    "-rf.png",
    "--help.png",
    "..png",
    "a..b.png",
    "%2e%2e%2f%2e%2e%2fevil.png",
    "..%2f..%2fetc%2fpasswd.png",
    "x" * 240 + ".png",
    "tab\tname.png",
]
LOCAL_ONLY_NAMES = ["new\nline.png"]  # moto's server answers 404 to a PUT with a newline in the key
FOLDERS = ["u", "%2e%2e", "-", "..."]
MARKER = b"UNSAFE-KEY-BYTES"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (9, 9, 9)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_hostile_names_stay_inside_the_root(backend_store, tmp_path):
    store = backend_store
    data = png()
    names = HOSTILE_NAMES + (LOCAL_ONLY_NAMES if store.is_local else [])
    for folder in FOLDERS:
        for name in names:
            store.write_bytes(f"landing/{DAY}/product_recognition/{folder}/{name}", data)
            store.write_bytes(
                f"landing/{DAY}/product_recognition/{folder}/{name}.meta.json", b'{"context": "x", "consent": true}'
            )
    if not store.is_local:  # S3 names are literal: a `..` segment is a real key there
        bucket = store.root_path.split("/", 1)[0]
        endpoint = os.environ["GEMINI_ASSETS_S3_ENDPOINT"]
        evil = f"root/landing/{DAY}/product_recognition/../../../../evil.png"
        s3_client(endpoint).put_object(Bucket=bucket, Key=evil, Body=data + MARKER)
    outside_before = _outside(tmp_path)

    rows = scan_landing(store, DAY)
    results = [validate_and_store(store, row, DAY, DEFAULT_POLICY, TaskCatalog()) for row in rows]

    accepted = [r.accepted for r in results if r.accepted]
    rejected = {r.quarantined.file_name: r.quarantined.reason_code for r in results if r.quarantined}
    assert len(accepted) == len(FOLDERS) * len(names)
    assert rejected == ({} if store.is_local else {"evil.png": "unsafe_name"})
    assert _outside(tmp_path) == outside_before
    top_level = {path.rstrip("/").rsplit("/", 1)[-1] for path in store.fs.ls(store.root_path, detail=False)}
    # On disk the (empty) folder of the private copies stays: staging/ is ours, like media/.
    assert top_level == ({"landing", "media", "staging"} if store.is_local else {"landing", "media", "quarantine"})
    if not store.is_local:
        keys = [o["Key"] for o in s3_client(endpoint).list_objects_v2(Bucket=bucket)["Contents"]]
        assert all(key.startswith("root/") for key in keys)
        assert not any(key.startswith("root/quarantine/") and ".." in key for key in keys)
        # the unsafe key is never read: its bytes are nowhere else in the bucket
        bodies = {key: s3_client(endpoint).get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}
        assert [key for key, body in bodies.items() if MARKER in body] == [evil]


def _outside(tmp_path) -> set[str]:
    """Every file below the test's temp dir except the storage root itself."""
    return {str(p) for p in tmp_path.rglob("*") if "storage" not in p.relative_to(tmp_path).parts[:1]}
