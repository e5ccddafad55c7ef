"""Red team after the issue-11 refactor: tenant B against what moved.

The refactor put new seams between the apps (hooks in `tenancy/hooks.py`, key rings
created by an action, typed pub/sub messages, the audit log in `audit_mgr`, one
`client_ip`). Each seam is a place where the tenant could be taken from the wrong
source. These tests play tenant B (its owner `bob`, and `sam`, who is a member of
both tenants) against tenant A's data through each seam, with a positive control
showing that the same call does act in the tenant it belongs to.
"""

from __future__ import annotations

import pytest

from security_mgr import keyring
from security_mgr.actions import do_create_key_ring, rotate_key
from security_mgr.exceptions import KeyRingMissing
from security_mgr.models import KeyRing
from sessions_mgr.actions import do_create_session
from sessions_mgr.messages import MalformedMessage, SessionMessage
from sessions_mgr.models import Session
from tenancy import hooks, membership_cache
from tenancy.celery_guard import TENANT_HEADER
from tenancy.context import no_tenant, tenant_context
from tenancy.exceptions import TenantContextMissing, TenantMismatch
from tests.authenticator import Enrolment
from tests.markers import postgres_only
from tests.personas import api_as, audit_entries
from tests.security_app.models import SecretNote

pytestmark = pytest.mark.django_db


def _session_in(tenant, user):
    with tenant_context(tenant):
        session, _token = do_create_session(tenant_id=tenant.pk, user_id=user.pk)
    return session


def _live(tenant, session) -> bool:
    with tenant_context(tenant):
        return Session.objects.get(pk=session.pk).revoked_at is None


def _ring_version(tenant, subject="") -> int | None:
    with tenant_context(tenant):
        ring = KeyRing.objects.filter(subject=subject).first()
        return None if ring is None else ring.current_version


# --- hooks: the providers act in the tenant in context, and fail closed without one ---


def test_revoke_user_sessions_hook_in_b_leaves_a_sessions(
    tenant_alpha, tenant_beta, member_of_both
):
    in_a, in_b = _session_in(tenant_alpha, member_of_both), _session_in(tenant_beta, member_of_both)
    with tenant_context(tenant_beta):
        assert hooks.revoke_user_sessions.call(member_of_both.pk, "probing") == 1
    assert _live(tenant_alpha, in_a)
    assert not _live(tenant_beta, in_b)  # positive control: B's own session ended


def test_require_user_step_up_hook_in_b_leaves_a_sessions(
    tenant_alpha, tenant_beta, member_of_both
):
    in_a, in_b = _session_in(tenant_alpha, member_of_both), _session_in(tenant_beta, member_of_both)
    with tenant_context(tenant_beta):
        assert hooks.require_user_step_up.call(member_of_both.pk) == 1
    with tenant_context(tenant_alpha):
        assert Session.objects.get(pk=in_a.pk).step_up_required is False
    with tenant_context(tenant_beta):
        assert Session.objects.get(pk=in_b.pk).step_up_required is True


@pytest.mark.parametrize(
    "ask",
    [
        lambda user: hooks.revoke_user_sessions.call(user.pk, "probing"),
        lambda user: hooks.require_user_step_up.call(user.pk),
        lambda user: hooks.has_second_factor.call(user),
    ],
    ids=["revoke_user_sessions", "require_user_step_up", "has_second_factor"],
)
def test_hook_providers_outside_a_tenant_fail_closed(ask, tenant_alpha, alpha_owner):
    session = _session_in(tenant_alpha, alpha_owner)
    Enrolment(alpha_owner, tenant_alpha)
    with no_tenant(), pytest.raises(TenantContextMissing):
        ask(alpha_owner)
    with tenant_context(tenant_alpha):
        current = Session.objects.get(pk=session.pk)
    assert current.revoked_at is None and current.step_up_required is False


def test_second_factor_hooks_in_b_do_not_see_a_authenticator(
    tenant_alpha, tenant_beta, member_of_both
):
    phone = Enrolment(member_of_both, tenant_alpha)
    with tenant_context(tenant_beta):
        assert hooks.has_second_factor.call(member_of_both) is False
        assert not hooks.verify_second_factor.call(member_of_both, phone.totp()).ok
    with tenant_context(tenant_alpha):  # positive control: the same code is good in A
        assert hooks.has_second_factor.call(member_of_both) is True
        assert hooks.verify_second_factor.call(member_of_both, phone.totp()).ok


