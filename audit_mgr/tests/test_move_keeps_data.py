"""Moving the audit log from security_mgr to audit_mgr changed Django's state only: a
database holding entries, nodes and signed heads before the move verifies after it,
with the same entries and the same tree heads.

Runs `manage.py` in subprocesses against a scratch database (tests/scratch_database.py):
migrations as the owner, appends as the runtime role, exactly as a deployment does."""

import json

import pytest

from tests.markers import postgres_only
from tests.scratch_database import applied
from tests.scratch_database import manage as _manage

BEFORE_MOVE = [("security_mgr", "0013_rewrap_jobs_to_jobs_mgr"), ("audit_mgr", None)]

# Two tenants with entries and signed heads, and a snapshot of every log: what is
# compared before and after the move.
APPEND = """
import audit_mgr as audit
from tenancy.context import tenant_context
from tenancy.models import Tenant

for slug, count in (("move-a", 7), ("move-b", 12)):
    tenant = Tenant.objects.create(slug=slug, name=slug)
    with tenant_context(tenant):
        audit.append_many([("test.before_move", {"i": i}) for i in range(count)])
        audit.sign_tree_head()
        audit.append("test.unsigned_tail", {"slug": slug})
        audit.sign_tree_head()
audit.append("test.platform", {}, log=audit.platform_log())
"""
SNAPSHOT = """
import json
import audit_mgr as audit
from tenancy.context import no_tenant, tenant_context
from tenancy.models import Tenant

def heads(log):
    return [(h.tree_size, bytes(h.root_hash).hex(), h.key_id) for h in log.heads()]

def entries(log):
    return [(e.seq, e.event, bytes(e.leaf_hash).hex()) for e in log.entries().order_by("seq")]

snapshot = {}
for tenant in Tenant.objects.order_by("slug"):
    with tenant_context(tenant):
        log = audit.tenant_log()
        snapshot[tenant.slug] = {"entries": entries(log), "heads": heads(log)}
with no_tenant():
    log = audit.platform_log()
    snapshot["(platform)"] = {"entries": entries(log), "heads": heads(log)}
print(json.dumps(snapshot))
"""


def _verified(db) -> dict:
    reports = json.loads(_manage(db["runtime"], db["role"], "verify_audit", "--json"))
    assert all(report["ok"] for report in reports), reports
    return {report["log"]: report["entries"] for report in reports}


def _applied(db) -> set:
    return applied(db["owner"], ("security_mgr", "audit_mgr"))


@postgres_only("the move is tested on a PostgreSQL database with row-level security")
@pytest.mark.postgres
def test_moving_the_audit_log_to_audit_mgr_keeps_every_entry_and_tree_head(scratch_database):
    db = scratch_database
    # A fresh database migrates to the latest state; then back to the state before the
    # move: security_mgr at its last migration that owned the log, audit_mgr unapplied.
    _manage(db["owner"], db["role"], "migrate", "--no-input", "-v", "0")
    _manage(db["owner"], db["role"], "migrate", "audit_mgr", "zero", "--no-input", "-v", "0")
    applied = _applied(db)
    assert ("security_mgr", "0013_rewrap_jobs_to_jobs_mgr") in applied
    assert not {row for row in applied if row[0] == "audit_mgr" or row[1].startswith("0014")}

    _manage(db["runtime"], db["role"], "shell", "--no-imports", "-c", APPEND)
    before_counts = _verified(db)
    before = json.loads(_manage(db["runtime"], db["role"], "shell", "--no-imports", "-c", SNAPSHOT))
    # The platform log: each tenant's key ring (`key.ring_created`) and the test's entry.
    assert before_counts == {"move-a": 8, "move-b": 13, "(platform)": 3}
    assert [len(before[slug]["heads"]) for slug in ("move-a", "move-b")] == [2, 2]

    _manage(db["owner"], db["role"], "migrate", "--no-input", "-v", "0")
    applied = _applied(db)
    assert ("audit_mgr", "0001_initial") in applied
    assert ("security_mgr", "0014_audit_log_to_audit_mgr") in applied

    assert _verified(db) == before_counts
    after = json.loads(_manage(db["runtime"], db["role"], "shell", "--no-imports", "-c", SNAPSHOT))
    assert after == before
