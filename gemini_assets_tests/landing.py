"""Writing uploads the way an uploader does: the file and its sidecar (consent given by default)."""

import json

from gemini_assets.core.storage.objectstore import ObjectStore

CONSENTED = {"uploader": "tests", "consent": True, "residency": "global"}


def land(store: ObjectStore, key: str, data: bytes, **sidecar) -> str:
    store.write_bytes(key, data)
    store.write_bytes(key + ".meta.json", json.dumps({**CONSENTED, **sidecar}).encode())
    return key
