"""Least privilege for storage: a whole day touches only what deploy/iam/pipeline.json grants.

Every key the ObjectStore reads, lists, writes or deletes during a day is recorded and checked
against the prefixes the shipped policies name (the test reads the JSON itself, so the policy,
docs/access.md and the code cannot drift apart): reads and lists inside the policy's prefixes,
writes only where it may put, deletes only where it may delete, nothing ever written to the
read-only uploads, golden sets or billing exports, and the signed audit checkpoints only in their
own root (deploy/iam/checkpoints.json).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import pytest
import s3fs
from fsspec.implementations.local import LocalFileSystem

from gemini_assets.core.audit.log import AuditLog
from gemini_assets.core.config import load_settings
from gemini_assets.core.stages.golden import GoldenSets
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import default_resources
from gemini_assets_tests.s3_fixtures import s3_client
from gemini_devkit.samples.day import ALL_TASKS, seed_day
from gemini_devkit.samples.golden import seed_golden_sets

# A whole mixed day through Dagster and the emulator: slow.
pytestmark = pytest.mark.slow

POLICIES = Path(__file__).parents[2] / "deploy" / "iam"
DAY = "2026-11-22"
READ, WRITE, DELETE, LIST = "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"


@dataclass(frozen=True)
class Grants:
    """What one policy allows on one bucket, as key prefixes per S3 action."""

    by_action: dict[str, tuple[str, ...]]

    def allows(self, action: str, key: str) -> bool:
        # A resource ending in "/*" grants a prefix ("" the whole bucket); one without a wildcard, that one key (s3fs
        # asks for a folder's own name before it lists it).
        return any(
            key.startswith(prefix) if prefix.endswith("/") or not prefix else key == prefix
            for prefix in self.by_action.get(action, ())
        )


def grants(policy: str, bucket_var: str = "${BUCKET}") -> Grants:
    """The Allow statements of ``deploy/iam/<policy>.json`` on ``bucket_var``, as key prefixes."""
    document = json.loads((POLICIES / f"{policy}.json").read_text())
    by_action: dict[str, list[str]] = {}
    bucket_arn = f"arn:aws:s3:::{bucket_var}"
    for statement in document["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        for action in actions:
            for resource in resources:
                if action == LIST and resource == bucket_arn:
                    condition = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix", ["*"])
                    by_action.setdefault(LIST, []).extend(p.removesuffix("*") for p in condition)
                elif resource.startswith(f"{bucket_arn}/"):
                    by_action.setdefault(action, []).append(resource.removeprefix(f"{bucket_arn}/").removesuffix("*"))
    return Grants({action: tuple(prefixes) for action, prefixes in by_action.items()})


@dataclass
class Touches:
    """Keys touched per storage root and kind of access."""

    seen: dict[str, dict[str, set[str]]] = field(default_factory=dict)

    def add(self, root: str, action: str, key: str) -> None:
        self.seen.setdefault(root, {}).setdefault(action, set()).add(key)

    def of(self, root: str) -> dict[str, set[str]]:
        return self.seen.get(root, {})


WRITING = {"write_bytes": 0, "create": 0, "replace": 0, "write_json": 0, "copy_stream": 1}
DELETING = {"delete": 0, "remove": 0, "delete_prefix": 0}


@pytest.fixture
def touches(monkeypatch) -> Iterator[Touches]:
    """Records every key the ObjectStore sees, in the test only: ``path()`` is the one door every
    access goes through (including the few callers that use ``store.fs`` directly), the writing
    and deleting methods say what kind of access it was, and fsspec's rm/mv catch direct deletes."""
    recorded = Touches()
    roots: dict[str, str] = {}

    def key_of(full_path: str) -> tuple[str, str] | None:
        for root_path, root in roots.items():
            if full_path.startswith(f"{root_path}/"):
                return root, full_path[len(root_path) + 1 :]
        return None

    original_path = ObjectStore.path

    def path(self: ObjectStore, key: str) -> str:
        roots[self.root_path] = self.root_path
        recorded.add(self.root_path, READ, key)
        return original_path(self, key)

    monkeypatch.setattr(ObjectStore, "path", path)

    def wrap(name: str, action: str, argument: int) -> None:
        original = getattr(ObjectStore, name)

        def recording(self: ObjectStore, *args: Any, **kwargs: Any) -> Any:
            recorded.add(self.root_path, action, args[argument])
            return original(self, *args, **kwargs)

        monkeypatch.setattr(ObjectStore, name, recording)

    for name, argument in WRITING.items():
        wrap(name, WRITE, argument)
    for name, argument in DELETING.items():
        wrap(name, DELETE, argument)
    original_open, original_move = ObjectStore.open, ObjectStore.move

    def open_(self: ObjectStore, key: str, mode: str = "rb") -> Any:
        if mode != "rb":
            recorded.add(self.root_path, WRITE, key)
        return original_open(self, key, mode)

    def move(self: ObjectStore, source_key: str, target_key: str) -> None:
        recorded.add(self.root_path, DELETE, source_key)
        recorded.add(self.root_path, WRITE, target_key)
        original_move(self, source_key, target_key)

    monkeypatch.setattr(ObjectStore, "open", open_)
    monkeypatch.setattr(ObjectStore, "move", move)
    original_rm = LocalFileSystem.rm

    def rm(self: LocalFileSystem, path: str, *args: Any, **kwargs: Any) -> Any:
        if (found := key_of(path)) is not None:
            recorded.add(found[0], DELETE, found[1])
        return original_rm(self, path, *args, **kwargs)

    monkeypatch.setattr(LocalFileSystem, "rm", rm)
    yield recorded


