"""Map (method, path) to the API modules; auth and route errors live here."""

from __future__ import annotations

import re

from . import anthropic_api, batches, files_api, generate, openai_api
from .errors import ApiError
from .protocol import Request, Response
from .state import StateStore

# Optional base path prefix, optional "upload/", any API version segment (v1, v1beta, v1alpha, ...).
PATH_RE = re.compile(r"^(?P<prefix>(?:/[^/]+)*?)/(?P<upload>upload/)?(?P<ver>v\d+(?:alpha|beta)?\d*)/(?P<rest>.*)$")
_FILE_RE = re.compile(r"^files/(?P<id>[^/:]+)$")
_DOWNLOAD_RE = re.compile(r"^files/(?P<id>[^/:]+):download$")
_BATCH_RE = re.compile(r"^batches/(?P<id>[^/:]+)(?::(?P<action>[A-Za-z]+))?$")
_MODEL_RE = re.compile(r"^(?P<model>(?:models|tunedModels)/[^:]+):(?P<method>[A-Za-z]+)$")
# The other wire formats, by the path after the version segment; they check their own auth
# and answer in their own error shapes.
OTHER_PROVIDER_ROUTES = {
    "chat/completions": openai_api.chat_completions,
    "messages": anthropic_api.messages,
}
_NO_KEY_MESSAGE = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)


def not_found(method: str, path: str) -> ApiError:
    return ApiError("NOT_FOUND", f"Requested entity was not found: {method} {path}")


def is_upload_chunk(request: Request) -> bool:
    return request.is_upload and "upload_id" in request.query


def route(store: StateStore, request: Request, raw_path: str) -> Response:
    method, rest = request.method, request.path
    if request.is_upload:
        if rest != "files" or method not in ("POST", "PUT"):
            raise not_found(method, raw_path)
        if is_upload_chunk(request):
            return files_api.upload_chunk(store, request)  # chunks carry no API key, by design of the protocol
        _require_key(request)
        if request.header("x-goog-upload-command").strip().lower() != "start":
            raise ApiError("INVALID_ARGUMENT", "Expected X-Goog-Upload-Command: start.")
        return files_api.start_upload(store, request)

    other_provider = OTHER_PROVIDER_ROUTES.get(rest)
    if other_provider is not None and method == "POST":
        return other_provider(store, request)

    if rest == "files" and method == "GET":
        _require_key(request)
        return files_api.list_files(store, request)
    file_match = _FILE_RE.match(rest)
    if file_match and method in ("GET", "DELETE"):
        _require_key(request)
        handler = files_api.get_file if method == "GET" else files_api.delete_file
        return handler(store, request, file_match.group("id"))
    batch_response = _batch_route(store, request, rest)
    if batch_response is not None:
        return batch_response
    model_match = _MODEL_RE.match(rest)
    if model_match and method == "POST":
        model = model_match.group("model").removeprefix("models/")
        action = model_match.group("method")
        if action == "generateContent":
            _require_key(request)
            return generate.generate_content(store, request, model)
        if action == "countTokens":
            _require_key(request)
            return generate.count_tokens(store, request, model)
        if action == "batchGenerateContent":
            _require_key(request)
            return batches.create(store, request, model)
    raise not_found(method, raw_path)


def _batch_route(store: StateStore, request: Request, rest: str) -> Response | None:
    """Batches and the result-file download; None when the path is not one of theirs."""
    method = request.method
    if rest == "batches" and method == "GET":
        _require_key(request)
        return batches.list_batches(store, request)
    download = _DOWNLOAD_RE.match(rest)
    if download and method == "GET":
        _require_key(request)
        return batches.download(store, request, download.group("id"))
    match = _BATCH_RE.match(rest)
    if match is None:
        return None
    _require_key(request)
    action, batch_id = match.group("action"), match.group("id")
    if action is None and method == "GET":
        return batches.get(store, request, batch_id)
    if action is None and method == "DELETE":
        return batches.delete(store, request, batch_id)
    if action == "cancel" and method == "POST":
        return batches.cancel(store, request, batch_id)
    return None


def _require_key(request: Request) -> None:
    # Presence is all we check; the value is never logged or stored.
    if not request.header("x-goog-api-key").strip():
        raise ApiError("PERMISSION_DENIED", _NO_KEY_MESSAGE)
