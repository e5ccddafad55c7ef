"""Schemathesis over our own OpenAPI schema, in-process through the WSGI app: every
generated request, well-formed or not, answers without a 5xx, and every 4xx uses the
one error format. Runs as a tenant owner with data in two tenants.

Schemathesis' pytest plugin does not support pytest 9 yet, so its strategies are driven
by Hypothesis directly: one test per API operation.
"""

import base64

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.wsgi import application
from tests.personas import PASSWORD

SCHEMA = schemathesis.openapi.from_dict(SchemaGenerator(api_version="v1").get_schema(public=True))
SCHEMA.app = application
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
# Documented as not built yet: a 501 in the one error format is their contract until
# then, never any other 5xx. (None now: optimisation landed with issue 15.)
NOT_IMPLEMENTED: set[str] = set()


@pytest.fixture
def keep_test_connection():
    """Calling the WSGI app directly fires request_started/finished, whose handler would
    close the connection holding the test transaction; Django's own test client
    disconnects it the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_api_contract_never_500_and_one_error_format(
    operation, alpha_owner, overlapping_settings, keep_test_connection
):
    token = base64.b64encode(f"{alpha_owner.username}:{PASSWORD}".encode()).decode()

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data):
        case = data.draw(operation.as_strategy())
        response = case.call(headers={"Authorization": f"Basic {token}"})
        allowed = 502 if operation.label in NOT_IMPLEMENTED else 500
        assert response.status_code < allowed, (case.method, case.formatted_path, response.text)
        if 400 <= response.status_code < allowed:
            body = response.json()
            assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body

    run()


def test_openapi_schema_has_no_warnings(tmp_path):
    """Every authenticator and view is described: drf-spectacular warns otherwise (and
    `check --deploy` on the production settings fails on its warnings)."""
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert (tmp_path / "s.yml").read_text().count("basicAuth") >= 1
