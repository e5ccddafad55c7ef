"""The two security-event models become one (issue 11): a database holding events in
both security_mgr's and sessions_mgr's tables before the migrations holds each of them
once after, in audit_mgr.SecurityEvent, in its tenant, with its time and details; the
threat detector's rows keep their ids; an anomaly written to both tables becomes one
event; the session manager's table is gone; and new events are recorded on top.

Runs `manage.py` in subprocesses against a scratch database (tests/scratch_database.py):
migrations as the owner, writes and reads as the runtime role under row-level
security. The old rows are written with SQL, as the old code wrote them: their models
no longer exist."""

import json

import pytest

from tests.markers import postgres_only
from tests.scratch_database import applied, manage

APPS = ("audit_mgr", "security_mgr", "sessions_mgr")
# Before: alpha has a brute force, an anomaly recorded by both features (the twin names
# the session in its details), an anomaly only the session manager recorded, and a
# token presented for beta; beta a forged token and a binding mismatch.
BEFORE = """
import json
from django.db import connection
from tenancy.context import tenant_context
from tenancy.models import Tenant

T0 = "2026-01-02T03:04:05+00:00"
THREAT = ("INSERT INTO security_mgr_securityevent (tenant_id, type, severity, actor, source, "
          "details, action, created_at) VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, "
          "%s::timestamptz + %s * interval '1 second') RETURNING id")
SESSION = ("INSERT INTO sessions_mgr_securityevent (tenant_id, kind, session_id_ref, "
           "user_id_ref, score, action, details, created_at) VALUES (%s, %s, %s, %s, %s, "
           "%s, %s::jsonb, %s::timestamptz + %s * interval '1 second')")
ids = {}
alpha = Tenant.objects.create(slug="ev-alpha", name="alpha")
beta = Tenant.objects.create(slug="ev-beta", name="beta")
with tenant_context(alpha), connection.cursor() as c:
    c.execute(THREAT, [alpha.pk, "brute_force", "high", "mallory", "192.0.2.7",
                       json.dumps({"failures_ip": 21}), "temporary_block", T0, 0])
    ids["alpha_brute"] = c.fetchone()[0]
    c.execute(THREAT, [alpha.pk, "session_anomaly", "high", "alice", "198.51.100.4",
                       json.dumps({"severity": "high", "session": "s1", "score": 0.91,
                                   "drivers": ["ips"]}), "revoke_sessions", T0, 10])
    ids["alpha_anomaly"] = c.fetchone()[0]
    c.execute(SESSION, [alpha.pk, "anomaly", "s1", 7, 0.9123, "revoke",
                        json.dumps({"drivers": ["ips"], "model_version": "v3"}), T0, 10])
    c.execute(SESSION, [alpha.pk, "anomaly", "s3", 8, 0.75, "step_up",
                        json.dumps({"drivers": [], "model_version": "v3"}), T0, 20])
    c.execute(SESSION, [alpha.pk, "wrong_tenant", "s2", None, None, "",
                        json.dumps({"presented_for_tenant": beta.pk, "ip": "203.0.113.9"}),
                        T0, 30])
with tenant_context(beta), connection.cursor() as c:
    c.execute(THREAT, [beta.pk, "forged_tokens", "high", "", "192.0.2.99",
                       json.dumps({"refused": 50}), "throttle_tokens", T0, 40])
    ids["beta_forged"] = c.fetchone()[0]
    c.execute(SESSION, [beta.pk, "binding", "s9", 9, None, "",
                        json.dumps({"ip": "192.0.2.50"}), T0, 50])
print(json.dumps(ids))
"""

# After: every tenant's events as its own staff reads them (runtime role, RLS), and a
# new event recorded through the one write path on top of the migrated rows.
AFTER = """
import json
import audit_mgr as audit
from audit_mgr.models import SecurityEvent
from tenancy.context import tenant_context
from tenancy.models import Tenant

FIELDS = ["id", "type", "severity", "actor", "source", "session_id_ref", "user_id_ref",
          "score", "details", "action", "created_at"]
seen = {}
for tenant in Tenant.objects.filter(slug__startswith="ev-").order_by("slug"):
    with tenant_context(tenant):
        seen[tenant.slug] = [
            {**row, "created_at": row["created_at"].isoformat()}
            for row in SecurityEvent.objects.order_by("created_at", "id").values(*FIELDS)
        ]
with tenant_context(Tenant.objects.get(slug="ev-alpha")):
    audit.record_security_event("brute_force", "high", actor="eve", source="192.0.2.8",
                                details={"n": 1}, action="temporary_block")
    new = SecurityEvent.objects.get(actor="eve")
    seen["new_id"] = new.pk
    seen["alpha_count_after_new"] = SecurityEvent.objects.count()
print(json.dumps(seen))
"""


