"""An attacker with SQL injection inside tenant A (classes 1, 3 and 4 of issue 9).

The runtime role may run any SQL it likes on its connection; it still must not reach
tenant B. Every attack has a positive control (the same statement's honest form works),
and `test_selftest_sql.py` shows that the checks fail with the proof check switched off.
"""

import threading
import time

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.db.utils import ConnectionHandler

from tenancy.context import no_tenant, tenant_context
from tenancy.db import proof
from tenancy.models import TenantSetting
from tests.markers import postgres_only

pytestmark = [postgres_only("the database-side tenant proof"), pytest.mark.django_db]

TABLE = TenantSetting._meta.db_table


def rows(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def visible_tenants():
    return sorted({t for (t,) in rows(f"SELECT tenant_id FROM {TABLE}")})


def attack_then_read(attack_sql, params=None):
    """Run the attack in its own savepoint (errors are the attack failing) and return
    the tenants the next plain read sees."""
    try:
        with transaction.atomic():
            rows(attack_sql, params)
    except DatabaseError:
        pass
    return visible_tenants()


def current_proof():
    return rows("SELECT current_setting('app.tenant_proof', true)")[0][0]


# --- class 1: the runtime role cannot switch tenant by itself --------------------------


@pytest.mark.parametrize(
    "attack",
    [
        "SELECT set_config('app.tenant_id', %(b)s, false)",
        "SELECT set_config('app.tenant_id', %(b)s, true)",
        "SELECT set_config('app.tenant_id', '*', false)",
    ],
    ids=["set_config", "set_config_local", "platform_claim"],
)
def check_claim_switch(attack, world):
    a, b = world.tenant_alpha.pk, world.tenant_beta.pk
    with tenant_context(world.tenant_alpha):
        assert visible_tenants() == [a]  # positive control
        seen = attack_then_read(attack, {"b": str(b)})
    assert b not in seen
    with tenant_context(world.tenant_beta):
        assert visible_tenants() == [b]  # the next user of the connection is unaffected


test_forged_claim_switch_sees_nothing_of_b = check_claim_switch


def test_set_statement_switch_sees_nothing_of_b(world):
    a, b = world.tenant_alpha.pk, world.tenant_beta.pk
    with tenant_context(world.tenant_alpha):
        seen = attack_then_read(f"SET app.tenant_id = '{b}'")
    # The attacker's own connection fails closed (its proof no longer matches)...
    assert seen == []
    # ...until the next request, which starts outside any context and re-sends.
    with no_tenant():
        assert visible_tenants() == []
    assert visible_tenants_in(world.tenant_alpha) == [a]
    assert visible_tenants_in(world.tenant_beta) == [b]


def visible_tenants_in(tenant):
    with tenant_context(tenant):
        return visible_tenants()


def test_set_role_to_a_privileged_role_is_refused(world):
    with tenant_context(world.tenant_alpha):
        for role in ("dim_platform", "dim_owner", "postgres"):
            with pytest.raises(DatabaseError), transaction.atomic():
                rows(f'SET ROLE "{role}"')
        assert rows("SELECT current_user")[0][0] == connection.settings_dict["USER"]
        assert (
            rows(
                "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
                "WHERE r.rolname = current_user"
            )[0][0]
            == 0
        )


def test_proof_replayed_on_another_connection_sees_nothing(world, django_db_blocker):
    """A's valid proof, read on this connection, is worthless on another one (its pid)."""
    a = world.tenant_alpha.pk
    with tenant_context(world.tenant_alpha):
        stolen = current_proof()
        assert visible_tenants() == [a]
    handler = ConnectionHandler({"default": connection.settings_dict, "other": _no_pool()})
    other = handler["other"]
    try:
        with django_db_blocker.unblock(), other.cursor() as cursor:
            raw = other.connection
            with psycopg.Cursor(raw) as plain:  # bypass our cursor: the attacker's SQL
                plain.execute(
                    "SELECT set_config('app.tenant_id', %s, false), "
                    "set_config('app.tenant_proof', %s, false)",
                    [str(a), stolen],
                )
                plain.execute("SELECT public.dim_context_tenants()")
                assert plain.fetchone()[0] is None
                # Positive control: the proof computed for *this* connection works.
                pid, port = raw.execute(
                    "SELECT pg_backend_pid(), coalesce(inet_client_port(), 0)"
                ).fetchone()
                plain.execute(
                    "SELECT set_config('app.tenant_proof', %s, false)",
                    [proof.proof(str(a), pid, port)],
                )
                plain.execute("SELECT public.dim_context_tenants()")
                assert plain.fetchone()[0] == [a]
            del cursor
    finally:
        other.close()


def _no_pool():
    cfg = {**connection.settings_dict}
    cfg["OPTIONS"] = {k: v for k, v in cfg.get("OPTIONS", {}).items() if k != "pool"}
    cfg["CONN_MAX_AGE"] = 0
    return cfg


def test_key_and_function_are_out_of_reach(world):
    with tenant_context(world.tenant_alpha):
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
            rows("SELECT ipad FROM dim_context_key")
        with pytest.raises(DatabaseError), transaction.atomic():
            rows(
                "CREATE OR REPLACE FUNCTION public.dim_context_tenants() RETURNS bigint[] "
                "LANGUAGE sql AS 'SELECT NULL::bigint[]'"
            )
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
            rows("CREATE TEMP VIEW tenancy_tenantsetting AS SELECT 1")


# --- class 3: statements that do not name a scoped table --------------------------------


def test_statements_without_a_table_name_run_with_the_contexts_claim(world):
    a, b = world.tenant_alpha.pk, world.tenant_beta.pk
    xml = (
        "SELECT query_to_xml('SELECT tenant_id FROM tenancy_' || 'tenantsetting', "
        "false, false, '')::text"
    )
    with tenant_context(world.tenant_beta):
        visible_tenants()  # the connection carries B
    with tenant_context(world.tenant_alpha):
        assert f"<tenant_id>{a}</tenant_id>" in rows(xml)[0][0]
        assert f"<tenant_id>{b}</tenant_id>" not in rows(xml)[0][0]
    with no_tenant():
        assert "<tenant_id>" not in rows(xml)[0][0]  # outside a context: nothing


def test_prepared_in_one_context_executed_in_another(world):
    a, b = world.tenant_alpha.pk, world.tenant_beta.pk
    with tenant_context(world.tenant_alpha):
        rows(f"PREPARE dim_probe AS SELECT tenant_id FROM {TABLE}")
        assert {t for (t,) in rows("EXECUTE dim_probe")} == {a}
    with tenant_context(world.tenant_beta):
        assert {t for (t,) in rows("EXECUTE dim_probe")} == {b}
    with no_tenant():
        assert rows("EXECUTE dim_probe") == []
    rows("DEALLOCATE dim_probe")


def test_cursor_declared_in_one_context_fetched_in_another(world):
    a = world.tenant_alpha.pk
    with tenant_context(world.tenant_alpha), transaction.atomic():
        rows(f"DECLARE dim_cur1 CURSOR FOR SELECT tenant_id FROM {TABLE}")
        assert {t for (t,) in rows("FETCH ALL FROM dim_cur1")} == {a}
        rows("CLOSE dim_cur1")
    quoted = 'U&"tenancy\\005ftenantsetting"'  # the table's name spelled with an escape
    with tenant_context(world.tenant_beta), transaction.atomic():
        rows(f"DECLARE dim_cur2 CURSOR FOR SELECT tenant_id FROM {quoted}")
        with tenant_context(world.tenant_alpha):
            fetched = {t for (t,) in rows("FETCH ALL FROM dim_cur2")}
        rows("CLOSE dim_cur2")
    # The policy's sub-select runs at the first FETCH, under the claim of that moment:
    # code in A's context sees A's rows at most, never B's.
    assert fetched <= {a}


# --- class 4: pg_stat_activity shows statements, never values ---------------------------


def test_other_sessions_values_are_not_visible(world, django_db_blocker):
    secret = "s3cr3t-value-of-tenant-a"
    handler = ConnectionHandler({"default": connection.settings_dict, "victim": _no_pool()})
    victim = handler["victim"]
    done = threading.Event()
    errors = []

    def run_victim():
        try:
            with tenant_context(world.tenant_alpha), victim.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(1.5), %s::text", [secret])
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            done.set()

    with django_db_blocker.unblock():
        victim.ensure_connection()
    victim.inc_thread_sharing()
    thread = threading.Thread(target=run_victim)
    thread.start()
    try:
        seen = []
        deadline = time.monotonic() + 5
        while not done.is_set() and time.monotonic() < deadline:
            rows("SELECT pg_stat_clear_snapshot()")  # else cached for the transaction
            seen += rows(
                "SELECT coalesce(query, ''), coalesce(application_name, '') "
                "FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            )
            if any("pg_sleep" in q for q, _app in seen):
                break
            time.sleep(0.05)
        assert any("pg_sleep" in q for q, _app in seen), ("victim not seen", errors)
        text = repr(seen)
        assert secret not in text
        assert "$1" in text  # the value travels apart from the text
    finally:
        thread.join()
        victim.dec_thread_sharing()
        victim.close()
    with tenant_context(world.tenant_alpha):
        proof_value = current_proof()
    assert proof_value and proof_value not in text
