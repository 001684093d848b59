"""Emulator knobs through the real SDK: latency, quotas with real-shaped 429s, 5xx, slow answers, file states."""

from __future__ import annotations

import io
import json
import time

import httpx2
import pytest
from google import genai
from google.genai import errors, types

from gemini_devkit.emulator import start_emulator
from gemini_devkit.emulator.knobs import KNOBS_ENV, KnobsError, knobs_from_env
from gemini_devkit.emulator.server import main as server_main
from gemini_devkit.emulator.state import read_served_log
from gemini_devkit.samples.media import make_png
from gemini_devkit_tests.emulator.conftest import make_client, raw_request

MODEL = "gemini-3.8-flash"


def ask(client: genai.Client, text: str = "hello") -> types.GenerateContentResponse:
    return client.models.generate_content(model=MODEL, contents=text)


def test_latency_with_jitter_delays_answers(emulator, client):
    emulator.set_knobs(latency_s=0.2, latency_jitter_s=0.1, seed=1)
    durations = []
    for _ in range(3):
        started = time.perf_counter()
        ask(client)
        durations.append(time.perf_counter() - started)
    assert all(0.2 <= d < 0.6 for d in durations), durations
    assert len({round(d, 3) for d in durations}) > 1  # jitter varies


def test_rpm_quota_answers_a_real_shaped_429(emulator, client):
    emulator.set_knobs(rpm=2, minute_s=2.0)
    ask(client), ask(client)
    with pytest.raises(errors.ClientError) as caught:
        ask(client)
    error = caught.value
    assert error.code == 429 and error.status == "RESOURCE_EXHAUSTED"
    details = {d["@type"].rsplit(".", 1)[-1]: d for d in error.details["error"]["details"]}
    assert details["QuotaFailure"]["violations"][0]["quotaId"] == "GenerateRequestsPerMinutePerProjectPerModel"
    assert details["QuotaFailure"]["violations"][0]["quotaValue"] == "2"
    delay = float(details["RetryInfo"]["retryDelay"].rstrip("s"))
    assert 0 < delay <= 2.0
    assert error.response.headers["retry-after"] == "2"
    time.sleep(delay + 0.05)
    assert ask(client).text  # the window moved on
    statuses = [r["status"] for r in read_served_log(emulator.state_dir)]
    assert statuses == [200, 200, 429, 200]


def test_tpm_and_rpd_quotas(emulator, client):
    emulator.set_knobs(tpm=5)  # one text call is a few tokens; a long one exceeds the window
    ask(client, "hi")
    with pytest.raises(errors.ClientError) as caught:
        ask(client, "a much longer prompt " * 20)
    assert "InputTokensPerModelPerMinute" in json.dumps(caught.value.details)
    emulator.set_knobs(tpm=None, rpd=1)
    ask(client)
    with pytest.raises(errors.ClientError) as caught:
        ask(client)
    assert "PerDay" in json.dumps(caught.value.details)


@pytest.mark.parametrize("code,status", [(500, "INTERNAL"), (503, "UNAVAILABLE"), (504, "DEADLINE_EXCEEDED")])
def test_scripted_server_errors_then_recovery(emulator, client, code, status):
    emulator.set_knobs(script=[code])
    with pytest.raises(errors.ServerError) as caught:
        ask(client)
    assert caught.value.code == code and caught.value.status == status
    assert ask(client).text


def test_error_rate_is_seeded_and_uses_listed_codes(emulator, client):
    emulator.set_knobs(error_rate=0.5, error_codes=[503], seed=7)
    outcomes = []
    for _ in range(12):
        try:
            ask(client)
            outcomes.append(200)
        except errors.ServerError as exc:
            outcomes.append(exc.code)
    assert set(outcomes) == {200, 503}


def test_slow_answer_beyond_the_client_timeout(emulator):
    emulator.set_knobs(script=["slow"], slow_s=1.5)
    client = genai.Client(
        api_key="k", http_options=types.HttpOptions(base_url=emulator.url, api_version="v1beta", timeout=400)
    )
    started = time.perf_counter()
    with pytest.raises(httpx2.TimeoutException):
        ask(client)
    assert time.perf_counter() - started < 1.2
    assert ask(client).text


