"""The emulator's Batch API through the real SDK: create (inline and JSONL), states, results, books."""

from __future__ import annotations

import io
import json
import time

import pytest
from google.genai import errors, types

from gemini_devkit.emulator import start_emulator
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.samples.media import make_png

from .conftest import make_client

MODEL = "gemini-3.8-flash"
SCHEMA = {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}


def inline(key: str, text: str = "Describe the image.") -> types.InlinedRequest:
    parts = [types.Part.from_bytes(data=make_png(), mime_type="image/png"), types.Part.from_text(text=text)]
    return types.InlinedRequest(
        contents=[types.Content(role="user", parts=parts)],
        config=types.GenerateContentConfig(
            system_instruction="Be terse.",
            response_mime_type="application/json",
            response_json_schema=SCHEMA,
            max_output_tokens=256,
        ),
        metadata={"key": key},
    )


def jsonl_file(client, keys: list[str]) -> str:
    lines = "".join(
        json.dumps({"key": k, "request": {"contents": [{"role": "user", "parts": [{"text": f"hello {k}"}]}]}}) + "\n"
        for k in keys
    )
    uploaded = client.files.upload(
        file=io.BytesIO(lines.encode()), config=types.UploadFileConfig(mime_type="application/jsonl")
    )
    return uploaded.name


def wait_done(client, name: str, limit_s: float = 5.0) -> types.BatchJob:
    deadline = time.monotonic() + limit_s
    while True:
        job = client.batches.get(name=name)
        if job.state.value in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_EXPIRED", "JOB_STATE_CANCELLED"):
            return job
        assert time.monotonic() < deadline, f"batch still {job.state}"
        time.sleep(0.05)


def test_inline_batch_goes_pending_running_succeeded_with_keyed_schema_answers(emulator, client):
    emulator.set_knobs(batch_pending_s=0.2, batch_delay_s=0.5)
    job = client.batches.create(model=MODEL, src=[inline("a"), inline("b")], config={"display_name": "day 1"})
    assert job.name.startswith("batches/") and job.state.value == "JOB_STATE_PENDING" and job.display_name == "day 1"
    assert job.dest is None  # no output before it is done
    time.sleep(0.25)
    assert client.batches.get(name=job.name).state.value == "JOB_STATE_RUNNING"
    done = wait_done(client, job.name)
    assert done.state.value == "JOB_STATE_SUCCEEDED" and done.end_time is not None
    answers = done.dest.inlined_responses
    assert [a.metadata["key"] for a in answers] == ["a", "b"]
    assert all(json.loads(a.response.text)["label"] for a in answers)  # schema-conforming, derived from the media
    assert answers[0].response.usage_metadata.prompt_token_count > 258  # the image was measured


def test_each_line_is_in_the_served_log_once_marked_batch_even_across_processes(emulator, client, tmp_path):
    emulator.set_knobs(batch_delay_s=0.2)
    job = client.batches.create(model=MODEL, src=[inline("a"), inline("b"), inline("c")])
    second = start_emulator(tmp_path / "state")  # another server on the same state directory
    try:
        with make_client(second.url) as other:
            time.sleep(0.25)
            # Both servers see the batch done; its lines are answered exactly once.
            results = [wait_done(c, job.name) for c in (client, other, client)]
    finally:
        second.stop()
    lines = [r for r in read_served_log(tmp_path / "state") if r["method"] == "batchGenerateContent"]
    assert sorted(r["key"] for r in lines) == ["a", "b", "c"]
    assert {r["service_tier"] for r in lines} == {"batch"} and {r["batch"] for r in lines} == {job.name}
    ids = {a.metadata["key"]: a.response.response_id for a in results[1].dest.inlined_responses}
    assert ids == {r["key"]: r["response_id"] for r in lines}
    assert all(r["usage"]["promptTokenCount"] > 0 for r in lines)


def test_jsonl_input_gives_a_downloadable_jsonl_result_file(emulator, client):
    emulator.set_knobs(batch_delay_s=0.1)
    job = client.batches.create(model=MODEL, src=jsonl_file(client, ["k1", "k2"]))
    done = wait_done(client, job.name)
    assert done.dest.file_name.startswith("files/")
    remote = client.files.get(name=done.dest.file_name)
    assert remote.source.value == "GENERATED" and remote.download_uri
    rows = [json.loads(line) for line in client.files.download(file=done.dest.file_name).decode().splitlines()]
    assert [r["key"] for r in rows] == ["k1", "k2"]
    assert all(r["response"]["candidates"][0]["finishReason"] == "STOP" for r in rows)


def test_line_errors_by_key_and_answer_shape_directives(emulator, client):
    emulator.set_knobs(batch_delay_s=0.1, batch_line_error_keys=["bad"], batch_line_error_code=503)
    src = [inline("good"), inline("bad"), inline("shaped", "Context: [[emulate:not_json]]")]
    answers = {
        a.metadata["key"]: a
        for a in wait_done(client, client.batches.create(model=MODEL, src=src).name).dest.inlined_responses
    }
    assert answers["bad"].response is None and answers["bad"].error.code == 503
    assert json.loads(answers["good"].response.text)
    assert answers["shaped"].response.text.startswith("Sure!")  # the directive shaped this line


def test_outcome_knob_failed_or_expired_and_no_results(emulator, client):
    emulator.set_knobs(batch_delay_s=0.05, batch_outcome="EXPIRED")
    done = wait_done(client, client.batches.create(model=MODEL, src=[inline("a")]).name)
    assert done.state.value == "JOB_STATE_EXPIRED" and done.dest is None
    emulator.set_knobs(batch_outcome="FAILED")
    failed = wait_done(client, client.batches.create(model=MODEL, src=[inline("b")]).name)
    assert failed.state.value == "JOB_STATE_FAILED" and failed.dest is None
    assert not [r for r in read_served_log(emulator.state_dir) if r["method"] == "batchGenerateContent"]


def test_list_cancel_delete(emulator, client):
    emulator.set_knobs(batch_delay_s=60)
    first = client.batches.create(model=MODEL, src=[inline("a")], config={"display_name": "one"})
    second = client.batches.create(model=MODEL, src=[inline("b")], config={"display_name": "two"})
    assert {j.display_name for j in client.batches.list()} == {"one", "two"}
    client.batches.cancel(name=first.name)
    assert client.batches.get(name=first.name).state.value == "JOB_STATE_CANCELLED"
    client.batches.delete(name=second.name)
    with pytest.raises(errors.ClientError) as missing:
        client.batches.get(name=second.name)
    assert missing.value.code == 404
    assert [j.name for j in client.batches.list()] == [first.name]
    lines = [r for r in read_served_log(emulator.state_dir) if r["method"] == "batchGenerateContent"]
    assert lines == []  # nothing answered, nothing billed


def test_bad_batch_knobs_are_refused(emulator):
    with pytest.raises(ValueError, match="batch_outcome"):
        emulator.set_knobs(batch_outcome="MAYBE")
    with pytest.raises(ValueError, match="batch_line_error_code"):
        emulator.set_knobs(batch_line_error_code=418)


def test_uploaded_files_cannot_be_downloaded(emulator, client):
    name = jsonl_file(client, ["x"])
    with pytest.raises(errors.ClientError) as refused:
        client.files.download(file=name)
    assert refused.value.code == 400
