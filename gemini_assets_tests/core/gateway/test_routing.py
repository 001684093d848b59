"""Routing file: task × kind × size → model, stable A/B split, fail-fast validation."""

from __future__ import annotations

import hashlib

import pytest

from gemini_assets.core.config import load_settings
from gemini_assets.core.gateway.routing import RouteConfigError, load_routing, route_item, shadow_decisions
from gemini_assets_tests.rows import media_item


def item(kind="image", task="product_recognition", **facts):
    sha = hashlib.sha256(repr((kind, task, facts)).encode()).hexdigest()
    return media_item(0, task, kind, sha256=sha, size_bytes=1000, **facts)


def write(tmp_path, text, name="routes.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_packaged_routes_send_long_video_and_big_documents_to_pro():
    config = load_routing()
    assert route_item(config, item("image"), "x").model == "gemini-3.8-flash"
    assert route_item(config, item("video", duration_s=30.0), "x").model == "gemini-3.8-flash"
    assert route_item(config, item("video", duration_s=1200.0), "x").model == "gemini-3.1-pro-preview"
    assert route_item(config, item("document", pages=250), "x").model == "gemini-3.1-pro-preview"
    assert route_item(config, item("document", pages=None), "x").model == "gemini-3.8-flash"


def test_a_promoted_challenger_takes_a_stable_share_of_the_records(tmp_path):
    path = write(
        tmp_path,
        """
routes:
  - name: ab
    model: primary-model
    challenger: {model: challenger-model, fraction: 0.3, promote: true}
""",
    )
    config = load_routing(path)
    decisions = [route_item(config, media_item(i, "t", sha256=f"{i:064x}"), "x") for i in range(1000)]
    challengers = [d for d in decisions if d.variant == "challenger"]
    assert 0.25 < len(challengers) / 1000 < 0.35
    assert {d.model for d in challengers} == {"challenger-model"}
    again = [route_item(config, media_item(i, "t", sha256=f"{i:064x}"), "x") for i in range(1000)]
    assert again == decisions
    assert not any(shadow_decisions(config, media_item(i, "t", sha256=f"{i:064x}")) for i in range(1000))


def test_shadow_challengers_never_take_the_record_and_split_independently(tmp_path):
    path = write(
        tmp_path,
        """
routes:
  - name: ab
    model: primary-model
    challenger: {model: first, fraction: 0.2}
    challengers:
      - {model: second, fraction: 0.2}
""",
    )
    config = load_routing(path)
    items = [media_item(i, "t", sha256=f"{i:064x}") for i in range(2000)]
    assert {route_item(config, i, "x").model for i in items} == {"primary-model"}
    shadows = {i.media_id: [d.model for d in shadow_decisions(config, i)] for i in items}
    first = {m for m, models in shadows.items() if "first" in models}
    second = {m for m, models in shadows.items() if "second" in models}
    assert 0.17 < len(first) / 2000 < 0.23 and 0.17 < len(second) / 2000 < 0.23
    # independent hashes: about 4% of the items are in both shares, not 20% (same bucket) or 0%
    assert 0.02 < len(first & second) / 2000 < 0.06
    # the first challenger keeps the bucket a promoted one had: switching promote on moves nothing
    promoted = load_routing(
        write(
            tmp_path,
            "routes:\n  - name: ab\n    model: primary-model\n"
            "    challenger: {model: first, fraction: 0.2, promote: true}\n",
            "p.yaml",
        )
    )
    assert {i.media_id for i in items if route_item(promoted, i, "x").model == "first"} == first


@pytest.mark.parametrize(
    ("challengers", "complaint"),
    [
        ("[{model: a, fraction: 0.1, promote: true}, {model: b, fraction: 0.1, promote: true}]", "more than one"),
        ("[{model: a, fraction: 0.1}, {model: a, fraction: 0.2}]", "names a model twice"),
        ("[{model: m, fraction: 0.1}]", "names a model twice"),
    ],
)
def test_ambiguous_challengers_fail_at_load(tmp_path, challengers, complaint):
    text = f"routes:\n  - model: m\n    challengers: {challengers}\n"
    with pytest.raises(RouteConfigError, match=complaint):
        load_routing(write(tmp_path, text, f"r{abs(hash(text))}.yaml"))


def test_env_var_points_at_another_file(tmp_path, monkeypatch):
    path = write(tmp_path, "routes:\n  - task: product_recognition\n    model: swapped-model\n")
    monkeypatch.setenv("GEMINI_ASSETS_ROUTES", str(path))
    config = load_routing(load_settings().routes_file)
    assert route_item(config, item(), "fallback").model == "swapped-model"
    assert route_item(config, item(task="document_extraction"), "fallback").model == "fallback"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("routes: []", "routes"),
        ("routes:\n  - model: m\n    media_kind: hologram\n", "hologram"),
        ("routes:\n  - model: m\n    challenger: {model: c, fraction: 1.5}\n", "fraction"),
        ("routes:\n  - model: m\n    min_byte: 5\n", "min_byte"),
        ("routes:\n  - model: m\nlimits:\n  m: {rpm: -1}\n", "rpm"),
        ("routes: [unclosed", "not valid YAML"),
    ],
)
def test_bad_config_fails_fast_naming_the_problem(tmp_path, text, expected):
    with pytest.raises(RouteConfigError, match=expected):
        load_routing(write(tmp_path, text, f"bad{abs(hash(text))}.yaml"))


def test_missing_file_says_which_variable_to_fix(tmp_path):
    with pytest.raises(RouteConfigError, match="GEMINI_ASSETS_ROUTES"):
        load_routing(tmp_path / "nope.yaml")
