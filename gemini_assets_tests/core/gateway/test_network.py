"""Network settings: proxies from the standard variables, a gateway base URL that carries uploads."""

from __future__ import annotations

from gemini_assets.core.gateway.gemini.client import GeminiGateway
from gemini_assets.core.gateway.gemini.resumable import CHUNK_BYTES
from gemini_assets_tests.core.gateway.conftest import FAST, text_request
from gemini_assets_tests.core.gateway.test_uploads import MIB, QUICK, land, stored_sha256
from gemini_assets_tests.net_proxies import ConnectProxy, PrefixGateway, running, self_signed_certificate, server_tls
from gemini_devkit.emulator import start_emulator


def upload_and_call(base_url: str, store):
    """A fresh gateway (it reads the proxy variables when it is made): one upload, one call."""
    gateway = GeminiGateway("test-key", base_url, FAST, upload=QUICK)
    try:
        with store.open("sanitized/clip.mp4") as stream:
            remote = gateway.upload(stream, "video/mp4", "clip")
        return remote, gateway.generate(text_request())
    finally:
        gateway.close()


def test_https_proxy_carries_uploads_and_calls_and_no_proxy_bypasses_it(tmp_path, store, monkeypatch):
    cert, key = self_signed_certificate(tmp_path)
    emulator = start_emulator(tmp_path / "emulator", knobs={}, ssl_context=server_tls(cert, key))
    target = emulator.url.removeprefix("https://")
    land(store, "sanitized/clip.mp4", 10 * MIB)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the SDK's variable; the uploader trusts it too
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with running(ConnectProxy()) as proxy:
        try:
            monkeypatch.setenv("HTTPS_PROXY", proxy.url)
            for name in ("NO_PROXY", "no_proxy"):
                monkeypatch.setenv(name, "")
            remote, answer = upload_and_call(emulator.url, store)
            assert remote.active and answer.ok
            assert set(proxy.tunnels) == {target}  # uploads and calls both went through the tunnel
            through_proxy = len(proxy.tunnels)

            for name in ("NO_PROXY", "no_proxy"):
                monkeypatch.setenv(name, "127.0.0.1")
            remote, answer = upload_and_call(emulator.url, store)
            assert remote.active and answer.ok
            assert len(proxy.tunnels) == through_proxy  # NO_PROXY: nothing went through the proxy
        finally:
            emulator.stop()


def test_a_gateway_base_url_carries_the_upload_chunks(emulator, store):
    sha = land(store, "sanitized/clip.mp4", 2 * CHUNK_BYTES + MIB)
    with running(PrefixGateway(emulator.url)) as company_gateway:
        remote, answer = upload_and_call(company_gateway.url, store)
    assert remote.active and answer.ok and stored_sha256(emulator, remote.name) == sha
    uploads = [p for p in company_gateway.paths if p.startswith("/upload/")]
    # the start and all three chunks went through the gateway, although the emulator handed out
    # an upload URL on its own address
    assert len(uploads) == 4 and sum("upload_id=" in p for p in uploads) == 3
    assert any(":generateContent" in p for p in company_gateway.paths)
