import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

# Tracing (when OTEL_EXPORTER_OTLP_ENDPOINT is set) before the handler loads middleware.
from django.core.handlers.asgi import ASGIHandler  # noqa: E402

from config.tracing import configure  # noqa: E402

configure("dim-web")
application = ASGIHandler()
