import re
import socket
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from google import genai
from google.genai import types

from gemini_assets.cli import main
from gemini_assets.cli.common import DayType


def test_seed_writes_uploads_with_sidecars(store):
    result = CliRunner().invoke(
        main, ["seed", "--date", "2026-11-21", "--count", "12", "--task", "product_recognition"]
    )
    assert result.exit_code == 0, result.output
    files = [o.key for o in store.walk_files("landing/2026-11-21/product_recognition")]
    uploads = [k for k in files if not k.endswith(".meta.json")]
    assert len(uploads) == 12
    assert sum(k.endswith(".meta.json") for k in files) >= 10


def test_bad_date_is_a_clear_error():
    result = CliRunner().invoke(main, ["seed", "--date", "yesterday-ish"])
    assert result.exit_code == 2 and "is not a date like" in result.output


def test_a_path_given_as_a_date_is_a_usage_error_not_a_traceback():
    """Guards: `review edit --date ../../x` printing a traceback (a date reaches storage keys)."""
    result = CliRunner().invoke(main, ["review", "edit", "abc", "--date", "../../x", "--set", "a=1"])
    assert result.exit_code == 2 and "'../../x' is not a date like" in result.output
    assert "Traceback" not in result.output


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_date_option_is_a_checked_day():
    """Guards: a date option added as free text, which would let a path into partition keys."""
    dates = {
        f"{' '.join(path)} {option.opts[0]}": option.type
        for path, command in _commands(main)
        for option in command.params
        if set(option.opts) & {"--date", "--from", "--to"}
    }
    assert len(dates) >= 10, dates
    assert [name for name, kind in dates.items() if not isinstance(kind, DayType)] == []


def test_a_malformed_emulator_knobs_variable_is_named_not_a_bare_json_error(monkeypatch):
    """Guards: a malformed GEMINI_EMULATOR_KNOBS raising a bare JSONDecodeError out of the demo
    and the emulator command."""
    monkeypatch.setenv("GEMINI_EMULATOR_KNOBS", '{"rpm": 5,')
    result = CliRunner().invoke(main, ["demo", "--no-seed", "--date", "2026-11-22"])
    assert result.exit_code == 3 and "GEMINI_EMULATOR_KNOBS: not valid JSON" in result.output
    result = CliRunner().invoke(main, ["emulator", "--port", "0"])
    assert result.exit_code == 2 and "GEMINI_EMULATOR_KNOBS: not valid JSON" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_demo_runs_a_day_and_prints_a_line_per_table_then_a_summary(monkeypatch, tmp_path):
    monkeypatch.delenv("GEMINI_ASSETS_BACKEND")  # the demo chooses the emulator itself
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(main, ["demo", "--date", "2026-11-22", "--count", "20", "--canary"])
    assert result.exit_code == 0, result.output
    out = result.output
    for table in ("raw_media", "validated_media", "model_outputs", "validated_records", "call_ledger", "daily_costs"):
        assert re.search(rf"✓ {table} +\d+ rows", out), table
    assert "DEBUG" not in out and "STEP_OUTPUT" not in out  # Dagster's own log goes to a file
    log_file = re.search(r"Dagster's log: (\S+)", out).group(1)
    assert log_file.startswith(str(tmp_path / "dagster_home")) and "STEP_SUCCESS" in Path(log_file).read_text()
    assert "cost gemini-3.8-flash (emulator)" in out and "cost of the day: $" in out
    for task in ("product_recognition", "document_extraction", "video_summary", "audio_summary"):
        assert re.search(rf"  {task}: [1-9]\d* records, e.g. {{", out), task
    assert "read_parquet(" in out and "Next:" in out
    # --canary: product_recognition 1.1.0 on a fifth of the photos, judged by the gate
    assert re.search(r"canary product_recognition version 1\.1\.0 on 20%: (promoted|rolled_back) \(golden", out), out
    assert re.search(r"quality product_recognition 1\.0\.0 / .*golden accuracy [\d.]+ on 20", out)


def test_help_documents_the_exit_codes():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "Exit codes:" in result.output
    for code in ("0", "1", "2", "3", "4"):
        assert re.search(rf"^\s+{code}  \w", result.output, re.MULTILINE), code


def test_every_command_fails_the_same_way(monkeypatch):
    unknown = ["review", "reject", "nope", "--reviewer", "ana"]
    result = CliRunner().invoke(main, unknown)
    assert result.exit_code == 4 and "no review item 'nope'" in result.output
    assert CliRunner().invoke(main, ["review", "approve", "nope"]).exit_code == 4
    result = CliRunner().invoke(main, ["tables", "restore", "daily_costs", "--date", "2026-11-01"])
    assert result.exit_code == 4 and "has no earlier version" in result.output
    monkeypatch.setenv("GEMINI_ASSETS_BACKEND", "gemnii")
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 3 and "GEMINI_ASSETS_BACKEND" in result.output and "Traceback" not in result.output


def test_emulator_command_serves_the_sdk(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gemini_assets.cli",
            "emulator",
            "--port",
            str(port),
            "--state-dir",
            str(tmp_path / "emu"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "listening on http://127.0.0.1:" in server.stdout.readline()
        client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=f"http://127.0.0.1:{port}"))
        count = client.models.count_tokens(model="gemini-3.8-flash", contents="hello world, how are you")
        assert count.total_tokens == 6
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_demo_shows_upload_progress_lines_and_nothing_else_from_the_log(capsys):
    import logging

    from gemini_assets.cli.demo_run import StageLines
    from gemini_assets.core.contracts.calls import UploadProgress

    lines = StageLines()
    progress = UploadProgress("clip-7", 96 * 1024 * 1024, 300 * 1024 * 1024, 12.0, resumes=1)
    for message in (progress.describe(), "validated_media: 7 accepted, 1 quarantined"):
        record = logging.LogRecord("dagster", logging.INFO, __file__, 1, message, None, None)
        record.dagster_meta = {"orig_message": message}  # as Dagster's log manager hands it over
        lines.emit(record)
    shown = capsys.readouterr().out.splitlines()
    assert len(shown) == 1
    assert "upload progress clip-7: 96.0 of 300.0 MiB (32%), 8.0 MiB/s, about 26 s left, resumed 1x" in shown[0]
