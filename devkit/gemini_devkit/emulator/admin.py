"""`/_emulator/*`: the emulator's own control endpoints (never part of the Gemini API).

GET  /_emulator/knobs   current knobs as JSON
POST /_emulator/knobs   merge a JSON object into the knobs (400 on an unknown name or bad value)
GET  /_emulator/stats   counters: requests, status codes, bytes received per endpoint kind, 429s,
                        upload sessions open now and the most open at once
"""

from __future__ import annotations

from .errors import ApiError, invalid
from .knobs import Behaviour
from .protocol import Request, Response


def handle(behaviour: Behaviour, request: Request, path: str) -> Response:
    name = path.removeprefix("/_emulator/").strip("/")
    if name == "knobs" and request.method == "GET":
        return Response.json(behaviour.knobs.as_dict())
    if name == "knobs" and request.method == "POST":
        try:
            behaviour.update(request.json())
        except (ValueError, TypeError) as exc:
            raise invalid(str(exc)) from None
        return Response.json(behaviour.knobs.as_dict())
    if name == "stats" and request.method == "GET":
        return Response.json(dict(behaviour.stats))
    raise ApiError("NOT_FOUND", f"Unknown emulator control endpoint {request.method} {path}")
