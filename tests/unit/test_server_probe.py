"""Finding a running Prefect server instead of starting an ephemeral one."""

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from epbatch.server import is_healthy


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