def outside(keys: set[str], allowed: Grants, *actions: str) -> list[str]:
    return sorted(key for key in keys if not any(allowed.allows(action, key) for action in actions))


def test_a_day_touches_only_the_pipeline_policys_prefixes(store, tmp_path, monkeypatch, touches):
    checkpoints_root = tmp_path / "checkpoints"
    monkeypatch.setenv("GEMINI_ASSETS_AUDIT_CHECKPOINTS", str(checkpoints_root))
    seed_day(store, DAY, 20, task=ALL_TASKS)
    seed_golden_sets(GoldenSets(store, AuditLog.from_settings(store, load_settings())), 3, ["product_recognition"])
    touches.seen.clear()  # seeding is the uploaders' and curators' doing, not the pipeline's

    result = dg.materialize(ASSETS, partition_key=DAY, resources=default_resources())
    assert result.success

    pipeline = grants("pipeline")
    main = touches.of(store.root_path)
    everything = set().union(*main.values())
    assert not outside(everything, pipeline, READ, WRITE, DELETE, LIST)
    assert not outside(main.get(WRITE, set()), pipeline, WRITE)
    assert not outside(main.get(DELETE, set()), pipeline, DELETE)
    read_only = [p for p in pipeline.by_action[READ] if p.endswith("/") and not pipeline.allows(WRITE, p)]
    assert {"landing/", "golden/", "billing/"} <= set(read_only)
    assert not [key for key in main.get(WRITE, set()) | main.get(DELETE, set()) if key.startswith(tuple(read_only))]
    # The day did reach what the policy is about: uploads read, tables and audit events written.
    for prefix in ("landing/", "golden/", "billing"):
        assert any(key.startswith(prefix) for key in everything), prefix
    for prefix in ("media/", "sanitized/", "warehouse/", "audit/log/", "audit/responses/", "journal/"):
        assert any(key.startswith(prefix) for key in main.get(WRITE, set())), prefix

    # The signed checkpoints went to their own root, and only there (checkpoints.json's bucket).
    vault = touches.of(str(checkpoints_root))
    assert vault.get(WRITE) and not vault.get(DELETE)
    checkpoints = grants("checkpoints", "${CHECKPOINT_BUCKET}")
    assert not outside(vault[WRITE], checkpoints, WRITE)
    assert not [key for key in everything if key.startswith("audit_checkpoints")]


