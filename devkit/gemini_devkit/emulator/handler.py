"""The http.server request handler: parse, route, and always answer with a Google error body."""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import admin
from .errors import ApiError, DropConnection, error_bytes
from .protocol import Request, Response
from .routes import OTHER_PROVIDER_ROUTES, PATH_RE, not_found, route
from .state import StateStore

logger = logging.getLogger("gemini_devkit.emulator")
_SECRET_QUERY_RE = re.compile(r"(?i)(key=)[^&\s]*")


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], store: StateStore, ssl_context: ssl.SSLContext | None = None) -> None:
        self.store = store
        self.ssl_context = ssl_context
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, EmulatorRequestHandler)

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = super().get_request()
        if self.ssl_context is not None:
            # The handshake happens on the first read, in the connection's own thread.
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def process_request(self, request, client_address) -> None:  # type: ignore[override]
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:  # type: ignore[override]
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut kept-alive connections too, so a stopped emulator really stops answering."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address) -> None:  # type: ignore[override]
        # Client disconnects mid-response are normal for a test server; keep stderr clean.
        logger.debug("connection error from %s", client_address, exc_info=True)


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's HTTP clients expect
    # TCP_NODELAY: headers and body leave in separate writes; with Nagle on, a connection could
    # fall into a pattern where every answer waited ~40 ms for the client's delayed ACK (seen as
    # bimodal latencies in benchmarks/gateway_overhead.py), which no production server shows.
    disable_nagle_algorithm = True
    server: EmulatorServer

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def log_message(self, format: str, *args) -> None:
        logger.debug("%s " + format, self.address_string(), *[_redact(a) for a in args])

    def _handle(self) -> None:
        request: Request | None = None
        try:
            request = self._parse()
            path = urlsplit(self.path).path
            if path.startswith("/_emulator/"):
                response = admin.handle(self.server.store.behaviour, request, path)
            else:
                self._match_path(request)
                self._count_request(request, path)
                response = route(self.server.store, request, path)
        except DropConnection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except ApiError as error:
            upload = request is not None and request.is_upload
            extra = {"X-Goog-Upload-Status": "final"} if upload else {}
            response = Response.error(error, headers={**error.headers, **extra})
        except Exception:
            logger.exception("unexpected error serving %s %s", self.command, _redact(self.path))
            response = Response(status=500, body=error_bytes(500, "INTERNAL", "Internal error encountered."))
            if request is not None and request.is_upload:
                response.headers["X-Goog-Upload-Status"] = "final"
        self.server.store.behaviour.count(f"status_{response.status}")
        self._send(response, request)

    def _count_request(self, request: Request, path: str) -> None:
        # Bytes on the wire per endpoint kind, for the benchmark's bytes-per-media-byte figure.
        if request.is_upload:
            kind = "upload"
        elif ":" in path:
            kind = path.rsplit(":", 1)[-1]
        elif request.path in OTHER_PROVIDER_ROUTES:
            kind = request.path.replace("/", "_")  # chat_completions, messages
        else:
            kind = "files"
        stats = self.server.store.behaviour
        stats.count("requests")
        stats.count(f"requests_{kind}")
        stats.count(f"bytes_in_{kind}", request.content_length or 0)

    def _parse(self) -> Request:
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        length_text = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        request = Request(
            method=self.command,
            path="",
            version="",
            is_upload=False,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=headers,
            host=headers.get("host") or "{}:{}".format(*self.server.server_address[:2]),
            rfile=self.rfile,
            content_length=None,
            chunked=chunked,
            scheme="https" if self.server.ssl_context is not None else "http",
        )
        if length_text is not None and length_text.strip().isdigit():
            request.content_length = int(length_text)
        elif length_text is not None:
            self.close_connection = True  # cannot know where this body ends
        return request

    def _match_path(self, request: Request) -> None:
        path = urlsplit(self.path).path
        match = PATH_RE.match(path)
        if match is None:
            raise not_found(self.command, path)
        request.path = match.group("rest")
        request.version = match.group("ver")
        request.is_upload = bool(match.group("upload"))
        request.prefix = match.group("prefix")

    def _send(self, response: Response, request: Request | None) -> None:
        unread = request is None or ((request.chunked or bool(request.content_length)) and not request.consumed)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if unread:
            # An unread request body would be parsed as the next request; close instead.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)


def _redact(value: object) -> object:
    return _SECRET_QUERY_RE.sub(r"\1<redacted>", value) if isinstance(value, str) else value
