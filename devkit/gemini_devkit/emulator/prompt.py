"""Turn a generateContent/countTokens body into texts and measured media items."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, invalid
from .files_api import get_live_file
from .media import MediaItem, attach_facts
from .protocol import pick
from .state import StateStore

_FILE_ID_RE = re.compile(r"[a-z0-9]+")


@dataclass
class Prompt:
    texts: list[str] = field(default_factory=list)  # user/model content text parts, in order
    system_texts: list[str] = field(default_factory=list)
    media: list[MediaItem] = field(default_factory=list)

    @property
    def context_lines(self) -> list[str]:
        """Lines starting with `Context:`, where the pipeline puts per-item hints."""
        lines = []
        for text in self.texts:
            for line in text.splitlines():
                if line.strip().lower().startswith("context:"):
                    lines.append(line.strip()[len("context:") :].strip())
        return lines

    @property
    def first_image(self):
        return next((m.image for m in self.media if m.image is not None), None)

    @property
    def first_document(self):
        return next((m.document for m in self.media if m.document is not None), None)


def parse_prompt(store: StateStore, body: dict[str, Any]) -> Prompt:
    contents = pick(body, "contents")
    if not isinstance(contents, list) or not contents:
        raise invalid("* GenerateContentRequest.contents: contents is not specified")
    prompt = Prompt()
    for content in contents:
        if not isinstance(content, dict):
            raise invalid("Each entry of contents must be an object.")
        for part in pick(content, "parts", default=[]) or []:
            _add_part(store, prompt, part)
    system = pick(body, "systemInstruction", "system_instruction")
    if isinstance(system, dict):
        for part in pick(system, "parts", default=[]) or []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                prompt.system_texts.append(part["text"])
    return prompt


def _add_part(store: StateStore, prompt: Prompt, part: Any) -> None:
    if not isinstance(part, dict):
        raise invalid("Each part must be an object.")
    if isinstance(part.get("text"), str):
        if not part.get("thought"):
            prompt.texts.append(part["text"])
        return
    inline = pick(part, "inlineData", "inline_data")
    file_data = pick(part, "fileData", "file_data")
    if inline is not None:
        item = _inline_item(inline)
    elif file_data is not None:
        item = _file_item(store, file_data)
    else:
        return  # function calls, thoughts, etc. carry no media or prompt text
    item.resolution, item.resolution_tokens = _part_resolution(pick(part, "mediaResolution", "media_resolution"))
    prompt.media.append(item)


def _inline_item(inline: dict[str, Any]) -> MediaItem:
    mime = pick(inline, "mime_type", "mimeType")
    if not mime:
        raise invalid("inline_data.mime_type is required.")
    data = decode_base64(str(pick(inline, "data", default="")))
    item = MediaItem("inline", mime, len(data), hashlib.sha256(data).hexdigest())
    attach_facts(item, data)
    return item


def decode_base64(text: str) -> bytes:
    # The SDK sends URL-safe base64; other clients send the standard alphabet. Accept both.
    normalized = text.strip().replace("-", "+").replace("_", "/")
    normalized += "=" * (-len(normalized) % 4)
    try:
        return base64.b64decode(normalized, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(
            "Invalid value at 'contents.parts.inline_data.data' (TYPE_BYTES), Base64 decoding failed."
        ) from None


def _file_item(store: StateStore, file_data: dict[str, Any]) -> MediaItem:
    uri = str(pick(file_data, "file_uri", "fileUri", default=""))
    segment = uri.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    match = _FILE_ID_RE.match(segment)
    if not match:
        raise invalid(f"Invalid file uri {uri!r}.")
    stored = get_live_file(store, match.group(0))
    if stored.meta.get("state") != "ACTIVE":
        raise ApiError(
            "FAILED_PRECONDITION", f"The File {stored.file_id} is not in an ACTIVE state and usage is not allowed."
        )
    mime = pick(file_data, "mime_type", "mimeType") or stored.mime_type
    item = MediaItem("file", mime, stored.size, stored.sha256_hex)
    # A path (large videos are never read whole) named <id>.bin: the type recorded at upload,
    # not the name or the bytes, says how to open it.
    attach_facts(item, stored.data_path, format_mime=stored.mime_type)
    return item


def _part_resolution(value: Any) -> tuple[str | None, int | None]:
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict):
        tokens = pick(value, "numTokens", "num_tokens")
        return pick(value, "level"), int(tokens) if tokens is not None else None
    return None, None