def moto_policy(policy: str, buckets: dict[str, str]) -> str:
    """A shipped policy for moto: its bucket names filled in, its conditions dropped. moto judges
    an identity policy without the request's context, so an ``s3:prefix`` condition would deny
    every listing; the listing prefixes are what the recording test above checks instead."""
    text = (POLICIES / f"{policy}.json").read_text()
    for name, value in buckets.items():
        text = text.replace(f"${{{name}}}", value)
    document = json.loads(text)
    for statement in document["Statement"]:
        statement.pop("Condition", None)
    return json.dumps(document)


def iam_user(iam: Any, name: str, policies: list[str], buckets: dict[str, str]) -> dict[str, str]:
    iam.create_user(UserName=name)
    for policy in policies:
        arn = iam.create_policy(PolicyName=f"{name}-{policy}", PolicyDocument=moto_policy(policy, buckets))["Policy"][
            "Arn"
        ]
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def reset_auth(endpoint: str, after_requests: str) -> None:
    """moto's switch: IAM is enforced once the server has seen ``after_requests`` more requests."""
    with urllib.request.urlopen(
        urllib.request.Request(
            f"{endpoint}/moto-api/reset-auth",
            data=after_requests.encode(),
            headers={"Content-Type": "text/plain"},  # a form body would be parsed away
            method="POST",
        ),
        timeout=10,
    ):
        pass


@pytest.fixture
def iam_enforced(moto_endpoint) -> Iterator[None]:
    """moto's IAM enforcement, on for this test only (the server is shared by the session)."""
    reset_auth(moto_endpoint, "0")
    try:
        yield
    finally:
        reset_auth(moto_endpoint, "inf")


def test_a_day_runs_on_s3_with_only_the_pipeline_policy(moto_endpoint, s3_bucket, tmp_path, monkeypatch, request):
    vault = f"{s3_bucket}-checkpoints"
    s3_client(moto_endpoint).create_bucket(Bucket=vault)
    buckets = {"BUCKET": s3_bucket, "CHECKPOINT_BUCKET": vault}
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    pipeline = iam_user(iam, f"pipeline-{s3_bucket}", ["pipeline", "checkpoints"], buckets)
    analyst = iam_user(iam, f"analyst-{s3_bucket}", ["analyst"], buckets)
    monkeypatch.setenv("GEMINI_ASSETS_STORAGE", f"s3://{s3_bucket}")
    monkeypatch.setenv("GEMINI_ASSETS_S3_ENDPOINT", moto_endpoint)
    monkeypatch.setenv("GEMINI_ASSETS_AUDIT_CHECKPOINTS", f"s3://{vault}")
    s3 = ObjectStore.from_settings(load_settings())
    seed_day(s3, DAY, 10)  # as the uploaders, before IAM is enforced

    request.getfixturevalue("iam_enforced")
    for name, value in pipeline.items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    result = dg.materialize(ASSETS, partition_key=DAY, resources=default_resources())
    assert result.success

    as_pipeline, as_analyst = s3_as(moto_endpoint, pipeline), s3_as(moto_endpoint, analyst)
    table = first_key(as_pipeline, s3_bucket, "warehouse/")
    upload = first_key(as_pipeline, s3_bucket, "landing/")
    assert as_analyst.get_object(Bucket=s3_bucket, Key=table)["Body"].read()  # the tables, and nothing else
    for denied in (
        lambda: as_analyst.get_object(Bucket=s3_bucket, Key=upload),
        lambda: as_analyst.put_object(Bucket=s3_bucket, Key=table, Body=b"forged"),
        lambda: as_pipeline.put_object(Bucket=s3_bucket, Key=upload, Body=b"rewritten upload"),
        lambda: as_pipeline.delete_object(Bucket=s3_bucket, Key=first_key(as_pipeline, s3_bucket, "media/")),
        lambda: as_pipeline.delete_object(Bucket=vault, Key=first_key(as_pipeline, vault, "")),
    ):
        with pytest.raises(as_analyst.exceptions.ClientError, match="AccessDenied"):
            denied()


def s3_as(endpoint: str, credentials: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
    )


def first_key(client: Any, bucket: str, prefix: str) -> str:
    return str(client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"][0]["Key"])
