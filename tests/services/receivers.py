"""Real receivers on 127.0.0.1 for delivery tests: HTTP (webhook, SMS gateway) and SMTP."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One HTTP request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int


@dataclass
class HttpReceiver:
    """Answers each POST with the next status of `statuses` (then 200), recording everything."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> int:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            status = self.statuses.pop(0) if self.statuses else 200
            self.requests.append(Received(path, headers, json.loads(raw.decode("utf-8")), status))
        return status

    def acknowledged(self) -> list[str]:
        """Idempotency keys of the requests answered 2xx, in arrival order."""
        with self.lock:
            return [r.headers["Idempotency-Key"] for r in self.requests if 200 <= r.status < 300]


@contextmanager
def http_receiver(statuses: list[int] | None = None, delay: float = 0.0) -> Iterator[HttpReceiver]:
    """An HTTP server in a thread on 127.0.0.1:<free port>."""
    receiver = HttpReceiver(statuses=list(statuses or []), delay=delay)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = receiver.answer(self.path, dict(self.headers.items()), raw)
            body = b'{"ok": true}' if status < 300 else b'{"error": "busy"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/events"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd hook
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[tuple[int, _Inbox]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1, stopped (and its loop closed) afterwards."""
    inbox = _Inbox()
    chosen = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=chosen)
    controller.start()
    try:
        yield chosen, inbox
    finally:
        controller.stop()


def clear_outbox(session: Any) -> None:
    """Hide rows other tests committed (their cases deleted), inside this test's rolled-back transaction."""
    from sqlalchemy import delete

    from app.models import OutboxEvent

    session.execute(delete(OutboxEvent))
    session.commit()  # releases the savepoint only; the outer transaction is rolled back after the test
