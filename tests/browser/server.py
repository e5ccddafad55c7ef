"""The console's WSGI application over HTTP on an ephemeral port of 127.0.0.1, serving
on the test's own database connection, inside the test's transaction.

pytest-django's `live_server` needs `transactional_db`, whose flush (TRUNCATE) the
runtime role may not run on PostgreSQL, and the append-only audit tables refuse DELETE
anyway. So requests are served one at a time, and tests that read the database while a
page may still be talking to the server hold `LiveConsole.lock`."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.core.signals import request_finished, request_started
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections
from django.test.testcases import QuietWSGIRequestHandler

from tests.browser.driver import WAIT_SECONDS


@dataclass(frozen=True)
class Served:
    """One request the server answered: what the browser asked and the status it got."""

    method: str
    path: str  # with the query string, if any
    status: int


class _SharedConnectionServer(ThreadedWSGIServer):
    def _close_connections(self):
        """The test's transaction owns the connection: leave it open."""


class LiveConsole:
    """The console on the test's database connection, one request at a time. Static files
    come from the finders. Every answer is recorded in `served` (the browser cannot tell
    Selenium a page's status). `answer_favicon` answers the browser's /favicon.ico itself
    (204), for tests that are not about the pages' own links."""

    def __init__(self, *, answer_favicon: bool = True):
        self.lock = threading.RLock()
        self.answer_favicon = answer_favicon
        self.served: list[Served] = []
        self._connection = connections[DEFAULT_DB_ALIAS]
        self._connection.inc_thread_sharing()
        self._handler = StaticFilesHandler(WSGIHandler())
        self.server = _SharedConnectionServer(
            ("127.0.0.1", 0),
            QuietWSGIRequestHandler,
            allow_reuse_address=False,
            connections_override={DEFAULT_DB_ALIAS: self._connection},
        )
        self.server.set_app(self._app)
        self.port = self.server.server_address[1]
        # WebAuthn refuses IP addresses as relying parties: the console is a host name.
        self.url = f"http://localhost:{self.port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="live-console", daemon=True
        )
        self._thread.start()

    def take_served(self) -> list[Served]:
        """The requests answered since the last call."""
        with self.lock:
            served, self.served = self.served, []
        return served

    def _app(self, environ, start_response):
        if self.answer_favicon and environ.get("PATH_INFO") == "/favicon.ico":
            start_response("204 No Content", [])
            return [b""]
        query = environ.get("QUERY_STRING")
        path = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
        method = environ.get("REQUEST_METHOD", "GET")

        def recording_start_response(status, headers, *args):
            self.served.append(Served(method, path, int(status.split(" ", 1)[0])))
            return start_response(status, headers, *args)

        with self.lock:
            # Like the test client: a request must not close the test's connection.
            request_started.disconnect(close_old_connections)
            request_finished.disconnect(close_old_connections)
            try:
                response = self._handler(environ, recording_start_response)
                try:
                    body = b"".join(response)
                finally:
                    if hasattr(response, "close"):
                        response.close()
            finally:
                request_started.connect(close_old_connections)
                request_finished.connect(close_old_connections)
        return [body]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=WAIT_SECONDS)
        self._connection.dec_thread_sharing()