def test_verify_second_factor_hook_outside_a_tenant_is_never_ok(tenant_alpha, alpha_owner):
    phone = Enrolment(alpha_owner, tenant_alpha)
    with no_tenant():
        try:
            answer = hooks.verify_second_factor.call(alpha_owner, phone.totp())
        except TenantContextMissing:
            answer = None
    assert answer is None or not answer.ok


# --- key rings: created by an action, in the tenant it names and nowhere else ------------


def test_tenant_created_hook_ring_lands_in_the_new_tenant_only(tenant_alpha, tenant_beta):
    from tenancy.models import Tenant
    from tests.personas import as_platform

    before_a, before_b = _ring_version(tenant_alpha), _ring_version(tenant_beta)
    with as_platform():
        gamma = Tenant.objects.create(slug="gamma", name="Gamma", tier="standard")
    assert _ring_version(gamma) == 1
    assert (
        (_ring_version(tenant_alpha), _ring_version(tenant_beta)) == (before_a, before_b) == (1, 1)
    )


def test_subject_ring_of_a_row_naming_a_is_not_created_from_b(tenant_alpha, tenant_beta):
    """The pre_save that creates a subject's ring takes the tenant from the row: a row
    naming tenant A saved in B's context must be refused before that hook runs."""
    with tenant_context(tenant_beta), pytest.raises(TenantMismatch):
        SecretNote(tenant_id=tenant_alpha.pk, owner="mallory", body="x", private="y").save()
    assert _ring_version(tenant_alpha, "owner=mallory") is None
    assert audit_entries(tenant_alpha, "key.ring_created") == []
    with tenant_context(tenant_alpha):  # positive control: A's own save creates A's ring
        SecretNote.objects.create(owner="mallory", body="x", private="y")
    assert _ring_version(tenant_alpha, "owner=mallory") == 1
    assert _ring_version(tenant_beta, "owner=mallory") is None


