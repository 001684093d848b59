"""The executor is chosen by the environment: Dagster's default unless a deployment asks for Celery."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gemini_assets.core.config import load_executor_settings
from gemini_assets.core.contracts.errors import ConfigurationError
from gemini_assets.defs.executors import pipeline_executor

LOADED = """
import json, sys
from gemini_assets.definitions import defs
print(json.dumps({
    "executor": defs.resolve_job_def("daily_pipeline").executor_def.name,
    "celery": sorted(m for m in sys.modules if m.split(".")[0] in ("celery", "kombu", "dagster_celery")),
}))
"""


def _load_definitions() -> dict:
    run = subprocess.run([sys.executable, "-c", LOADED], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.splitlines()[-1])


def test_by_default_the_jobs_keep_dagsters_executor_and_celery_is_never_imported():
    loaded = _load_definitions()
    assert loaded == {"executor": "multi_or_in_process_executor", "celery": []}


def test_celery_is_chosen_by_the_environment(monkeypatch):
    monkeypatch.setenv("GEMINI_ASSETS_EXECUTOR", "celery")
    monkeypatch.setenv("GEMINI_ASSETS_CELERY_BROKER", "redis://:s3cret-broker@127.0.0.1:6379/1")
    monkeypatch.setenv("GEMINI_ASSETS_CELERY_BACKEND", "redis://:s3cret-broker@127.0.0.1:6379/2")
    settings = load_executor_settings()
    assert "s3cret" not in repr(settings)  # a broker password never reaches a log through it
    assert pipeline_executor(settings).name == "celery"
    assert _load_definitions()["executor"] == "celery"


def test_celery_without_its_urls_fails_at_load_naming_each_variable(monkeypatch):
    monkeypatch.setenv("GEMINI_ASSETS_EXECUTOR", "celery")
    with pytest.raises(ConfigurationError) as missing_both:
        load_executor_settings()
    assert "GEMINI_ASSETS_CELERY_BROKER" in str(missing_both.value)
    assert "GEMINI_ASSETS_CELERY_BACKEND" in str(missing_both.value)
    monkeypatch.setenv("GEMINI_ASSETS_CELERY_BROKER", "redis://127.0.0.1:6379/1")
    with pytest.raises(ConfigurationError, match="needs GEMINI_ASSETS_CELERY_BACKEND") as missing_backend:
        load_executor_settings()
    assert "GEMINI_ASSETS_CELERY_BROKER" not in str(missing_backend.value)


def test_an_unknown_executor_is_refused_with_the_choices(monkeypatch):
    monkeypatch.setenv("GEMINI_ASSETS_EXECUTOR", "k8s")
    with pytest.raises(ConfigurationError, match=r"GEMINI_ASSETS_EXECUTOR must be multiprocess or celery, not 'k8s'"):
        load_executor_settings()
