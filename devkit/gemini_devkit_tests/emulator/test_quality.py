"""What quality measurement needs of the emulator, through the real SDKs over HTTP: sample media
whose true fields are known, honest answers that match them, and the ``degrade`` knob that makes
a chosen model or prompt version answer worse (wrong fields, over-confident)."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import replace

import openai
import pytest
from google import genai
from google.genai import types

from gemini_assets.core.output.accuracy import score_record, summarise_accuracy
from gemini_assets.core.privacy.filters import TextFilter
from gemini_assets.core.privacy.sanitize import sanitize_pdf
from gemini_assets.core.storage.objectstore import ObjectStore
from gemini_assets.core.tasks.catalog import TaskCatalog, TaskSpec
from gemini_devkit.emulator.knobs import KNOBS_ENV, KnobsError, knobs_from_env
from gemini_devkit.samples.day import Sample, seed_day
from gemini_devkit.samples.golden import golden_samples
from gemini_devkit_tests.emulator.conftest import raw_request

CATALOG = TaskCatalog()
MIME = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "pdf": "application/pdf"}
MIME |= {"mp4": "video/mp4", "mov": "video/mov", "webm": "video/webm", "wav": "audio/wav", "mp3": "audio/mp3"}
MIME |= {"ogg": "audio/ogg", "flac": "audio/flac", "aac": "audio/aac", "m4a": "audio/mp4"}
# Only product_recognition 1.1.0's instructions hold this phrase (core/tasks/catalog.py).
V1_1_PHRASE = "name the product's own colour, never the background's"


def ask(client: genai.Client, spec: TaskSpec, sample: Sample, model: str | None = None) -> dict:
    """One item as the pipeline sends it: media, instructions + context, system prompt, schema."""
    media = types.Part.from_bytes(data=sample.data, mime_type=MIME[sample.name.rsplit(".", 1)[1]])
    response = client.models.generate_content(
        model=model or spec.model,
        contents=[media, spec.user_text(sample.sidecar["context"], TextFilter())],
        config=types.GenerateContentConfig(
            system_instruction=spec.system_prompt,
            response_mime_type="application/json",
            response_json_schema=spec.response_schema,
        ),
    )
    return json.loads(response.text)


@pytest.mark.parametrize("task", ["document_extraction", "video_summary", "audio_summary"])
def test_honest_answers_match_the_sample_truth(client, task):
    spec = CATALOG.get(task)
    samples = golden_samples(task, 4)
    scores = [score_record(ask(client, spec, s), s.expected, spec.response_schema) for s in samples]
    assert [s.mean for s in scores] == [1.0] * 4
    if task == "document_extraction":  # the labelled lines of the PDF, read back by the emulator
        assert all(len(s.expected["key_fields"]) == 3 for s in samples)


def test_a_pdf_stripped_of_its_metadata_is_titled_by_its_heading(client):
    spec = CATALOG.get("document_extraction")
    for sample in golden_samples("document_extraction", 3):
        stripped = replace(sample, data=sanitize_pdf(sample.data))  # what the pipeline sends
        answer = ask(client, spec, stripped)
        assert score_record(answer, sample.expected, spec.response_schema).mean == 1.0


def test_honest_product_answers_are_mostly_correct(client):
    spec = CATALOG.get("product_recognition")
    samples = golden_samples("product_recognition", 8)
    answers = [ask(client, spec, s) for s in samples]
    summary = summarise_accuracy(
        score_record(a, s.expected, spec.response_schema) for a, s in zip(answers, samples, strict=True)
    )
    # The emulator names the image's first colour before the product ("white red ceramic mug")
    # and sees a busy background's clutter as colours: near, not equal, to what a labeller says.
    assert summary.field_accuracy["category"] == 1.0
    assert summary.accuracy is not None and summary.accuracy >= 0.75
    assert all(s.expected["dominant_colors"][-1] == "white" for s in samples)


def test_a_seeded_day_records_the_truth_of_every_valid_upload(tmp_path):
    summary = seed_day(ObjectStore(str(tmp_path)), "2026-11-20", 30, task="all")
    assert len(summary.labels) == summary.valid and set(summary.labels) <= set(summary.keys)
    by_task = {key.split("/")[2] for key in summary.labels}
    assert by_task == {"product_recognition", "document_extraction", "video_summary", "audio_summary"}
    for key, label in summary.labels.items():
        task = CATALOG.get(key.split("/")[2])
        assert set(label) <= set(task.response_schema["properties"]) - {"confidence"}


def test_degrade_by_prompt_version_is_wrong_and_over_confident_only_there(emulator, client):
    samples = golden_samples("product_recognition", 8)
    current, previous = CATALOG.get("product_recognition", "1.1.0"), CATALOG.get("product_recognition", "1.0.0")
    assert V1_1_PHRASE in current.instructions and V1_1_PHRASE not in previous.instructions
    honest = [ask(client, current, s) for s in samples]

    status, _, body = raw_request(
        f"{emulator.url}/_emulator/knobs",
        "POST",
        json.dumps({"degrade": [{"prompt_contains": V1_1_PHRASE, "wrong_rate": 0.5}], "seed": 7}).encode(),
    )
    assert status == 200 and json.loads(body)["degrade"][0]["wrong_rate"] == 0.5
    degraded = [ask(client, current, s) for s in samples]
    assert [ask(client, previous, s) for s in samples] == honest  # 1.0.0's prompt is answered as before
    assert [ask(client, current, s) for s in samples] == degraded  # the same content, the same wrong fields

    changed = [[f for f in h if f != "confidence" and h[f] != d[f]] for h, d in zip(honest, degraded, strict=True)]
    assert sum(map(len, changed)) == emulator.stats()["degraded_fields"] // 2  # asked twice
    assert 8 <= sum(map(len, changed)) <= 24  # about half of 4 fields x 8 answers
    for fields, answer in zip(changed, degraded, strict=True):
        assert answer["confidence"] == (0.95 if fields else 0.9)  # over-confident exactly when wrong
        current.output_model.model_validate(answer)  # wrong, not invalid: the pipeline records it
    scores = [score_record(a, s.expected, current.response_schema) for a, s in zip(degraded, samples, strict=True)]
    assert summarise_accuracy(scores).accuracy <= 0.25

    emulator.set_knobs(seed=8)  # another seed picks other fields
    assert [ask(client, current, s) for s in samples] != degraded


def test_degrade_everything_of_one_model_at_rate_one(emulator, client):
    spec = CATALOG.get("document_extraction")
    sample = golden_samples("document_extraction", 1)[0]
    emulator.set_knobs(degrade=[{"model": "gemini-challenger", "wrong_rate": 1.0, "confidence": 0.99}])
    honest = ask(client, spec, sample)
    wrong = ask(client, spec, sample, model="gemini-challenger")
    assert ask(client, spec, sample) == honest  # the champion model is left alone
    assert wrong["document_type"] != honest["document_type"] and wrong["title"] != honest["title"]
    assert not {json.dumps(f, sort_keys=True) for f in wrong["key_fields"]} & {
        json.dumps(f, sort_keys=True) for f in honest["key_fields"]
    }
    assert len(wrong["key_fields"]) == len(honest["key_fields"]) and wrong["confidence"] == 0.99
    assert score_record(wrong, sample.expected, spec.response_schema).mean < 0.3


def test_degrade_applies_to_other_wire_formats(emulator, monkeypatch):
    for name in [n for n in os.environ if n.startswith("OPENAI_")]:
        monkeypatch.delenv(name)  # OPENAI_BASE_URL and the like would redirect or change the call
    schema = {
        "type": "object",
        "properties": {"kind": {"type": "string", "enum": ["image", "video"]}, "confidence": {"type": "number"}},
        "required": ["kind", "confidence"],
        "additionalProperties": False,
    }
    emulator.set_knobs(degrade=[{"model": "gpt-5.5", "wrong_rate": 1.0}])
    png = next(s for s in golden_samples("product_recognition", 4) if s.name.endswith(".png"))
    url = "data:image/png;base64," + base64.b64encode(png.data).decode()
    fmt = {"type": "json_schema", "json_schema": {"name": "kind", "schema": schema, "strict": True}}
    with openai.OpenAI(api_key="x", base_url=f"{emulator.url}/v1", max_retries=0) as gpt:
        completion = gpt.chat.completions.create(
            model="gpt-5.5",
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}],
            response_format=fmt,
        )
    answer = json.loads(completion.choices[0].message.content)
    assert answer == {"kind": "video", "confidence": 0.95}  # honest: "image"


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ([{"wrong_rate": 0.5}], "names no model and no prompt_contains"),
        ([{"model": "m", "wrong_rate": 1.5}], "degrade[0].wrong_rate must be a number in 0..1"),
        ([{"model": "m", "wrong_rate": 0.5, "confidence": True}], "degrade[0].confidence"),
        ([{"model": "m", "wrong_rate": 0.5, "rate": 1}], "unknown key(s) ['rate']"),
        (["m"], "degrade[0] must be an object"),
    ],
)
def test_bad_degrade_rules_are_refused_with_the_reason(emulator, monkeypatch, rules, problem):
    status, _, body = raw_request(f"{emulator.url}/_emulator/knobs", "POST", json.dumps({"degrade": rules}).encode())
    assert status == 400 and problem in json.loads(body)["error"]["message"]
    assert emulator.knobs.degrade == []  # a refused change leaves the knobs as they were
    monkeypatch.setenv(KNOBS_ENV, json.dumps({"degrade": rules}))
    with pytest.raises(KnobsError, match=KNOBS_ENV):
        knobs_from_env()


def test_degrade_from_the_environment(monkeypatch):
    rule = {"prompt_contains": V1_1_PHRASE, "wrong_rate": 0.25}
    monkeypatch.setenv(KNOBS_ENV, json.dumps({"degrade": [rule]}))
    assert knobs_from_env().degrade == [rule]
