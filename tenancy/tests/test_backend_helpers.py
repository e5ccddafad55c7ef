import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenancy.context import tenant_context
from tenancy.resolution import TenantResolutionError, requested_slug
from tenancy.selectors import get_tenant_setting


class _Request:
    def __init__(self, header=None, query=None):
        self.META = {} if header is None else {"HTTP_X_TENANT": header}
        self.GET = {} if query is None else {"tenant": query}


@given(st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z"))
def test_requested_slug_accepts_every_valid_slug(slug):
    assert requested_slug(_Request(header=slug)) == slug


@given(st.text(max_size=100))
def test_requested_slug_refuses_anything_else_with_400(raw):
    try:
        slug = requested_slug(_Request(query=raw))
    except TenantResolutionError as exc:
        assert exc.status == 400 and exc.code == "invalid_tenant"
    else:
        assert slug == raw.strip() and 1 <= len(slug) <= 63


@pytest.mark.django_db
def test_get_tenant_setting_reads_current_tenant(overlapping_settings, tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha):
        assert get_tenant_setting("session.policy") == {"level": "high"}
        assert get_tenant_setting("missing.key", 7) == 7
    with tenant_context(tenant_beta):
        assert get_tenant_setting("session.policy") == {"level": "critical"}