def _at(seconds: int) -> str:
    return f"2026-01-02T03:04:{5 + seconds:02d}+00:00"


@postgres_only("the migration is tested on a PostgreSQL database with row-level security")
@pytest.mark.postgres
def test_both_security_event_tables_become_audit_mgrs_one_model(scratch_database):
    db = scratch_database
    manage(db["owner"], db["role"], "migrate", "--no-input", "-v", "0")
    # Back to the state before: both old models, the security one without the new columns.
    manage(db["owner"], db["role"], "migrate", "audit_mgr", "0001", "--no-input", "-v", "0")
    manage(db["owner"], db["role"], "migrate", "security_mgr", "0014", "--no-input", "-v", "0")
    before = applied(db["owner"], APPS)
    assert ("sessions_mgr", "0003_internal_session_state") in before
    assert not before & {
        ("audit_mgr", "0002_securityevent"),
        ("security_mgr", "0015_securityevent_session_columns"),
        ("sessions_mgr", "0004_security_events_to_audit_mgr"),
    }

    ids = json.loads(manage(db["runtime"], db["role"], "shell", "--no-imports", "-c", BEFORE))
    manage(db["owner"], db["role"], "migrate", "--no-input", "-v", "0")
    after = applied(db["owner"], APPS)
    assert {
        ("security_mgr", "0016_securityevent_to_audit_mgr"),
        ("audit_mgr", "0002_securityevent"),
        ("sessions_mgr", "0004_security_events_to_audit_mgr"),
    } <= after

    seen = json.loads(manage(db["runtime"], db["role"], "shell", "--no-imports", "-c", AFTER))
    alpha, beta = seen["ev-alpha"], seen["ev-beta"]
    rows = [
        (e["type"], e["severity"], e["source"], e["session_id_ref"], e["user_id_ref"], e["action"])
        for e in alpha
    ]
    assert rows == [
        ("brute_force", "high", "192.0.2.7", "", None, "temporary_block"),
        ("session_anomaly", "high", "198.51.100.4", "s1", 7, "revoke_sessions"),
        ("session_anomaly", "medium", "", "s3", 8, "step_up"),
        ("wrong_tenant", "high", "203.0.113.9", "s2", None, ""),
    ]
    brute, twin, lone, wrong = alpha
    # The threat detector's rows keep their ids (the events API's URLs stay valid).
    assert (brute["id"], twin["id"]) == (ids["alpha_brute"], ids["alpha_anomaly"])
    assert [e["created_at"] for e in alpha] == [_at(0), _at(10), _at(20), _at(30)]
    # One event for the anomaly both features recorded: the threat detector's row with
    # the session manager's references, score and model version.
    assert twin["score"] == 0.9123 and twin["actor"] == "alice"
    assert twin["details"] == {"severity": "high", "drivers": ["ips"], "model_version": "v3"}
    assert lone["score"] == 0.75 and lone["details"]["model_version"] == "v3"
    assert wrong["details"]["ip"] == "203.0.113.9"
    # Beta's rows in beta only, in their own tenant.
    assert [(e["id"], e["type"]) for e in beta][0] == (ids["beta_forged"], "forged_tokens")
    assert [(e["type"], e["severity"], e["session_id_ref"], e["created_at"]) for e in beta[1:]] == [
        ("device_binding", "medium", "s9", _at(50))
    ]
    # New events go on top: a fresh id past every migrated one.
    assert seen["new_id"] > max(e["id"] for e in alpha + beta)
    assert seen["alpha_count_after_new"] == 5

    import psycopg

    with psycopg.connect(db["owner"]) as conn:
        gone = conn.execute("SELECT to_regclass('sessions_mgr_securityevent')").fetchone()[0]
    assert gone is None
