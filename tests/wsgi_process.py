"""The project's WSGI application on a threaded stdlib server, for tests that need a
real server process with an environment of their own (`tests/outages.py`):

    python -m tests.wsgi_process PORT      (settings from DJANGO_SETTINGS_MODULE)
"""

from __future__ import annotations

import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    server = make_server(
        "127.0.0.1", int(sys.argv[1]), app, server_class=ThreadingServer, handler_class=QuietHandler
    )
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
