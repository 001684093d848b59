"""The object store on local disk and on moto S3: streaming, multipart, whole-or-nothing copies."""

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from gemini_assets.core.storage.objectstore import CHUNK_BYTES, UnsafeKeyError, is_safe_key, safe_key
from gemini_assets_tests.s3_fixtures import s3_client


def test_round_trip_and_listing(backend_store):
    backend_store.write_bytes("landing/d/t/a b é.png", b"abc")
    backend_store.write_json("quarantine/x/reason.json", {"reason_code": "empty_file"})
    assert backend_store.read_bytes("landing/d/t/a b é.png") == b"abc"
    assert backend_store.read_json("quarantine/x/reason.json") == {"reason_code": "empty_file"}
    assert [o.key for o in backend_store.walk_files("landing")] == ["landing/d/t/a b é.png"]
    assert backend_store.sha256("landing/d/t/a b é.png") == hashlib.sha256(b"abc").hexdigest()


def test_multipart_sized_object_streams_through(backend_store):
    data = os.urandom(17 * 1024 * 1024)  # > 2 S3 blocks of 8 MiB: three parts
    digest = hashlib.sha256(data).hexdigest()
    backend_store.write_bytes("landing/big.bin", data)
    backend_store.copy_stream("landing/big.bin", "media/big.bin", expected_sha256=digest)
    assert backend_store.sha256("media/big.bin") == digest and backend_store.size("media/big.bin") == len(data)
    if not backend_store.is_local:
        bucket = backend_store.root_path.split("/", 1)[0]
        etag = s3_client(os.environ["GEMINI_ASSETS_S3_ENDPOINT"]).head_object(Bucket=bucket, Key="root/media/big.bin")[
            "ETag"
        ]
        assert etag.strip('"').endswith("-3"), etag  # a multipart upload of three parts


def test_copy_with_a_wrong_hash_leaves_nothing_behind(backend_store):
    backend_store.write_bytes("landing/x.bin", os.urandom(3 * CHUNK_BYTES))
    with pytest.raises(ValueError, match="changed while being copied"):
        backend_store.copy_stream("landing/x.bin", "media/ab/x.bin", expected_sha256="0" * 64)
    assert not backend_store.exists("media/ab/x.bin")
    if backend_store.is_local:
        assert not list(backend_store.walk_files("media"))  # no temporary file either


@pytest.mark.parametrize("bad", ["../etc/passwd", "/abs", "a/../../b", "a/../b", "", "a\x00b", "landing/%2e%2e/../x"])
def test_unsafe_keys_are_refused(bad):
    with pytest.raises(UnsafeKeyError):
        safe_key(bad)
    assert not is_safe_key(bad)


@pytest.mark.parametrize("good", ["landing/d/t/..png", "landing/%2e%2e/x.png", "landing/-rf", "a/..b/c"])
def test_odd_but_safe_keys_are_kept_verbatim(good):
    assert safe_key(good) == good and is_safe_key(good)


def test_create_is_exclusive_and_atomic_on_disk_and_s3(backend_store):
    """Guards: two writers of one journal entry, audit segment or lease both believing they won."""
    assert backend_store.create("audit/x/0000000001.jsonl", b"first") is True
    assert backend_store.create("audit/x/0000000001.jsonl", b"second") is False
    assert backend_store.read_bytes("audit/x/0000000001.jsonl") == b"first"
    backend_store.replace("leases/d/t.json", b"one")
    backend_store.replace("leases/d/t.json", b"two")
    assert backend_store.read_bytes("leases/d/t.json") == b"two"
    listed = [o.key for prefix in ("audit", "leases") for o in backend_store.walk_files(prefix)]
    assert listed == ["audit/x/0000000001.jsonl", "leases/d/t.json"]  # no temporary file left behind


def test_concurrent_creators_of_one_key_have_exactly_one_winner(backend_store):
    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(lambda n: backend_store.create("journal/k.json", str(n).encode()), range(16)))
    assert won.count(True) == 1
    assert backend_store.read_bytes("journal/k.json") == str(won.index(True)).encode()
