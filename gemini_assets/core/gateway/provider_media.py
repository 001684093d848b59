"""What the other providers' APIs take inline: facts shared by routing (load-time checks) and the wires."""

from __future__ import annotations

# OpenAI Chat Completions' input_audio formats (wav | mp3) by the MIME types intake sniffs.
AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/mpeg": "mp3", "audio/mp3": "mp3"}
# What each other provider's API can take inline at all; a model declares its subset in routes.yaml.
PROVIDER_MEDIA = {"openai": frozenset({"image", "document", "audio"}), "anthropic": frozenset({"image", "document"})}
