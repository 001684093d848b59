"""The development kit (emulator, sample media) that the demo, seeding and the emulator command use.

It is a separate distribution (devkit/), not part of the production wheel; ./run installs it.
"""

from __future__ import annotations

from types import ModuleType

from gemini_assets.cli.common import BadConfiguration

MISSING = (
    "this command needs the gemini_assets devkit (the emulator and sample media), which production "
    "installs do not carry: `pip install -e ./devkit` from the repository (./run installs it)"
)


def require(module: str) -> ModuleType:
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("gemini_devkit"):
            raise BadConfiguration(MISSING) from None
        raise
