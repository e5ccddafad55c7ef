"""The HTTP server of the `sessions.http_validate` row: the bench settings' WSGI app on
a threaded stdlib server (`python -m bench.http_server PORT`), quiet, with a real
session-view listener. The load comes from the bench process."""

from __future__ import annotations

import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: measure the app, not TCP set-up

    def log_message(self, *args):
        pass


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def main() -> None:
    os.environ["SESSION_FASTPATH_LISTENER"] = "1"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    server = make_server(
        "127.0.0.1", int(sys.argv[1]), app, server_class=ThreadingServer, handler_class=QuietHandler
    )
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
