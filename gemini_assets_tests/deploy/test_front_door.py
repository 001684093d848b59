"""The front door of the Dagster UI: Debian's nginx with deploy/nginx/ in front of two webservers.

The test runs its own nginx (not the system service) with a main nginx.conf of its own (pid,
logs and temporary files in tmp_path) that includes deploy/nginx/gemini-assets.conf rendered
with the test's ports and paths, and deploy/nginx/gemini-assets-proxy.conf as shipped. The
self-signed certificate and the password files are made with `openssl`, as docs/deploy.md says.
Every request goes over TLS and checks the certificate.

The first test puts two echo servers behind the doors and shows what nginx does itself: who gets
in where, and what it tells the upstream. The second puts the webservers of deploy/Procfile
behind them (their command lines, with free ports) and shows what the read-only webserver refuses
and that neither webserver can be reached from the network.
"""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from gemini_assets_tests.ui.dagster_dev import DagsterDev, free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NGINX = Path("/usr/sbin/nginx")
TEMPLATE = REPO / "deploy" / "nginx" / "gemini-assets.conf"
PROXY_SNIPPET = REPO / "deploy" / "nginx" / "gemini-assets-proxy.conf"
OPERATOR = ("olga", "operator pass 1")
VIEWER = ("vera", "viewer pass 2")

PERMISSIONS = "{ permissions { permission value } }"
LAUNCH = """mutation ($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on UnauthorizedError { message } ... on LaunchRunSuccess { run { runId status } }
  ... on PythonError { message } } }"""
RUNS = "{ runsOrError { ... on Runs { results { runId status } } } }"
DAY = "2026-11-01"
LAUNCH_PARAMS = {
    "selector": {
        "repositoryLocationName": "gemini_assets",
        "repositoryName": "__repository__",
        "jobName": "daily_pipeline",
    },
    "executionMetadata": {"tags": [{"key": "dagster/partition", "value": DAY}]},
}


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