def test_rotate_key_api_in_b_rotates_only_b_ring(tenant_alpha, tenant_beta, beta_owner):
    response = api_as(beta_owner, tenant_beta).post(
        "/api/v1/security/keys/rotate/", {"reason": "attack"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (_ring_version(tenant_alpha), _ring_version(tenant_beta)) == (1, 2)


def test_rotate_key_api_naming_tenant_a_as_b_owner_is_refused(
    tenant_alpha, tenant_beta, beta_owner
):
    response = api_as(beta_owner, tenant_alpha).post(
        "/api/v1/security/keys/rotate/", {"reason": "attack"}, format="json"
    )
    assert response.status_code in (403, 404)
    assert _ring_version(tenant_alpha) == 1


def test_key_ring_missing_says_the_same_for_a_subject_only_a_has(
    tenant_alpha, tenant_beta, beta_owner
):
    with tenant_context(tenant_alpha):
        do_create_key_ring(tenant_alpha, subject="owner=alice")
    client = api_as(beta_owner, tenant_beta)

    def configure(subject):
        response = client.post(
            "/api/v1/security/keys/config/",
            {"subject": subject, "min_decryption_version": 1},
            format="json",
        )
        return response.status_code, response.json()

    status_a, body_a = configure("owner=alice")
    status_none, body_none = configure("owner=nobody")
    assert status_a == status_none == 400
    assert body_a["error"]["code"] == body_none["error"]["code"] == "key_ring_missing"
    assert str(tenant_alpha.pk) not in str(body_a).replace(f"tenant {tenant_beta.pk}", "")
    assert str(body_a).replace("owner=alice", "X") == str(body_none).replace("owner=nobody", "X")
    with tenant_context(tenant_beta), pytest.raises(KeyRingMissing) as missing:
        keyring.current_version("owner=alice")
    assert f"tenant {tenant_beta.pk} " in str(missing.value)
    assert f"tenant {tenant_alpha.pk} " not in str(missing.value)


def test_rotate_key_in_b_with_a_subject_makes_b_ring_not_touch_a(tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha):
        do_create_key_ring(tenant_alpha, subject="owner=alice")
    with tenant_context(tenant_beta):
        rotate_key(subject="owner=alice", reason="attack")
    assert _ring_version(tenant_alpha, "owner=alice") == 1
    assert _ring_version(tenant_beta, "owner=alice") == 1


# --- the audit API: B's credentials see B's log only --------------------------------------


def test_audit_api_b_admin_sees_no_a_entry(tenant_alpha, tenant_beta, alpha_owner, beta_owner):
    import audit_mgr as audit

    with tenant_context(tenant_alpha):
        for n in range(5):
            audit.append("attack.marker", {"secret": f"alpha-{n}"})
    a_seqs = {e.seq for e in audit_entries(tenant_alpha)}
    b_seqs = {e.seq for e in audit_entries(tenant_beta)}
    only_a = max(a_seqs - b_seqs)
    client = api_as(beta_owner, tenant_beta)
    listing = client.get("/api/v1/security/audit/entries/")
    assert listing.status_code == 200
    assert "alpha-" not in listing.content.decode()
    assert client.get(f"/api/v1/security/audit/entries/{only_a}/").status_code == 404
    inclusion = client.get(f"/api/v1/security/audit/proofs/inclusion/?index={only_a}")
    assert inclusion.status_code == 400  # beyond B's log, although within A's
    # positive control: A's owner reads the entry B could not
    mine = api_as(alpha_owner, tenant_alpha).get(f"/api/v1/security/audit/entries/{only_a}/")
    assert mine.status_code == 200


def test_audit_api_b_owner_naming_tenant_a_is_refused(tenant_alpha, tenant_beta, beta_owner):
    client = api_as(beta_owner, tenant_alpha)
    for path in (
        "/api/v1/security/audit/entries/",
        "/api/v1/security/audit/proofs/inclusion/?index=0",
        "/api/v1/security/audit/verify/",
    ):
        assert client.get(path).status_code in (403, 404), path


# --- the analytics GET: another tenant's session is missing, and reading writes nothing --


def test_session_analytics_get_b_cannot_read_a_session(
    tenant_alpha, tenant_beta, alpha_owner, beta_owner
):
    session_a = _session_in(tenant_alpha, alpha_owner)
    url = f"/api/v1/sessions/{session_a.pk}/analytics/"
    assert api_as(beta_owner, tenant_beta).get(url).status_code == 404
    assert api_as(beta_owner, tenant_alpha).get(url).status_code in (403, 404)
    mine = api_as(alpha_owner, tenant_alpha).get(url)  # positive control
    assert mine.status_code == 200 and "risk_score" in mine.json()


def test_session_analytics_get_writes_no_score(tenant_alpha, alpha_owner):
    session_a = _session_in(tenant_alpha, alpha_owner)
    with tenant_context(tenant_alpha):
        Session.objects.filter(pk=session_a.pk).update(risk_score=0.25)
    url = f"/api/v1/sessions/{session_a.pk}/analytics/"
    response = api_as(alpha_owner, tenant_alpha).get(url)
    assert response.json()["risk_score"] == 0.25
    with tenant_context(tenant_alpha):
        assert Session.objects.get(pk=session_a.pk).risk_score == 0.25
    assert audit_entries(tenant_alpha, "session.anomaly") == []


# --- typed pub/sub messages: strict parsing, and a message names what it drops ---------


@pytest.mark.parametrize(
    "text",
    ["m|+7", "m| 7", "m|7 ", "m|7_0", "m|\u0667", "m|7|", "m|", "M|7", "m", "x|7", "m|7.0"],
)
def test_membership_message_malformed_drops_nothing(text):
    membership_cache._local.update({7: ["alpha"], 8: ["beta"]})
    try:
        assert membership_cache.apply(text) is False
        assert set(membership_cache._local) == {7, 8}
        assert membership_cache.apply("m|7") is True  # positive control
        assert set(membership_cache._local) == {8}
    finally:
        membership_cache._local.clear()


@pytest.mark.parametrize(
    "text",
    [
        "t|+1|5",
        "t|1.0|5",
        "t|1|inf",
        "t|1|nan",
        "t|1",
        "k|1|2",
        "p| 1",
        "r|abc",
        "r|a|b|1",
        "r||1",
        "g|abc|1.5",
        "d|a\nb",
        "z|1",
    ],
)
def test_session_message_from_wire_refuses_malformed(text):
    with pytest.raises(MalformedMessage):
        SessionMessage.from_wire(text)


def test_session_message_cannot_be_built_with_a_separator_in_an_id():
    """A session id holding `|` would shift the fields of the message on the wire (a
    revocation read as something else): refused when built, before it is sent."""
    with pytest.raises(MalformedMessage):
        SessionMessage.revoked("abc|t", 5.0)
    assert SessionMessage.from_wire(SessionMessage.revoked("abc", 5.0).to_wire()).subject == "abc"


# --- Celery: the moved audit tasks are still guarded and tenant-stamped --------------------


def test_audit_tasks_sent_from_b_run_in_b(tenant_alpha, tenant_beta):
    import audit_mgr as audit
    from audit_mgr.tasks import sequence_pending_audit_task, sign_tree_head_task

    with tenant_context(tenant_alpha):
        audit.append("attack.marker", {"n": 1})
    with tenant_context(tenant_beta):
        head = sign_tree_head_task.delay().get()
        sequence_pending_audit_task.delay().get()
    b_size = len(audit_entries(tenant_beta))
    a_size = len(audit_entries(tenant_alpha))
    assert a_size > b_size
    assert head["tree_size"] <= b_size


def test_audit_tasks_naming_another_tenant_are_refused(tenant_alpha, tenant_beta):
    from audit_mgr.tasks import sign_tree_head_task, verify_audit_task

    for task in (sign_tree_head_task, verify_audit_task):
        assert task.name.startswith("audit_mgr.tasks.")
        with tenant_context(tenant_beta), pytest.raises(TenantMismatch):
            task.apply_async(headers={TENANT_HEADER: tenant_alpha.pk})
        with no_tenant(), pytest.raises(TenantContextMissing):
            task.delay()


# --- the moved audit models: still enumerated, still under forced RLS ----------------------

AUDIT_MODELS = [
    "audit_mgr.AuditEntry",
    "audit_mgr.PendingAuditEntry",
    "audit_mgr.AuditNode",
    "audit_mgr.AuditLogHead",
    "audit_mgr.SignedTreeHead",
]


def test_scoped_models_enumerate_the_moved_audit_models():
    """The conformance suite (test_conformance, test_postgres_rls) parametrizes over
    `scoped_models()`: a model lost in the move would silently leave it."""
    from tenancy.models import scoped_models

    labels = {m._meta.label for m in scoped_models()}
    assert set(AUDIT_MODELS) <= labels
    assert not {label for label in labels if label.startswith("security_mgr.Audit")}


@postgres_only("row-level security")
@pytest.mark.parametrize("label", AUDIT_MODELS)
def test_audit_table_rls_forced_and_raw_sql_in_b_reads_no_a_row(label, tenant_alpha, tenant_beta):
    from django.apps import apps
    from django.db import connection

    import audit_mgr as audit

    table = apps.get_model(label)._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = %s",
            [table],
        )
        assert cursor.fetchone() == (True, True)
        cursor.execute("SELECT count(*) FROM pg_policies WHERE tablename = %s", [table])
        assert cursor.fetchone()[0] >= 1
    with tenant_context(tenant_alpha):
        for n in range(4):  # enough leaves for stored Merkle nodes
            audit.append("attack.marker", {"n": n})
        audit.sign_tree_head(audit.tenant_log())
    with tenant_context(tenant_beta), connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT tenant_id FROM {table}")  # noqa: S608
        assert {t for (t,) in cursor.fetchall()} <= {tenant_beta.pk}
    with tenant_context(tenant_alpha), connection.cursor() as cursor:  # positive control
        cursor.execute(f"SELECT DISTINCT tenant_id FROM {table}")  # noqa: S608
        seen_in_a = {t for (t,) in cursor.fetchall()}
    assert seen_in_a <= {tenant_alpha.pk}
    if label != "audit_mgr.PendingAuditEntry":  # sequenced by the signing above
        assert seen_in_a == {tenant_alpha.pk}


def test_beat_schedule_names_only_registered_tasks():
    """The audit tasks were renamed to `audit_mgr.tasks.*`: a schedule still naming an old
    name would be refused by every worker, and no tree head would be signed or log
    verified again (the tamper evidence would quietly stop)."""
    from django.conf import settings

    from config.celery import app

    app.loader.import_default_modules()
    named = set()
    for entry in settings.PERIODIC_TASKS.values():
        named.add(entry["task"])
        named.update(a for a in entry.get("args", ()) if isinstance(a, str) and ".tasks." in a)
    assert {"audit_mgr.tasks.sign_tree_head_task", "audit_mgr.tasks.verify_audit_task"} <= named
    assert named <= set(app.tasks), named - set(app.tasks)
