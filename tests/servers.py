"""Real servers on 127.0.0.1 for the remote tests: no mocks of the wire.

- :class:`RangeHTTPServer`: a threaded HTTP server over an in-memory dict of objects that
  honours ``Range: bytes=a-b``, ``bytes=a-`` and ``bytes=-N``, sends ``ETag`` and
  ``Last-Modified``, answers 404 / 403, can answer 503 a given number of times per object
  (throttling), can add a per-request latency, and logs every request (method, path,
  range) for counting.
- :class:`MotoS3Server`: ``python -m moto.server`` in a subprocess on a free port: real S3
  on the wire, reached through s3fs with ``endpoint_url``; its access log counts requests.
  Extra environment variables configure it (``INITIAL_NO_AUTH_ACTION_COUNT=0`` makes it
  check credentials).
"""
from __future__ import annotations

import email.utils
import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, List, Optional, Tuple


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

    def log_message(self, fmt, *args):   # the server keeps its own structured log
        pass

    def _lookup(self) -> Optional[bytes]:
        path = self.path.split("?", 1)[0]
        self.server.owner.log.append((self.command, path, self.headers.get("Range")))
        if self.server.owner.latency:
            time.sleep(self.server.owner.latency)
        if path.startswith("/forbidden/"):
            self._reply(403, b"forbidden")
            return None
        if self.server.owner.take_failure(path):
            self._reply(503, b"slow down", {"Retry-After": "0"})
            return None
        data = self.server.owner.objects.get(path)
        if data is None:
            self._reply(404, b"not found")
        return data

    def _validators(self, data: bytes) -> Dict[str, str]:
        """``ETag`` and ``Last-Modified`` of an object (stable: derived from its bytes)."""
        return {"ETag": f'"{hashlib.md5(data).hexdigest()}"',
                "Last-Modified": email.utils.formatdate(self.server.owner.last_modified, usegmt=True)}

    def _reply(self, status: int, body: bytes, headers: Optional[Dict[str, str]] = None, send_body=True):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def do_HEAD(self):
        data = self._lookup()
        if data is not None:
            self._reply(200, data, {"Accept-Ranges": "bytes", **self._validators(data)}, send_body=False)

    def do_GET(self):
        data = self._lookup()
        if data is None:
            return
        rng = self.headers.get("Range")
        if not rng:
            self._reply(200, data, {"Accept-Ranges": "bytes", **self._validators(data)})
            return
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
        if not m or (not m.group(1) and not m.group(2)):
            self._reply(416, b"bad range")
            return
        size = len(data)
        if not m.group(1):                       # suffix: the last N bytes
            start, end = max(0, size - int(m.group(2))), size - 1
        else:
            start = int(m.group(1))
            end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
        if start >= size or start > end:
            self._reply(416, b"", {"Content-Range": f"bytes */{size}"})
            return
        self._reply(206, data[start:end + 1], {"Content-Range": f"bytes {start}-{end}/{size}",
                                               **self._validators(data)})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many clients connect at once (the default backlog is 5)
    owner: "RangeHTTPServer"

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)  # a client closing its idle connection is no error


class RangeHTTPServer:
    """Serve ``objects`` (``{"/path": bytes}``) on 127.0.0.1; ``log`` lists every request.

    ``fail_first[path] = n`` makes the next ``n`` requests for ``path`` answer 503 (as a
    throttling server does); ``last_modified`` is the time every object claims.
    """

    def __init__(self, objects: Dict[str, bytes], latency: float = 0.0):
        self.objects = objects
        self.latency = latency
        self.log: List[Tuple[str, str, Optional[str]]] = []
        self.fail_first: Dict[str, int] = {}
        self.last_modified = 1_700_000_000.0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "RangeHTTPServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def requests_for(self, path: str) -> List[Tuple[str, Optional[str]]]:
        return [(method, rng) for method, p, rng in self.log if p == path]

    def take_failure(self, path: str) -> bool:
        """Whether this request for ``path`` is one of those told to fail (counts down)."""
        with self._lock:
            left = self.fail_first.get(path, 0)
            if left:
                self.fail_first[path] = left - 1
            return left > 0


class MotoS3Server:
    """A moto S3 server subprocess on a free port; ``requests_for(key)`` reads its access log."""

    def __init__(self, log_path: Path, env: Optional[Dict[str, str]] = None):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = dict(env or {})
        self._proc: Optional[subprocess.Popen] = None

    def __enter__(self) -> "MotoS3Server":
        env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", **self.env)
        self._log = open(self.log_path, "wb")
        self._proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                      stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1).read()
                return self
            except Exception:
                if self._proc.poll() is not None:
                    raise RuntimeError("moto server exited: " + self.log_path.read_text())
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("moto server did not start in 30 s")

    def __exit__(self, *exc) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()

    @property
    def storage_options(self) -> dict:
        return {"key": "testing", "secret": "testing", "client_kwargs": {"endpoint_url": self.endpoint,
                                                                         "region_name": "eu-west-1"}}

    def requests_for(self, bucket: str, key: str) -> List[str]:
        """Methods of the requests the server logged for one object (werkzeug access log)."""
        self._log.flush()
        pattern = re.compile(r'"(GET|HEAD|PUT|POST) /' + re.escape(f"{bucket}/{key}") + r'(\?[^ ]*)? HTTP')
        text = re.sub(r"\x1b\[[0-9;]*m", "", self.log_path.read_text(errors="replace"))   # werkzeug colours
        return [m.group(1) for m in pattern.finditer(text)]
