"""Finding a running Prefect server instead of starting an ephemeral one; cheap clients."""

import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from epbatch.server import is_healthy, lean_client_env


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/api/health" else 404)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args: object) -> None:
        pass


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
    env = lean_client_env("http://127.0.0.1:4200/api", tmp_path)
    path = Path(env["PREFECT_API_SSL_CERT_FILE"])
    assert path.read_text().count("BEGIN CERTIFICATE") == 1
    ssl.create_default_context(cafile=str(path))  # a valid CA file
    assert lean_client_env(None, tmp_path) == env  # the ephemeral server is plain HTTP too
    assert lean_client_env("https://prefect.example.org/api", tmp_path) == {}
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    assert lean_client_env(None, not_a_folder / "cache") == {}  # cannot write it: Prefect's own
    monkeypatch.setenv("PREFECT_API_SSL_CERT_FILE", "/etc/ssl/mine.pem")
    assert lean_client_env("http://127.0.0.1:4200/api", tmp_path) == {}
