"""A local HTTP server standing in for a provider's API: it records every request and answers with the
provider's documented response for the path (no internet in tests)."""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: bytes

    def form(self) -> dict:
        """A form-encoded body (Stripe) as {key: value}."""
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class FakeProvider:
    """Routes (method, path) -> (status, JSON body); `requests` keeps what was received."""

    routes: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)
    url: str = ""

    def answer(self, method: str, path: str, body: dict, status: int = 200) -> None:
        self.routes[method, path] = (status, body)


def serve(fake: FakeProvider):
    class Handler(BaseHTTPRequestHandler):
        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            fake.requests.append(Recorded(self.command, path, dict(self.headers), body))
            status, answer = fake.routes.get((self.command, path), (404, {"error": {"message": "no route"}}))
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_test")
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _handle

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server
