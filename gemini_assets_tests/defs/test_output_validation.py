"""Every failure shape of a model answer, through the real SDK and the emulator, lands where it should."""

import io
import json

import dagster as dg
import pytest
from PIL import Image

from gemini_assets.core.stages.intake import media_id_for
from gemini_assets.core.storage.tables import read_partition
from gemini_assets.definitions import ASSETS
from gemini_assets.defs.resources import default_resources
from gemini_devkit.emulator.state import read_served_log

# Whole-day materializations through Dagster and the emulator: slow.
pytestmark = pytest.mark.slow

DAY = "2026-11-19"

# shape -> (table, reason_code or parse_status, API calls for the item)
EXPECTED = {
    "none": ("validated_records", "valid", 1),
    "fenced_json": ("validated_records", "repaired", 1),
    "missing_field:once": ("validated_records", "repaired", 2),
    "missing_field": ("review_queue", "invalid_output", 2),
    "extra_field": ("review_queue", "invalid_output", 2),
    "wrong_type": ("review_queue", "invalid_output", 2),
    "oversized_array": ("review_queue", "invalid_output", 2),
    "not_json": ("review_queue", "invalid_output", 2),
    "max_tokens": ("review_queue", "max_tokens", 1),
    "safety_block": ("review_queue", "safety_blocked", 1),
    "safety_finish": ("review_queue", "safety_blocked", 1),
    "pii": ("review_queue", "pii_in_output", 1),
    "sensitive": ("review_queue", "sensitive_content", 1),
    "low_confidence": ("review_queue", "low_confidence", 1),
}


def _png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (shade, 40, 200 - shade)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def shaped_day(store):
    ids = {}
    for index, shape in enumerate(EXPECTED):
        key = f"landing/{DAY}/product_recognition/tests/{shape.replace(':', '_')}.png"
        store.write_bytes(key, _png(index * 12))
        context = "red ceramic mug" + ("" if shape == "none" else f" [[emulate:{shape}]]")
        store.write_bytes(key + ".meta.json", json.dumps({"consent": True, "context": context}).encode())
        ids[shape] = media_id_for(key)
    return ids


# The same shapes through each provider's real SDK: the product model routed to it (a refusal is
# the other providers' block; "safety_*" shapes are answered as refusals there).
PROVIDER_ROUTES = {
    "gemini": None,
    "openai": "routes:\n  - model: gpt-5.5\n    provider: openai\nmodels:\n  gpt-5.5: {provider: openai}\n",
    "anthropic": (
        "routes:\n  - model: claude-opus-4-7\n    provider: anthropic\n"
        "models:\n  claude-opus-4-7: {provider: anthropic}\n"
    ),
}
METHODS = {"gemini": "generateContent", "openai": "chat.completions", "anthropic": "messages"}


@pytest.mark.parametrize("provider", list(PROVIDER_ROUTES))
def test_each_failure_shape_lands_with_its_reason_and_at_most_one_retry(
    store, shaped_day, tmp_path, monkeypatch, provider
):
    if PROVIDER_ROUTES[provider]:
        (tmp_path / "routes.yaml").write_text(PROVIDER_ROUTES[provider])
        monkeypatch.setenv("GEMINI_ASSETS_ROUTES", str(tmp_path / "routes.yaml"))
    result = dg.materialize(ASSETS, partition_key=DAY, resources=default_resources())
    assert result.success
    outputs = read_partition(store, "model_outputs", DAY).set_index("media_id")
    assert set(outputs["provider"]) == {provider}
    records = read_partition(store, "validated_records", DAY).set_index("media_id")
    review = read_partition(store, "review_queue", DAY).set_index("media_id")
    calls = [line for line in read_served_log(tmp_path / "emulator") if line["method"] == METHODS[provider]]
    assert len(calls) == int(outputs["attempts"].sum())

    for shape, (table, expected, attempts) in EXPECTED.items():
        media_id = shaped_day[shape]
        assert outputs.loc[media_id, "attempts"] == attempts, shape
        if table == "validated_records":
            assert media_id in records.index and media_id not in review.index, shape
            assert outputs.loc[media_id, "parse_status"] == expected, shape
        else:
            assert media_id in review.index and media_id not in records.index, shape
            assert review.loc[media_id, "reason_code"] == expected, shape
            assert review.loc[media_id, "review_status"] == "pending"

    ledger = read_partition(store, "call_ledger", DAY)
    repairs = ledger[ledger["purpose"] == "repair"]
    assert set(repairs["media_id"]) == {shaped_day[s] for s, (_, _, n) in EXPECTED.items() if n == 2}
    # the repaired item proves the repair request ended on a user turn: the emulator, like
    # Gemini, answers 400 to a conversation that ends on the model's turn
    assert set(repairs["status_code"]) == {200}
    assert "jane.doe@example.com" in json.loads(review.loc[shaped_day["pii"], "candidate_json"])["description"]

    meta = result.asset_materializations_for_node("validated_records")[0].metadata
    # answered (not blocked): 12; schema-valid on the first attempt: none, pii, sensitive, low_confidence
    assert meta["answered_live"].value == 12
    assert meta["first_pass_valid_rate"].value == pytest.approx(round(4 / 12, 4))
    assert meta["repair_retries"].value == 6
    assert meta["valid_after_retry_rate"].value == pytest.approx(round(1 / 6, 4))
    assert meta["retry_token_overhead"].value > 0
    assert meta["review_rate_invalid_output"].value == pytest.approx(round(5 / len(EXPECTED), 4))
