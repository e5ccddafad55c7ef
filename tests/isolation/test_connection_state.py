"""The tenant context (and, on PostgreSQL, `app.tenant_id`) never leaks into the next
request or task on the same thread and connection: after rollbacks, savepoint
rollbacks, and with Django's connection pool."""

import pytest
from django.db import connection, connections, transaction
from django.db.utils import ConnectionHandler

from tenancy.context import get_current_tenant_id, no_tenant, tenant_context
from tenancy.models import TenantSetting
from tests.markers import ON_POSTGRES, postgres_only
from tests.personas import api_as

needs_postgres = postgres_only("the session setting exists only there")


# Every statement runs with the context's setting; the probes also count the rows they
# can see.
PROBE = (
    "SELECT current_setting('app.tenant_id', true), pg_backend_pid(), "
    "(SELECT count(*) FROM tenancy_tenantsetting)"
)


def _setting():
    with connection.cursor() as cursor:
        cursor.execute(PROBE)
        return cursor.fetchone()[0]


def _visible_settings_raw():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tenancy_tenantsetting")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_request_context_is_cleared_after_request(alpha_owner, overlapping_settings):
    response = api_as(alpha_owner).get("/api/v1/settings/")
    assert response.status_code == 200 and response.json()["count"] == 1
    assert get_current_tenant_id() is None
    with pytest.raises(Exception, match="tenant"):
        list(TenantSetting.objects.all())


@pytest.mark.django_db
def test_request_context_is_cleared_after_an_exception(
    alpha_owner, overlapping_settings, monkeypatch
):
    from tenancy.api import views

    def boom(self, *args, **kwargs):
        raise RuntimeError("view crashed")

    monkeypatch.setattr(views.TenantSettingViewSet, "list", boom)
    client = api_as(alpha_owner)
    client.raise_request_exception = False
    assert client.get("/api/v1/settings/").status_code == 500
    assert get_current_tenant_id() is None


@needs_postgres
@pytest.mark.django_db
def test_next_request_on_same_connection_does_not_inherit_tenant(
    alpha_owner, beta_owner, overlapping_settings
):
    assert api_as(alpha_owner).get("/api/v1/settings/").json()["count"] == 1
    # Same thread, same connection, no context: raw SQL sees nothing of A.
    assert _setting() == ""
    assert _visible_settings_raw() == 0
    body = api_as(beta_owner).get("/api/v1/settings/").json()
    assert [r["value"] for r in body["results"]] == [{"level": "critical"}]


@needs_postgres
@pytest.mark.django_db
def test_savepoint_rollback_does_not_leave_stale_tenant(
    tenant_alpha, tenant_beta, overlapping_settings
):
    with tenant_context(tenant_alpha):
        assert _visible_settings_raw() == 1
        assert _setting() == str(tenant_alpha.pk)
    try:
        with transaction.atomic():
            with tenant_context(tenant_beta):
                assert _setting() == str(tenant_beta.pk)  # set inside the savepoint
                raise RuntimeError("roll the savepoint back")
    except RuntimeError:
        pass
    # PostgreSQL reverted the setting with the savepoint; the backend must know that.
    with tenant_context(tenant_beta):
        assert _setting() == str(tenant_beta.pk)
        value = TenantSetting.objects.get().value
        assert value == {"level": "critical"}
    with no_tenant():
        assert _visible_settings_raw() == 0


@needs_postgres
@pytest.mark.django_db
def test_request_costs_no_round_trip_for_its_context_switches(alpha_owner, overlapping_settings):
    client = api_as(alpha_owner)
    assert client.get("/api/v1/settings/").status_code == 200  # connection now carries A
    trips, sends = connection.tenant_setting_round_trips, connection.tenant_setting_sends
    assert client.get("/api/v1/settings/").json()["count"] == 1
    # Authentication runs with no tenant (the setting is cleared), the view in A's: two
    # switches, each riding in the same round trip as its statement.
    assert connection.tenant_setting_sends == sends + 2
    assert connection.tenant_setting_round_trips == trips
    with no_tenant():
        assert _visible_settings_raw() == 0
    assert connection.tenant_setting_sends == sends + 3
    assert connection.tenant_setting_round_trips == trips


@needs_postgres
@pytest.mark.django_db
def test_context_sends_nothing_when_connection_already_carries_it(
    tenant_alpha, overlapping_settings
):
    with tenant_context(tenant_alpha):
        list(TenantSetting.objects.all())
        before = connection.tenant_setting_sends
        for _ in range(5):
            list(TenantSetting.objects.all())
        assert connection.tenant_setting_sends == before
    with no_tenant():
        _visible_settings_raw()
        assert connection.tenant_setting_sends == before + 1
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # names no scoped table: still no tenant, no send
        assert connection.tenant_setting_sends == before + 1


@pytest.fixture
def pooled_alias(django_db_blocker):
    """A second alias on the same database with Django's pool (one connection)."""
    assert ON_POSTGRES, "Django's pool is a psycopg 3 feature: mark the test postgres_only"
    cfg = {**connections.settings["default"]}
    cfg["OPTIONS"] = {**cfg.get("OPTIONS", {}), "pool": {"min_size": 1, "max_size": 1}}
    cfg["CONN_MAX_AGE"] = 0
    # Its own alias: Django keys pools by alias, and "default" may have a pool already.
    handler = ConnectionHandler({"default": connections.settings["default"], "pool_probe": cfg})
    with django_db_blocker.unblock():
        wrapper = handler["pool_probe"]
        yield wrapper
        wrapper.close()
        wrapper.close_pool()


def _pooled_setting(wrapper):
    with wrapper.cursor() as cursor:
        cursor.execute(PROBE)
        return cursor.fetchone()[:2]


@needs_postgres
def test_pool_returns_connection_without_tenant_to_next_user(pooled_alias, django_db_blocker):
    from tenancy.context import TenantRef

    tenant = TenantRef(id=424242, slug="pool-probe")
    with tenant_context(tenant):
        setting, pid = _pooled_setting(pooled_alias)
        assert setting == "424242"
    pooled_alias.close()  # back to the pool, still carrying 424242 server-side
    with no_tenant():
        setting, pid_again = _pooled_setting(pooled_alias)
    assert pid_again == pid, "the pool should hand back the same physical connection"
    assert setting == ""
    pooled_alias.close()
    # Same tenant on the next checkout: the state remembered on the physical connection
    # spares the round trip.
    with tenant_context(tenant):
        _pooled_setting(pooled_alias)
        pooled_alias.close()
        before = pooled_alias.tenant_setting_sends
        _pooled_setting(pooled_alias)
        assert pooled_alias.tenant_setting_sends == before


@needs_postgres
@pytest.mark.django_db
def test_stream_and_copy_send_the_setting_too(tenant_alpha, tenant_beta, overlapping_settings):
    sql = "SELECT key FROM tenancy_tenantsetting"
    with tenant_context(tenant_alpha):
        list(TenantSetting.objects.all())  # the connection now carries A
    with no_tenant(), connection.cursor() as cursor:
        assert list(cursor.stream(sql)) == []
        with cursor.copy("COPY tenancy_tenantsetting (key) TO STDOUT") as copy:
            assert [bytes(row) for row in copy] == []
    with tenant_context(tenant_beta), connection.cursor() as cursor:
        assert [r[0] for r in cursor.stream(sql)] == ["session.policy"]  # control
