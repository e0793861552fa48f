"""A scripted HTTP peer on loopback, for transport tests that need a misbehaving partner."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class ScriptedPeer:
    url: str
    routes: dict[str, Callable[[SeenRequest], Reply]] = field(default_factory=dict)
    seen: list[SeenRequest] = field(default_factory=list)


def ocpi_body(data: Any, status_code: int = 1000) -> bytes:
    return orjson.dumps(
        {"data": data, "status_code": status_code, "timestamp": "2026-11-24T08:00:00Z"}
    )


@contextmanager
def scripted_peer() -> Iterator[ScriptedPeer]:
    """Serve `peer.routes[path-without-query]` on 127.0.0.1 at a free port."""
    peer = ScriptedPeer(url="")

    class Handler(BaseHTTPRequestHandler):
        def handle_any(self) -> None:
            request = SeenRequest(self.command, self.path, dict(self.headers.items()))
            peer.seen.append(request)
            route = peer.routes.get(self.path.split("?")[0])
            status, headers, body = route(request) if route else (404, {}, b"no such route")
            if "drip-headers" in headers:
                head = f"HTTP/1.1 {status} OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                for byte in head:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
                self.wfile.write(body)
                return
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if "drip" in headers:
                self.end_headers()
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any  # noqa: N815 (http.server names)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    peer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()
