"""Local HTTP emulator of the Gemini Developer API for tests and offline demos.

It also speaks OpenAI Chat Completions and Anthropic Messages (openai_api.py, anthropic_api.py)
on the same answer engine, token accounting, knobs and served log.

A separate program (not in the gemini_assets wheel): it must never import the pipeline
(gemini_assets.core) or dagster, only the standard library and Pillow.
"""

from .server import EmulatorHandle, main, start_emulator
from .state import read_served_log

__all__ = ["EmulatorHandle", "main", "read_served_log", "start_emulator"]
