"""The executor every job of the location runs its steps with, chosen by the environment.

One code location serves every deployment: a single host keeps Dagster's default executor, a
deployment with Celery workers sets GEMINI_ASSETS_EXECUTOR=celery (docs/deploy.md, Recipe B).
"""

from __future__ import annotations

import dagster as dg

from gemini_assets.core.config import Executor, ExecutorSettings
from gemini_assets.core.contracts.errors import ConfigurationError


def pipeline_executor(settings: ExecutorSettings) -> dg.ExecutorDefinition | None:
    """None keeps Dagster's default (multiprocess, or in_process through run config)."""
    if settings.executor is not Executor.CELERY:
        return None
    # Imported only here: celery and kombu stay out of every process of a one-host deployment.
    try:
        from dagster_celery import celery_executor
    except ImportError:
        raise ConfigurationError(
            "GEMINI_ASSETS_EXECUTOR=celery needs dagster-celery: pip install -e '.[deploy]'"
        ) from None
    broker, backend = settings.celery_urls()
    return celery_executor.configured({"broker": broker, "backend": backend}, name="celery")
