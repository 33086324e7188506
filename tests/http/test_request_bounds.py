"""Every request is bounded before it is trusted: body size and time, header time, client disconnects.

An attacker's view over real HTTP: the real app on uvicorn with the server settings `cxloop serve`
uses (bot/request_bounds.py), a real database and the fake Slack.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from bot.request_bounds import uvicorn_options
from bot.runtime import build_runtime
from bot.web import create_app
from tests.conftest import _TLS, BOT_TOKEN, SIGNING_SECRET, bound_socket, make_config, wait_for

CHUNK = b"x" * 65536
FIFTY_MB = 50 * 1024 * 1024
# What these tests give a slow client (production: bot/request_bounds.py's defaults).
SHORT_SECONDS = 1.0


@pytest.fixture
def bounded(database_url, fake_slack, monkeypatch) -> Iterator[str]:
    """The app served as `cxloop serve` serves it, with short deadlines; → its base URL."""
    from bot.config import Settings

    # uvicorn's own lines reach the test's log capture (as they reach cxloop's handler in production).
    monkeypatch.setattr(logging.getLogger("uvicorn"), "propagate", True)
    monkeypatch.setattr(logging.getLogger("uvicorn.error"), "propagate", True)
    settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_app_token=None,
                        slack_api_url=fake_slack.base_url, database_url=database_url, config_path="(test)",
                        port=0, log_level="INFO")
    runtime = build_runtime(settings, make_config(), bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET,
                            slack_api_url=fake_slack.base_url)
    sock, port = bound_socket()
    server = uvicorn.Server(uvicorn.Config(create_app(runtime, body_timeout=SHORT_SECONDS), host="127.0.0.1",
                                           port=port, log_config=None, log_level="info", lifespan="on",
                                           **uvicorn_options(header_timeout=SHORT_SECONDS)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 10, what="uvicorn to start")
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class PeakRss:
    """The highest resident size of this process (the server runs in it) while the block runs."""

    def __enter__(self) -> PeakRss:
        self.baseline = self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            time.sleep(0.005)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def _read_response(sock: socket.socket, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    return data


def _stream_chunked(address: str, path: str, total: int) -> tuple[bytes, int]:
    """POST `total` bytes chunked (no Content-Length), unsigned, stopping as soon as an answer arrives.
    → (the answer's head, bytes sent before it)."""
    host, port = address.split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sent = 0
    try:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded"
                     f"\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        frame = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
        while sent < total:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable or not writable:
                break
            try:
                sock.sendall(frame)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(CHUNK)
        else:
            sock.sendall(b"0\r\n\r\n")
        return _read_response(sock), sent
    finally:
        sock.close()


@pytest.mark.parametrize("path", ["/slack/events", "/webhooks/generic", "/dashboard", "/sandbox/action", "/"])
def test_an_unsigned_50_mb_chunked_upload_is_refused_at_the_limit_without_buffering(bounded, path):
    with PeakRss() as rss:
        head, sent = _stream_chunked(bounded, path, FIFTY_MB)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    # Refused at the route's limit (1 MB at most), not after the whole upload was read and held.
    assert sent < 8 * 1024 * 1024, f"{sent} bytes were sent before the answer"
    assert rss.growth < 8 * 1024 * 1024, f"the process grew by {rss.growth / 1e6:.1f} MB"


@pytest.mark.parametrize("path", ["/slack/events", "/webhooks/generic"])
def test_a_declared_oversized_body_is_refused_before_any_of_it_is_read(bounded, path):
    host, port = bounded.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {bounded}\r\nContent-Length: {FIFTY_MB}\r\n\r\n".encode())
        assert _read_response(sock).startswith(b"HTTP/1.1 413")


def test_a_body_within_the_limit_still_reaches_the_endpoint(bounded):
    # Unsigned, so refused by the signature check: the body was read and handed on whole.
    response = httpx.post(f"http://{bounded}/webhooks/generic", content=b"{" + b" " * 900_000 + b"}", verify=_TLS)
    assert response.status_code == 401
    assert httpx.post(f"http://{bounded}/webhooks/generic", content=b"x" * 1_000_001, verify=_TLS).status_code == 413


@pytest.mark.parametrize("path", ["/slack/events", "/webhooks/generic"])
def test_a_body_that_stalls_is_answered_408(bounded, path):
    host, port = bounded.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {bounded}\r\nContent-Length: 1000\r\n\r\n".encode() + b"x" * 10)
        assert _read_response(sock).startswith(b"HTTP/1.1 408")


def test_headers_that_never_finish_lose_their_connection(bounded):
    host, port = bounded.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST /slack/events HTTP/1.1\r\nHost: {bounded}\r\n".encode())
        sock.settimeout(10)
        try:
            closed = sock.recv(1024) == b""
        except ConnectionResetError:
            closed = True
        assert closed  # on a server without the header deadline, recv waits (and times out)


def _closed_by_server(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


def test_a_header_trickle_after_a_kept_alive_request_loses_its_connection(bounded):
    host, port = bounded.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {bounded}\r\n\r\n".encode())
        assert _read_response(sock).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
        # One header byte at a time, each well inside the keep-alive timer, which every byte resets.
        deadline = time.monotonic() + 10
        closed = False
        while not closed and time.monotonic() < deadline:
            try:
                sock.sendall(b"x")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.2)
            closed = _closed_by_server(sock)
        assert closed, "the server kept a connection whose headers never finished"


def test_a_client_that_disconnects_mid_body_is_one_log_line_not_a_traceback(bounded, caplog):
    caplog.set_level(logging.INFO)
    host, port = bounded.split(":")
    for path in ("/slack/events", "/webhooks/generic"):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {bounded}\r\nContent-Length: 1000\r\n\r\n".encode()
                         + b"x" * 10)
    wait_for(lambda: sum("client disconnected" in r.getMessage() for r in caplog.records) >= 2,
             what="two disconnect lines")
    time.sleep(0.2)  # anything else those requests would log has been logged by now
    assert not [r for r in caplog.records if r.exc_info or "Exception in ASGI" in r.getMessage()]
