"""OpenTelemetry (config/tracing.py, issue 18), checked with the SDK's in-memory
exporter: the tenant is an attribute of the spans, and a trace continues from a request
into the Celery task it sends, through a real worker."""

from __future__ import annotations

import uuid

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from config import tracing
from config.celery import app
from tenancy.context import get_current_tenant_id, tenant_context
from tests.committed import committed_tenant
from tests.personas import api_as


@app.task(name="tests.deploy.traced")
def traced_task():
    with trace.get_tracer("tests").start_as_current_span("inside the task"):
        return get_current_tenant_id()


@pytest.fixture
def spans(monkeypatch):
    exporter = InMemorySpanExporter()
    tracing.install(SimpleSpanProcessor(exporter), "dim-test")
    try:
        yield exporter
    finally:
        tracing.uninstrument()
        exporter.shutdown()  # later spans of this process are dropped, not kept


def test_off_unless_an_endpoint_is_set(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert tracing.configure("dim-web") is False
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "  ")
    assert tracing.enabled() is False


@pytest.mark.django_db
def test_request_spans_carry_the_tenant(spans, alpha_owner, tenant_alpha):
    response = api_as(alpha_owner, tenant_alpha).get("/api/v1/jobs/")
    assert response.status_code == 200, response.content
    finished = spans.get_finished_spans()
    server = [s for s in finished if s.kind is SpanKind.SERVER]
    assert server, [s.name for s in finished]
    assert server[-1].attributes[tracing.TENANT_ID] == tenant_alpha.pk
    assert server[-1].attributes[tracing.TENANT_SLUG] == tenant_alpha.slug
    inner = [s for s in finished if s.kind is not SpanKind.SERVER]
    # Database (psycopg) or Redis spans inside the request, tagged when they started.
    tagged = [s for s in inner if s.attributes.get(tracing.TENANT_ID) == tenant_alpha.pk]
    if inner:
        assert tagged, [(s.name, dict(s.attributes)) for s in inner]


@pytest.mark.django_db
def test_probes_are_not_traced(spans, client):
    assert client.get("/healthz").status_code == 200
    assert not [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """A tenant the worker thread (its own database connection) can see."""
    with committed_tenant(django_db_blocker, f"traced-{uuid.uuid4().hex[:8]}") as tenant:
        yield tenant


def test_a_trace_continues_into_the_task_it_sends(spans, real_worker, committed):
    tenant_alpha = committed
    tracer = trace.get_tracer("tests")
    with tenant_context(tenant_alpha), tracer.start_as_current_span("request") as outer:
        result = traced_task.apply_async()
    assert result.get(timeout=20) == tenant_alpha.pk
    trace_id = outer.get_span_context().trace_id
    finished = spans.get_finished_spans()
    by_kind = {
        kind: [s for s in finished if s.kind is kind and "traced" in s.name]
        for kind in (SpanKind.PRODUCER, SpanKind.CONSUMER)
    }
    assert by_kind[SpanKind.PRODUCER] and by_kind[SpanKind.CONSUMER], [s.name for s in finished]
    for kind, found in by_kind.items():
        assert found[0].context.trace_id == trace_id, kind
        assert found[0].attributes[tracing.TENANT_ID] == tenant_alpha.pk, kind
    body = next(s for s in finished if s.name == "inside the task")
    assert body.context.trace_id == trace_id
    assert body.attributes[tracing.TENANT_ID] == tenant_alpha.pk
