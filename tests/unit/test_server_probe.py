"""Finding a running Prefect server instead of starting a temporary one; cheap clients."""

import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from epbatch.ops.server import (
    SERVER_ENV,
    csrf_off,
    is_healthy,
    lean_client_env,
    profile_api_url,
    ui_env,
)

NO_SERVER = "http://127.0.0.1:9/api"  # the discard port: nothing answers


class Health(BaseHTTPRequestHandler):
    csrf_protection = False

    def do_GET(self) -> None:
        if self.path.startswith("/api/csrf-token?"):  # Prefect's answers, protection off / on
            off = not self.csrf_protection
            self.send_response(422 if off else 200)
            self.end_headers()
            self.wfile.write(
                b'{"detail":"CSRF protection is disabled."}' if off else b'{"token":"t"}'
            )
            return
        self.send_response(200 if self.path == "/api/health" else 404)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args: object) -> None:
        pass


class Protected(Health):
    csrf_protection = True


@pytest.fixture
def serve():
    servers = []

    def start(handler: type[BaseHTTPRequestHandler]) -> str:
        server = HTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/api"

    yield start
    for server in servers:
        server.shutdown()


def test_is_healthy_only_where_an_api_answers():
    server = HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert is_healthy(f"http://127.0.0.1:{server.server_port}/api")
        assert not is_healthy(f"http://127.0.0.1:{server.server_port}/other")
    finally:
        server.shutdown()
    assert not is_healthy(f"http://127.0.0.1:{server.server_port}/api", timeout_s=0.2)


def test_plain_http_clients_load_one_ca_and_https_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_API_SSL_CERT_FILE", raising=False)
    env = lean_client_env(NO_SERVER, tmp_path)
    path = Path(env["PREFECT_API_SSL_CERT_FILE"])
    assert path.read_text().count("BEGIN CERTIFICATE") == 1
    ssl.create_default_context(cafile=str(path))  # a valid CA file
    assert lean_client_env(None, tmp_path) == env  # a server not known yet: plain HTTP
    assert lean_client_env("https://prefect.example.org/api", tmp_path) == {}
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    assert lean_client_env(None, not_a_folder / "cache") == {}  # cannot write it: Prefect's own
    monkeypatch.setenv("PREFECT_API_SSL_CERT_FILE", "/etc/ssl/mine.pem")
    assert lean_client_env(NO_SERVER, tmp_path) == {}


def test_csrf_tokens_are_skipped_only_where_the_server_has_protection_off(
    serve, tmp_path, monkeypatch
):
    monkeypatch.delenv("PREFECT_CLIENT_CSRF_SUPPORT_ENABLED", raising=False)
    off, on = serve(Health), serve(Protected)
    assert csrf_off(off) and not csrf_off(on) and not csrf_off(NO_SERVER)
    assert lean_client_env(off, tmp_path)["PREFECT_CLIENT_CSRF_SUPPORT_ENABLED"] == "false"
    for api in (on, NO_SERVER, None):  # protected, unknown, or not started yet: Prefect's way
        assert "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED" not in lean_client_env(api, tmp_path)
    monkeypatch.setenv("PREFECT_CLIENT_CSRF_SUPPORT_ENABLED", "true")  # the user's choice
    assert "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED" not in lean_client_env(off, tmp_path)


def test_the_active_profiles_api_url_is_read_without_prefect(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.delenv("PREFECT_PROFILES_PATH", raising=False)
    monkeypatch.delenv("PREFECT_PROFILE", raising=False)
    assert profile_api_url() is None  # no profiles file
    (tmp_path / "profiles.toml").write_text(
        'active = "remote"\n'
        '[profiles.ephemeral]\nPREFECT_SERVER_ALLOW_EPHEMERAL_MODE = "true"\n'
        '[profiles.remote]\nPREFECT_API_URL = "https://prefect.example.org/api"\n'
    )
    assert profile_api_url() == "https://prefect.example.org/api"
    monkeypatch.setenv("PREFECT_PROFILE", "ephemeral")
    assert profile_api_url() is None


def test_the_ui_calls_the_api_on_the_port_the_server_listens_on(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    for key in ("PREFECT_PROFILES_PATH", "PREFECT_UI_API_URL", "PREFECT_SERVER_UI_API_URL"):
        monkeypatch.delenv(key, raising=False)
    assert ui_env("127.0.0.1", 4321) == {"PREFECT_UI_API_URL": "http://127.0.0.1:4321/api"}
    everywhere = "0.0.0.0"  # noqa: S104 - a bind address, as `epbatch server --host` takes it
    assert ui_env(everywhere, 4321) == {"PREFECT_UI_API_URL": "http://127.0.0.1:4321/api"}
    assert ui_env("::1", 80) == {"PREFECT_UI_API_URL": "http://[::1]:80/api"}
    (tmp_path / "profiles.toml").write_text(
        'active = "lan"\n[profiles.lan]\nPREFECT_UI_API_URL = "http://box:4321/api"\n'
    )
    assert ui_env(everywhere, 4321) == {}  # the user's profile says where
    (tmp_path / "profiles.toml").unlink()
    monkeypatch.setenv("PREFECT_SERVER_UI_API_URL", "https://prefect.example.org/api")
    assert ui_env("127.0.0.1", 4321) == {}  # the user's own setting wins


def test_servers_epbatch_starts_hide_promotional_content():
    from prefect.settings.models.server.ui import ServerUISettings

    assert "show_promotional_content" in ServerUISettings.model_fields  # the pinned Prefect has it
    assert SERVER_ENV["PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT"] == "false"