class FrontDoor:
    """nginx with the shipped recipe: two doors, operators' and viewers', each on its own port."""

    def __init__(self, folder: Path, host: str, operator_upstream: str, viewer_upstream: str) -> None:
        self.folder = folder
        self.operator_port, self.viewer_port = free_port(), free_port()
        self.process: subprocess.Popen[bytes] | None = None
        conf = folder / "conf"
        (conf / "conf.d").mkdir(parents=True)
        (conf / "snippets").mkdir()
        (folder / "temp").mkdir()
        cert, key = _self_signed_certificate(folder, host)
        self.tls = ssl.create_default_context(cafile=str(cert))
        values = {
            "SERVER_NAME": "localhost",
            # Ports alone, as in production: nginx listens on every address of the machine.
            "OPERATOR_LISTEN": str(self.operator_port),
            "VIEWER_LISTEN": str(self.viewer_port),
            "TLS_CERTIFICATE": str(cert),
            "TLS_CERTIFICATE_KEY": str(key),
            "OPERATORS_HTPASSWD": str(_password_file(folder / "operators.htpasswd", OPERATOR)),
            "VIEWERS_HTPASSWD": str(_password_file(folder / "viewers.htpasswd", VIEWER)),
            "OPERATOR_UPSTREAM": operator_upstream,
            "VIEWER_UPSTREAM": viewer_upstream,
        }
        (conf / "conf.d" / "gemini-assets.conf").write_text(render(TEMPLATE.read_text(), values))
        shutil.copy(PROXY_SNIPPET, conf / "snippets" / PROXY_SNIPPET.name)
        self.conf = conf / "nginx.conf"
        self.conf.write_text(_main_conf(folder))

    def _nginx(self, *args: str) -> list[str]:
        return [str(NGINX), "-p", str(self.folder), "-c", str(self.conf), "-e", str(self.folder / "error.log"), *args]

    def start(self, timeout_s: float = 20) -> FrontDoor:
        checked = subprocess.run(self._nginx("-t"), capture_output=True, text=True, timeout=30, check=False)
        assert checked.returncode == 0, f"nginx -t refused the rendered recipe:\n{checked.stderr}"
        self.process = subprocess.Popen(
            self._nginx("-g", "daemon off;"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while not all(_accepts("127.0.0.1", port) for port in (self.operator_port, self.viewer_port)):
            assert self.process.poll() is None, f"nginx exited ({self.process.returncode}):\n{self.error_log()}"
            assert time.monotonic() < deadline, f"nginx did not listen in {timeout_s} s:\n{self.error_log()}"
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: the workers finish, then the master
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # the master and its workers
                self.process.wait(timeout=10)

    def error_log(self) -> str:
        log = self.folder / "error.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else ""

    def request(
        self,
        port: int,
        path: str = "/",
        *,
        login: tuple[str, str] | None = None,
        body: dict | None = None,
        headers: dict[str, str] | None = None,
        host: str = "127.0.0.1",
    ) -> Answer:
        sent = dict(headers or {})
        if login is not None:
            sent["Authorization"] = "Basic " + base64.b64encode(":".join(login).encode()).decode()
        data = None
        if body is not None:
            data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
        connection = http.client.HTTPSConnection(host, port, context=self.tls, timeout=30)
        try:
            connection.request("POST" if data else "GET", path, body=data, headers=sent)
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()

    def graphql(self, port: int, login: tuple[str, str], query: str, variables: dict | None = None) -> dict:
        answer = self.request(port, "/graphql", login=login, body={"query": query, "variables": variables or {}})
        assert answer.status == 200, (answer.status, answer.body[:500])
        data = answer.json()
        assert not data.get("errors"), data["errors"]
        return data["data"]


def render(template: str, values: dict[str, str]) -> str:
    """The template with every @NAME@ replaced; a placeholder left over is an error."""
    text = template
    for name, value in values.items():
        assert f"@{name}@" in text, f"{name} is not a placeholder of the template"
        text = text.replace(f"@{name}@", value)
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "@" not in body, f"placeholders left: {[w for w in body.split() if '@' in w]}"
    return text


def _main_conf(folder: Path) -> str:
    """Stands in for Debian's /etc/nginx/nginx.conf: every file nginx writes is in the folder."""
    # As root the workers would switch to `nobody`, who cannot read the password files in tmp_path.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = folder / "temp"
    return f"""{user}worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    access_log {folder / "access.log"};
    client_body_temp_path {temp / "body"};
    proxy_temp_path {temp / "proxy"};
    fastcgi_temp_path {temp / "fastcgi"};
    uwsgi_temp_path {temp / "uwsgi"};
    scgi_temp_path {temp / "scgi"};
    include conf.d/gemini-assets.conf;
}}
"""


def _openssl(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["openssl", *args], input=stdin, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"openssl {args[0]} failed: {done.stderr}"
    return done.stdout


def _self_signed_certificate(folder: Path, host: str) -> tuple[Path, Path]:
    cert, key = folder / "tls.pem", folder / "tls.key"
    _openssl(
        *("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"),
        *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
        *("-addext", f"subjectAltName=DNS:localhost,IP:127.0.0.1,IP:{host}"),
    )
    return cert, key


def _password_file(path: Path, login: tuple[str, str]) -> Path:
    """An htpasswd line as docs/deploy.md makes it: `openssl passwd -6` (SHA-512 crypt)."""
    user, password = login
    path.write_text(f"{user}:{_openssl('passwd', '-6', '-stdin', stdin=password).strip()}\n")
    return path


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _network_address() -> str:
    """This machine's IPv4 address on its route out (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.254", 9))
        except OSError as error:
            pytest.fail(f"the machine has no route off loopback, so no address to test from: {error}")
        address = probe.getsockname()[0]
    assert not address.startswith("127."), address
    return address


@pytest.fixture(scope="module")
def nginx() -> Path:
    if not NGINX.exists():
        pytest.fail(f"{NGINX} is missing: `./run test` installs Debian's nginx (apt-get install nginx)")
    return NGINX


# --- nginx on its own: who gets in, and what the upstream is told ----------------------------------


class _EchoServer(http.server.ThreadingHTTPServer):
    """Answers every GET with its door's name and the headers it received."""

    def __init__(self, door: str) -> None:
        super().__init__(("127.0.0.1", 0), _Echo)
        self.door = door


class _Echo(http.server.BaseHTTPRequestHandler):
    server: _EchoServer

    def do_GET(self) -> None:
        body = json.dumps({"door": self.server.door, "headers": dict(self.headers.items())}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_upstreams() -> Iterator[dict[str, str]]:
    servers = {}
    for door in ("operators", "viewers"):
        server = _EchoServer(door)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[door] = server
    yield {door: f"127.0.0.1:{server.server_address[1]}" for door, server in servers.items()}
    for server in servers.values():
        server.shutdown()
        server.server_close()


def test_each_role_has_its_own_door_and_the_upstream_learns_who_came_in(nginx, echo_upstreams, tmp_path):
    door = FrontDoor(tmp_path / "nginx", _network_address(), echo_upstreams["operators"], echo_upstreams["viewers"])
    door.start()
    try:
        operators, viewers = door.operator_port, door.viewer_port
        for port in (operators, viewers):
            refused = door.request(port)
            assert refused.status == 401 and refused.headers["WWW-Authenticate"].startswith("Basic ")
            assert door.request(port, login=(OPERATOR[0], "wrong")).status == 401
        # A viewer's password does not open the operators' door, nor an operator's the viewers'
        # (separate password files; an operator who wants both is in both).
        assert door.request(operators, login=VIEWER).status == 401
        assert door.request(viewers, login=OPERATOR).status == 401

        spoofed = {"X-Forwarded-User": "admin"}
        for port, login, upstream in ((operators, OPERATOR, "operators"), (viewers, VIEWER, "viewers")):
            answer = door.request(port, "/runs", login=login, headers=spoofed)
            assert answer.status == 200, answer.body[:300]
            seen = answer.json()
            assert seen["door"] == upstream
            # The authenticated name, not the one the client claimed; the password stays at the door.
            assert seen["headers"]["X-Forwarded-User"] == login[0]
            assert seen["headers"]["X-Forwarded-Proto"] == "https"
            assert "Authorization" not in seen["headers"]

        # nginx reads the password file on every request: a user added now gets in without a reload.
        newcomer = ("nina", "viewer pass 3")
        assert door.request(viewers, login=newcomer).status == 401
        with (tmp_path / "nginx" / "viewers.htpasswd").open("a") as viewers_file:
            viewers_file.write(_password_file(tmp_path / "nina.htpasswd", newcomer).read_text())
        assert door.request(viewers, login=newcomer).status == 200

        # No cleartext: plain HTTP on a door's port is refused by nginx, never proxied.
        plain = http.client.HTTPConnection("127.0.0.1", operators, timeout=10)
        try:
            plain.request("GET", "/", headers={"Authorization": "Basic " + base64.b64encode(b"olga:x").decode()})
            assert plain.getresponse().status == 400
        finally:
            plain.close()
    finally:
        door.stop()


# --- the webservers behind it -----------------------------------------------------------------------


def procfile_command(name: str, port: int) -> list[str]:
    """A webserver line of deploy/Procfile, with the virtualenv's program and the given port."""
    for line in (REPO / "deploy" / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            words = shlex.split(line.partition(":")[2])
            words[0] = str(BIN / words[0])
            words[words.index("-p") + 1] = str(port)
            return words
    raise AssertionError(f"deploy/Procfile has no {name} line")


class Webserver(DagsterDev):
    """A `dagster-webserver` line of deploy/Procfile on a free port; stopped as `dagster dev` is."""

    def __init__(self, procfile_name: str, env: dict[str, str], log_path: Path) -> None:
        super().__init__(env, log_path)
        self.command = procfile_command(procfile_name, self.port)

    def start(self, timeout_s: float = 240) -> None:
        self.launch()
        self.wait_loaded(timeout_s)

    def launch(self) -> None:
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            self.command, cwd=REPO, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_loaded(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not self._location_loaded():
            assert self.process is not None and self.process.poll() is None, f"webserver exited:\n{self.log_tail()}"
            assert time.monotonic() < deadline, f"the code location did not load in {timeout_s} s:\n{self.log_tail()}"
            time.sleep(1)

    def listening(self) -> set[tuple[str, int]]:
        """The TCP addresses the webserver's processes (its session) listen on."""
        assert self.process is not None
        return listening_addresses(_group_members(self.process.pid))


def _group_members(group: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[2]) == group:  # state, ppid, pgrp
            members.append(int(stat.parent.name))
    return members


def listening_addresses(pids: list[int]) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state that one of the processes holds,
    read from /proc/net/tcp and tcp6."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for row in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: TCP_LISTEN
                address, port = local.split(":")
                raw = bytes.fromhex(address)
                # The kernel prints each 32-bit word in host (little-endian) order.
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add((socket.inet_ntop(family, words), int(port, 16)))
    return found


@pytest.fixture
def webservers(tmp_path) -> Iterator[dict[str, Webserver]]:
    # The shipped instance settings: a launched run waits in the queue (no daemon here), so the
    # operator's launch below spends nothing.
    home = Path(os.environ["DAGSTER_HOME"])
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    # The instance's tables first (`dagster instance migrate`): two webservers starting on a fresh
    # SQLite instance race to create them ("more than one head present").
    with dg.DagsterInstance.get() as instance:
        instance.upgrade()
    servers = {
        name: Webserver(name, dict(os.environ), tmp_path / f"{name}.log")
        for name in ("webserver", "webserver-readonly")
    }
    try:
        for server in servers.values():  # both boot at once
            server.launch()
        for server in servers.values():
            server.wait_loaded(240)
        yield servers
    finally:
        for server in servers.values():
            server.stop(grace_s=5)


@pytest.mark.slow
def test_viewers_cannot_launch_and_the_webservers_are_not_reachable_from_the_network(nginx, webservers, tmp_path):
    operator_server, viewer_server = webservers["webserver"], webservers["webserver-readonly"]
    host = _network_address()
    door = FrontDoor(tmp_path / "nginx", host, f"127.0.0.1:{operator_server.port}", f"127.0.0.1:{viewer_server.port}")
    door.start()
    try:
        operators, viewers = door.operator_port, door.viewer_port
        # Nobody gets past the door without a password: not to the UI, not to the GraphQL API.
        for port in (operators, viewers):
            assert door.request(port).status == 401
            assert door.request(port, "/graphql", body={"query": PERMISSIONS}).status == 401
        # With one, each role reaches its webserver's UI.
        for port, login in ((operators, OPERATOR), (viewers, VIEWER)):
            page = door.request(port, login=login)
            assert page.status == 200 and b">Dagster</title>" in page.body, page.body[:300]

        # The webservers' own answers: the operators' may launch runs, the viewers' may not ...
        def may_launch(port: int, login: tuple[str, str]) -> bool:
            rows = door.graphql(port, login, PERMISSIONS)["permissions"]
            return {row["permission"]: row["value"] for row in rows}["launch_pipeline_execution"]

        assert may_launch(operators, OPERATOR) is True
        assert may_launch(viewers, VIEWER) is False
        # ... and a launch through the viewers' door is refused by the read-only webserver ...
        refused = door.graphql(viewers, VIEWER, LAUNCH, {"params": LAUNCH_PARAMS})["launchRun"]
        assert refused["__typename"] == "UnauthorizedError", refused
        # ... while the same mutation through the operators' door queues a run ...
        launched = door.graphql(operators, OPERATOR, LAUNCH, {"params": LAUNCH_PARAMS})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        assert launched["run"]["status"] == "QUEUED"
        # ... which viewers can see; and a viewer's password does not open the operators' door.
        seen = door.graphql(viewers, VIEWER, RUNS)["runsOrError"]["results"]
        assert [run["runId"] for run in seen] == [launched["run"]["runId"]]
        assert door.request(operators, "/graphql", login=VIEWER, body={"query": LAUNCH}).status == 401

        # The webservers listen on loopback only (their code servers use Unix sockets), so from
        # the network only nginx answers.
        for server in (operator_server, viewer_server):
            assert server.listening() == {("127.0.0.1", server.port)}
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((host, server.port), timeout=5).close()
        assert door.request(operators, host=host).status == 401
        assert door.request(viewers, "/graphql", login=VIEWER, body={"query": PERMISSIONS}, host=host).status == 200
    finally:
        door.stop()
