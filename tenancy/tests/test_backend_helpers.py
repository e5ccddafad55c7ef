import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenancy.context import tenant_context
from tenancy.db.postgresql.base import names_scoped_table
from tenancy.resolution import TenantResolutionError, requested_slug
from tenancy.selectors import get_tenant_setting


def test_names_scoped_table_finds_quoted_and_bare_names():
    assert names_scoped_table('SELECT * FROM "tenancy_tenantsetting" WHERE id = 1')
    assert names_scoped_table("delete from TENANCY_TENANTSETTING")
    assert not names_scoped_table('SELECT * FROM "tenancy_tenant" WHERE slug = %s')
    assert not names_scoped_table('SELECT * FROM "auth_user"')


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
def test_get_tenant_setting_reads_current_tenant(settings_ab, tenant_a, tenant_b):
    with tenant_context(tenant_a):
        assert get_tenant_setting("session.policy") == {"level": "high"}
        assert get_tenant_setting("missing.key", 7) == 7
    with tenant_context(tenant_b):
        assert get_tenant_setting("session.policy") == {"level": "critical"}


def test_names_scoped_table_same_answer_when_remembered_or_too_long_to_remember():
    from tenancy.db.postgresql import base

    scoped = 'SELECT * FROM "tenancy_tenantsetting" WHERE id = %s'
    plain = 'SELECT * FROM "auth_user" WHERE id = %s'
    for _ in range(2):  # the second time from the cache
        assert names_scoped_table(scoped) and not names_scoped_table(plain)
    padding = " " * base.CACHED_SQL_CHARS
    assert names_scoped_table(plain + padding + "JOIN tenancy_tenantsetting ON true")
    assert not names_scoped_table(plain + padding)
