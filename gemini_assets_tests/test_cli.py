import re
import socket
import subprocess
import sys

from click.testing import CliRunner
from google import genai
from google.genai import types

from gemini_assets.cli import main


def test_seed_writes_uploads_with_sidecars(store):
    result = CliRunner().invoke(main, ["seed", "--date", "2026-11-21", "--count", "12", "--task", "product_recognition"])
    assert result.exit_code == 0, result.output
    files = [o.key for o in store.walk_files("landing/2026-11-21/product_recognition")]
    uploads = [k for k in files if not k.endswith(".meta.json")]
    assert len(uploads) == 12
    assert sum(k.endswith(".meta.json") for k in files) >= 10


def test_bad_date_is_a_clear_error():
    result = CliRunner().invoke(main, ["seed", "--date", "yesterday-ish"])
    assert result.exit_code == 2 and "is not a date like" in result.output


def test_demo_runs_a_day_and_prints_a_summary():
    result = CliRunner().invoke(main, ["demo", "--date", "2026-11-22", "--count", "20"])
    assert result.exit_code == 0, result.output
    assert "validated_records" in result.output and "cost gemini-3.8-flash" in result.output
    for task in ("product_recognition", "document_extraction", "video_summary", "audio_summary"):
        assert re.search(rf"  {task}: [1-9]\d* records, e.g. {{", result.output), task
    assert "read_parquet(" in result.output


def test_emulator_command_serves_the_sdk(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gemini_assets.cli", "emulator", "--port", str(port), "--state-dir", str(tmp_path / "emu")],
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
