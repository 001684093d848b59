"""The shape the code must keep: one configuration module, thin assets, a core without Dagster."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "gemini_assets"
SETTINGS = PACKAGE / "core" / "config" / "settings.py"
MAX_ASSET_LINES = 40
ENVIRONMENT = re.compile(r"\bos\.environ\b|\bos\.getenv\b|\bgetenv\(|\benviron\[|from os import [^\n]*\benviron\b")


def python_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_only_the_configuration_module_touches_the_environment():
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}"
        for path in python_files()
        if path != SETTINGS
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if ENVIRONMENT.search(line)
    ]
    assert offenders == [], "read settings through gemini_assets.core.config, not os.environ"
    assert ENVIRONMENT.search(SETTINGS.read_text())  # the one place that does (so the pattern can match)


def _decorator_names(node: ast.FunctionDef) -> set[str]:
    names = set()
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        names.add(target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", ""))
    return names


def test_asset_functions_stay_thin():
    assets, too_long = 0, []
    for path in sorted((PACKAGE / "defs").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and _decorator_names(node) & {"asset", "multi_asset"}:
                assets += 1
                lines = node.end_lineno - node.lineno + 1  # the def line through the last body line
                if lines > MAX_ASSET_LINES:
                    too_long.append(f"{path.name}:{node.name} has {lines} lines")
    assert assets == 14  # every asset function was found (two of them are multi-assets)
    assert too_long == [], f"move logic into core/stages: {too_long}"


def test_importing_the_core_loads_no_dagster_cli_plotting_or_devkit():
    modules = [f"gemini_assets.core.stages.{s}" for s in ("intake", "deliver", "answer", "answer_batch", "validate")]
    modules += [
        "gemini_assets.core.stages.account",
        "gemini_assets.core.review.workflow",
        "gemini_assets.core.costs.report",
    ]
    script = f"import json, sys\nimport {', '.join(modules)}\nprint(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = json.loads(run.stdout)
    roots = {name.split(".")[0] for name in loaded}
    assert not roots & {"dagster", "click", "matplotlib", "tabulate", "gemini_devkit"}
    assert not [name for name in loaded if name.startswith(("gemini_assets.defs", "gemini_assets.cli"))]


def test_every_exception_of_the_project_is_in_one_tree():
    import importlib
    import inspect

    from gemini_assets.core.contracts.errors import GeminiAssetsError

    strays = []
    for path in python_files():
        module_name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        if module_name.endswith("__main__"):
            continue
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            own = inspect.isclass(value) and value.__module__ == module_name
            if own and issubclass(value, BaseException) and not issubclass(value, GeminiAssetsError):
                strays.append(f"{module_name}.{name}")
    # click's exceptions carry the CLI's exit codes; everything else derives from GeminiAssetsError
    assert [s for s in strays if not s.startswith("gemini_assets.cli.")] == []
