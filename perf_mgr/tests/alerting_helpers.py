"""Shared pieces of the alerting tests: a webhook receiver on a real socket, rules and
channels made through the validating path."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from perf_mgr.alerting import rules
from perf_mgr.models.alerting import AlertChannel, AlertRule


class Receiver:
    """A local HTTP server thread recording every POST (headers, body); answers
    `status` (200 unless a test changes it)."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def keys(self) -> list[str]:
        return [h["x-dim-idempotency-key"] for h, _b in self.requests]

    def bodies(self) -> list[dict]:
        return [json.loads(b) for _h, b in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def make_rule(**data) -> AlertRule:
    spec = rules.validate_rule({"severity": "warning", **data})
    return AlertRule.objects.create(**vars(spec))


def make_webhook(url: str, **extra) -> AlertChannel:
    return AlertChannel.objects.create(
        **{"name": "hook", "kind": "webhook", "target": url, **extra}
    )
