"""What every command shares: the date type, the storage, exit codes and one error handler."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from gemini_assets.core.config import Settings, load_settings
from gemini_assets.core.contracts.errors import (
    ConfigurationError,
    DecisionError,
    GeminiAssetsError,
    UnknownTask,
)
from gemini_assets.core.storage.objectstore import ObjectStore

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and found a problem (a failed run, an audit chain that does not verify)
EXIT_USAGE = 2  # a bad option or argument (click's own code)
EXIT_CONFIG = 3  # a missing or invalid setting: the message names the variable or file
EXIT_REFUSED = 4  # the thing asked for does not exist or the request is not allowed (unknown item, bad record)

EXIT_CODES_HELP = (
    "\b\nExit codes:\n"
    f"  {EXIT_OK}  success\n"
    f"  {EXIT_FAILED}  the command ran and found a problem (failed run, audit chain broken)\n"
    f"  {EXIT_USAGE}  bad option or argument\n"
    f"  {EXIT_CONFIG}  missing or invalid configuration (the message says what to set)\n"
    f"  {EXIT_REFUSED}  not found or not allowed (unknown item or version, invalid record)"
)


class Failed(click.ClickException):
    """The command ran and found a problem (one line on stderr)."""

    exit_code = EXIT_FAILED


class BadUsage(click.ClickException):
    exit_code = EXIT_USAGE


class BadConfiguration(click.ClickException):
    exit_code = EXIT_CONFIG


class Refused(click.ClickException):
    exit_code = EXIT_REFUSED


class Commands(click.Group):
    """A command group whose commands all fail the same way: one line on stderr, a documented code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigurationError as exc:
            raise BadConfiguration(str(exc)) from None
        except (DecisionError, UnknownTask, FileNotFoundError) as exc:
            raise Refused(str(exc)) from None
        except GeminiAssetsError as exc:
            raise Failed(str(exc)) from None


class DayType(click.ParamType):
    """A partition day, YYYY-MM-DD."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if isinstance(value, date):
            return value.isoformat()
        try:
            return datetime.strptime(str(value), "%Y-%m-%d").date().isoformat()
        except ValueError:
            self.fail(f"{value!r} is not a date like 2026-11-24", param, ctx)


DAY = DayType()


def range_and_chart(chart_prefix: str) -> Callable[[Any], Any]:
    """``--from D --to D [--chart PNG]``: the options of every report over a range of days."""

    def decorate(command: Any) -> Any:
        command = click.option(
            "--chart",
            default=None,
            type=click.Path(dir_okay=False),
            help=f"PNG path (default: {chart_prefix}_<from>_<to>.png).",
        )(command)
        command = click.option("--to", "end", type=DAY, required=True, help="Last partition day (inclusive).")(command)
        return click.option("--from", "start", type=DAY, required=True, help="First partition day.")(command)

    return decorate


def save_png(fig: Any, path: Path) -> None:
    """Lay out and write a matplotlib figure as PNG (the caller closes it)."""
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=100)


def yesterday() -> str:
    return (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


def storage_option(command: Any) -> Any:
    """``--storage ROOT`` on the main command: another storage root for this command only."""
    return click.option(
        "--storage",
        "storage_root",
        default=None,
        metavar="ROOT",
        help="Storage root for this command: a folder or s3://bucket/prefix (default: $GEMINI_ASSETS_STORAGE or data).",
    )(command)


def settings() -> Settings:
    """The configuration, read once per command; ``--storage`` wins over the environment."""
    context = click.get_current_context(silent=True)
    root = context.find_root().params.get("storage_root") if context is not None else None
    return load_settings(storage=root) if root else load_settings()


def store(config: Settings | None = None) -> ObjectStore:
    return ObjectStore.from_settings(config or settings())