@pytest.mark.parametrize("outcome", ["ACTIVE", "FAILED"])
def test_files_stay_processing_then_settle(emulator, client, outcome):
    emulator.set_knobs(processing_s=0.4, processing_outcome=outcome)
    uploaded = client.files.upload(file=io.BytesIO(make_png()), config={"mime_type": "image/png"})
    assert uploaded.state == types.FileState.PROCESSING
    with pytest.raises(errors.ClientError) as caught:  # not usable while processing
        client.models.generate_content(model=MODEL, contents=[uploaded, "what is it?"])
    assert caught.value.status == "FAILED_PRECONDITION"
    time.sleep(0.5)
    settled = client.files.get(name=uploaded.name)
    assert settled.state == types.FileState[outcome]
    assert (settled.error is not None) == (outcome == "FAILED")


def test_expired_files_are_denied(emulator, client):
    emulator.set_knobs(file_ttl_s=0.3)
    uploaded = client.files.upload(file=io.BytesIO(make_png()), config={"mime_type": "image/png"})
    assert client.files.get(name=uploaded.name).state == types.FileState.ACTIVE
    time.sleep(0.4)
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model=MODEL, contents=[uploaded, "what is it?"])
    assert caught.value.code == 403


def test_admin_endpoint_sets_knobs_and_rejects_typos(emulator, client):
    status, _, body = raw_request(f"{emulator.url}/_emulator/knobs", "POST", json.dumps({"rpm": 1}).encode())
    assert status == 200 and json.loads(body)["rpm"] == 1
    ask(client)
    with pytest.raises(errors.ClientError):
        ask(client)
    status, _, body = raw_request(f"{emulator.url}/_emulator/knobs", "POST", json.dumps({"rmp": 1}).encode())
    assert status == 400 and b"rmp" in body
    status, _, body = raw_request(f"{emulator.url}/_emulator/stats")
    stats = json.loads(body)
    assert stats["requests_generateContent"] == 2 and stats["status_429"] == 1 and stats["bytes_in_generateContent"] > 0


def test_knobs_from_environment_json_or_file(tmp_path, monkeypatch):
    path = tmp_path / "knobs.json"
    path.write_text(json.dumps({"rpm": 3, "latency_s": 0.01}))
    monkeypatch.setenv("GEMINI_EMULATOR_KNOBS", str(path))
    handle = start_emulator(tmp_path / "a")
    try:
        assert handle.knobs.rpm == 3 and handle.knobs.latency_s == 0.01
    finally:
        handle.stop()
    monkeypatch.setenv("GEMINI_EMULATOR_KNOBS", '{"bogus": 1}')
    with pytest.raises(ValueError, match="bogus"):
        start_emulator(tmp_path / "b")


@pytest.mark.parametrize(
    "value, problem",
    [
        ('{"rpm": 5,', "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 11"),
        ("[1, 2]", "expected a JSON object of knob names and values, not a JSON list"),
        ("/no/such/knobs.json", "neither a JSON object nor a readable JSON file (No such file or directory"),
        ('{"rpm": "many"}', "knob rpm must be int | None, not str 'many'"),
        ('{"latency_s": true}', "knob latency_s must be float, not bool True"),
        ('{"rmp": 5}', "unknown emulator knob(s): rmp"),
    ],
)
def test_malformed_knobs_in_the_environment_name_the_variable_and_the_problem(monkeypatch, value, problem):
    """Guards: a malformed GEMINI_EMULATOR_KNOBS raised a bare JSONDecodeError that named neither."""
    monkeypatch.setenv(KNOBS_ENV, value)
    with pytest.raises(KnobsError) as caught:
        knobs_from_env()
    assert str(caught.value).startswith(f"{KNOBS_ENV}: {problem}")


def test_the_emulator_command_refuses_malformed_knobs_as_a_usage_error(tmp_path, monkeypatch, capsys):
    """Guards: `python -m gemini_devkit.emulator` dying with a traceback on a malformed variable."""
    monkeypatch.setenv(KNOBS_ENV, "{not json")
    with pytest.raises(SystemExit) as exited:
        server_main(["--port", "0", "--state-dir", str(tmp_path / "state")])
    assert exited.value.code == 2
    assert f"{KNOBS_ENV}: not valid JSON" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        server_main(["--port", "0", "--state-dir", str(tmp_path / "state"), "--knobs", '{"slow_s": "1"}'])
    assert exited.value.code == 2
    assert "--knobs: knob slow_s must be float, not str '1'" in capsys.readouterr().err


def test_two_clients_share_one_instance_quota(emulator):
    emulator.set_knobs(rpm=3, minute_s=5)
    first, second = make_client(emulator.url), make_client(emulator.url)
    ask(first), ask(second), ask(first)
    with pytest.raises(errors.ClientError):
        ask(second)
