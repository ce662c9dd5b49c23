"""A local SMS gateway answering the statuses a test scripts, and the immediate task backend."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notifications.models import MessageTemplate
from notifications.senders import MemorySmsBackend

IMMEDIATE = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}
}
TOKEN = "gateway-token-7"


@dataclass
class Gateway:
    """Answers each POST with the next scripted status (the last one repeats); records what it got."""

    url: str
    statuses: list[int] = field(default_factory=lambda: [200])
    received: list[dict] = field(default_factory=list)

    def answer(self) -> int:
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]


@pytest.fixture
def gateway(settings) -> Iterator[Gateway]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = Gateway(url=f"http://127.0.0.1:{server.server_port}/send")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            state.received.append(
                {
                    "path": self.path,
                    "authorization": self.headers.get("Authorization"),
                    "json": json.loads(self.rfile.read(length)),
                }
            )
            status = state.answer()
            body = b'{"ok": true}' if status < 400 else b'{"error": "gateway down"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "notifications.senders.HttpSmsBackend"
    settings.SMS_HTTP_URL = state.url
    settings.SMS_HTTP_TOKEN = TOKEN
    settings.SMS_HTTP_TIMEOUT = 5
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def immediate_tasks(settings) -> None:
    settings.TASKS = IMMEDIATE


@pytest.fixture
def memory_sms(settings) -> Iterator[list[dict[str, str]]]:
    settings.SMS_BACKEND = "notifications.senders.MemorySmsBackend"
    MemorySmsBackend.outbox = []
    yield MemorySmsBackend.outbox
    MemorySmsBackend.outbox = []


@pytest.fixture
def templates(db) -> dict[str, MessageTemplate]:
    return {
        "en": MessageTemplate.objects.create(
            key="test.ticket",
            language="en",
            subject="Ticket {number}",
            body="Your ticket {number} is {status}.",
        ),
        "fr": MessageTemplate.objects.create(
            key="test.ticket",
            language="fr",
            subject="Dossier {number}",
            body="Votre dossier {number} est {status}.",
        ),
    }
