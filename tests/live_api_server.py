"""The project's WSGI application served for schemathesis (tests/test_api_schemathesis.py):

    python -m tests.live_api_server      (DJANGO_SETTINGS_MODULE=tests.live_api_settings)

Loads the demo data (`seed_demo`: tenants acme, globex and initech, their owners and
viewers, an admin and a user in all three), relaxes threat detection (below), then serves
on an ephemeral port of 127.0.0.1 with Django's own threaded server (that of
`runserver`, without the autoreloader or request log) and prints `listening PORT`.

Threat detection is relaxed in this process only: schemathesis sends thousands of
requests from one address, many with wrong passwords and forged tokens on purpose
(`ignored_auth`) and random ids (404s). Left at the defaults, that address would be
throttled and the peers' sessions revoked for probing within seconds, and the run would
then test nothing but 429s and 401s. The throttles have tests of their own
(security_mgr/tests); 429 stays documented on every operation.
"""

from __future__ import annotations

import os
import sys

RELAXED = 10**6


def relax_threat_detection() -> None:
    from security_mgr import threats

    for key, value in threats.DEFAULT_POLICY.items():
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if numeric and ("threshold" in key or key.endswith("_users")):
            threats.DEFAULT_POLICY[key] = type(value)(RELAXED)
    if "probe_action" in threats.DEFAULT_POLICY:
        threats.DEFAULT_POLICY["probe_action"] = "record"
    threats.forget_policies()


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.live_api_settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)
    relax_threat_detection()
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
    server.set_app(get_wsgi_application())
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
