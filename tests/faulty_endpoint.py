"""A fault-injecting HTTP endpoint in front of the emulator, for a function run in its own process: requests
pass through unchanged, except those the test picks while it says so, which get an error answer. Set a
function's service endpoint to it (AWS_ENDPOINT_URL_DYNAMODB, say) to fail one call at a chosen moment, as the
network or the service can, with everything else real."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# What the request looks like to the picker: its headers (lower-case names) and its body.
Picker = Callable[[dict[str, str], bytes], bool]

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class FaultyEndpoint:
    def __init__(self, upstream: str, picks: Picker) -> None:
        self.upstream = urlsplit(upstream)
        self.picks = picks
        self.failing = threading.Event()
        self.failed: list[bytes] = []  # the bodies of the requests answered with the fault


@contextmanager
def faulty_endpoint(upstream: str, picks: Picker) -> Iterator[tuple[str, FaultyEndpoint]]:
    """Serves on 127.0.0.1 (a free port) until the block ends; yields its URL and the switch."""
    endpoint = FaultyEndpoint(upstream, picks)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if endpoint.failing.is_set() and endpoint.picks(headers, body):
                endpoint.failed.append(body)
                # A fault the SDK does not retry: the call fails at once, in the middle of the function's work.
                self._answer(400, {"__type": "ValidationException", "message": "injected fault"})
                return
            upstream = http.client.HTTPConnection(str(endpoint.upstream.hostname), endpoint.upstream.port, timeout=60)
            try:
                forwarded = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream.request("POST", self.path, body=body, headers=forwarded)
                reply = upstream.getresponse()
                data = reply.read()
                self.send_response(reply.status)
                for key, value in reply.getheaders():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            finally:
                upstream.close()

        def _answer(self, status: int, document: dict[str, Any]) -> None:
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("x-amzn-ErrorType", str(document["__type"]))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", endpoint
    finally:
        server.shutdown()
        server.server_close()
