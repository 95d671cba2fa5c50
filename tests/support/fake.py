"""A tiny loopback HTTP server whose answers a test scripts: trickles, bombs, odd JSON."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[["Handler"], None]


class Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _any(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.server.log.append((self.command, self.path))
        route = self.path.split("?")[0]
        for prefix, answer in self.server.routes:
            if route.endswith(prefix) and self.command == "GET":
                answer(self)
                return
        self.json({"error": "not scripted"}, 404)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    def json(self, data: Any, status: int = 200) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def stream(self, chunks: Iterator[bytes], headers: dict[str, str]) -> None:
        """A chunked answer, one chunk at a time, as the iterator yields them."""
        self.send_response(200)
        for name, value in {"content-type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client gave up: what the test is about
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: list[tuple[str, Answer]]
    log: list[tuple[str, str]]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-answer is what these tests provoke


class FakeServer:
    """`route(path_suffix, answer)` scripts a GET; every other request gets a 404."""

    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.routes = []
        self.server.log = []
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def route(self, suffix: str, answer: Answer | Any) -> None:
        if not callable(answer):
            data = answer
            answer = lambda h: h.json(data)  # noqa: E731
        self.server.routes.append((suffix, answer))

    @property
    def log(self) -> list[tuple[str, str]]:
        return self.server.log

    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.log if r[0] != "GET"]

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
