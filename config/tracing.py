"""OpenTelemetry tracing (issue 18): Django, Celery, psycopg and Redis, exported over
OTLP/HTTP to any collector (Jaeger included), only when OTEL_EXPORTER_OTLP_ENDPOINT is
set. The standard OTEL_* variables configure the exporter (headers, timeout) and the
resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES).

- The tenant is an attribute of every span: `dim.tenant.id` (and `dim.tenant.slug` when
  known) for spans started inside a tenant's context, `dim.platform_access` inside the
  audited escape hatch. The request's own span starts before the tenant is resolved:
  the instrumentation's response hook tags it from `request.tenant`, and the worker's
  task span is tagged from the message's tenant header when the task starts.
- A trace continues from a request into the tasks it sends: Celery's instrumentation
  carries the context in the message headers (beside our tenant header and its proof).

Web processes call `configure("dim-web")` before the application loads its middleware
(config/asgi.py, config/wsgi.py); Celery's prefork children call it after the fork
(config/celery.py), since the exporter's thread does not survive one.
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

TENANT_ID = "dim.tenant.id"
TENANT_SLUG = "dim.tenant.slug"
PLATFORM_ACCESS = "dim.platform_access"
_state: dict = {"provider": None}


def enabled() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip())


def _tenant_attributes() -> dict:
    from tenancy.context import PlatformAccess, current_state

    state = current_state()
    if isinstance(state, PlatformAccess):
        return {PLATFORM_ACCESS: True}
    if state is None:
        return {}
    attributes = {TENANT_ID: state.id}
    if state.slug:
        attributes[TENANT_SLUG] = state.slug
    return attributes


class TenantSpanProcessor(SpanProcessor):
    """Tags each span with the tenant in context when it starts."""

    def on_start(self, span, parent_context=None) -> None:
        for key, value in _tenant_attributes().items():
            span.set_attribute(key, value)


def _tag_request_span(span, request, response) -> None:
    """The Django instrumentation's response hook: the request's span starts before the
    tenant is resolved (by TenantContextMiddleware, or by the API view for bearer
    tokens); both leave it on the request."""
    tenant = getattr(request, "tenant", None)
    if tenant is not None and span.is_recording():
        span.set_attribute(TENANT_ID, tenant.pk)
        span.set_attribute(TENANT_SLUG, tenant.slug)


def _tag_task_span(task=None, **kwargs) -> None:
    """task_prerun, after the Celery instrumentation's: the task's span is current, the
    tenant is still only in the message (TenantAwareTask enters it in __call__)."""
    from tenancy.celery_guard import TENANT_HEADER

    span = trace.get_current_span()
    if task is None or not span.is_recording():
        return
    request = task.request
    tenant_id = getattr(request, TENANT_HEADER, None) or (request.headers or {}).get(TENANT_HEADER)
    if tenant_id is not None:
        span.set_attribute(TENANT_ID, int(tenant_id))


def install(processor: SpanProcessor, service_name: str = "dim") -> TracerProvider:
    """Instrument this process and send spans to `processor` (the OTLP batch exporter in
    production, an in-memory one in tests). Idempotent: a second call adds the
    processor to the provider already installed."""
    from celery.signals import task_prerun
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    provider = _state["provider"]
    if provider is None:
        name = os.environ.get("OTEL_SERVICE_NAME", service_name)
        resource = Resource.create({"service.name": name})
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(TenantSpanProcessor())
        trace.set_tracer_provider(provider)
        _state["provider"] = provider
    provider.add_span_processor(processor)
    if not DjangoInstrumentor().is_instrumented_by_opentelemetry:
        # Probes every few seconds would drown the traces.
        DjangoInstrumentor().instrument(
            tracer_provider=provider,
            excluded_urls="healthz,readyz",
            response_hook=_tag_request_span,
        )
    for instrumentor in (CeleryInstrumentor(), PsycopgInstrumentor(), RedisInstrumentor()):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider)
    # After the instrumentation's own task_prerun receiver, so its span is current.
    task_prerun.connect(_tag_task_span, dispatch_uid="config.tracing.tag_task_span", weak=False)
    return provider


def uninstrument() -> None:
    """Undo `install()`'s instrumentation (tests); the provider stays, unused."""
    from celery.signals import task_prerun
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    for instrumentor in (
        DjangoInstrumentor(), CeleryInstrumentor(), PsycopgInstrumentor(), RedisInstrumentor(),
    ):  # fmt: skip
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    task_prerun.disconnect(dispatch_uid="config.tracing.tag_task_span")


def configure(service_name: str) -> bool:
    """Production: the OTLP exporter when OTEL_EXPORTER_OTLP_ENDPOINT is set."""
    if not enabled():
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    install(BatchSpanProcessor(OTLPSpanExporter()), service_name)
    return True
