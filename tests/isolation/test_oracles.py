"""Existence oracles (issue 9, class 6): nothing a tenant can observe may depend on
another tenant's data.

- The probing detector reacts to runs of 404s by source alone: random ids and ids that
  exist in another tenant give identical status codes, bodies, session state and
  tenant-visible events; its own events are the platform operators'.
- Unique keys include the tenant (system check `tenancy.E003`), so a duplicate-key error
  can only be about the tenant's own rows; and when an IntegrityError does surface, the
  API and the admin answer without the database's DETAIL text, which names values.

(Explicit primary keys on scoped creates, the other oracle of class 6, are covered with
their own defence.)
"""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.db import IntegrityError, connection, models, transaction
from django.test.utils import isolate_apps
from rest_framework.test import APIClient

from audit_mgr.models import SecurityEvent
from security_mgr import threats
from sessions_mgr.actions import do_create_session
from sessions_mgr.fastpath import reset_view
from sessions_mgr.models import Session
from tenancy.checks import check_unique_keys_include_tenant, unique_keys_without_tenant
from tenancy.context import tenant_context
from tenancy.models import TenantScopedModel, TenantSetting, scoped_models
from tests.personas import api_as, audit_entries

ATTACKER = "203.0.113.66"
PROBES = 8  # threshold 5: crossed at the 6th 404, which ends the session


# --- the probing detector ------------------------------------------------------------


def _tenant_visible(tenant, owner) -> dict:
    """What the tenant's own staff can observe of security events: the SecurityEvent
    rows, the events API, and the tenant's audit log (payloads without session ids)."""
    with tenant_context(tenant):
        events = list(
            SecurityEvent.objects.order_by("id").values_list("type", "severity", "action")
        )
    listed = api_as(owner, tenant).get("/api/v1/security/events/")
    assert listed.status_code == 200
    log = [
        (e.event, {k: v for k, v in json.loads(e.data)["payload"].items() if k != "session"})
        for e in audit_entries(tenant)
        if not e.event.startswith("auth.")  # the staff's own sign-ins to read the API
    ]
    return {"events": events, "api": listed.json(), "log": log}


def _probe(alpha_owner, tenant_alpha, ids) -> dict:
    """Alice's token asks for `ids` one after the other; everything observable."""
    cache.clear()  # fresh counters: each run starts from the same state
    threats.forget_policies()
    reset_view()
    with tenant_context(tenant_alpha):
        session, token = do_create_session(tenant_id=tenant_alpha.pk, user_id=alpha_owner.pk)
    client = APIClient(REMOTE_ADDR=ATTACKER)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    responses = [client.get(f"/api/v1/settings/{pk}/") for pk in ids]
    with tenant_context(tenant_alpha):
        row = Session.objects.get(pk=session.pk)
    return {
        "statuses": [r.status_code for r in responses],
        "bodies": [r.content for r in responses],
        "session": (row.revoked_at is not None, row.revoke_reason, row.step_up_required),
    }


def test_probing_detector_reacts_identically_to_random_and_foreign_ids(
    alpha_owner, beta_owner, tenant_alpha, tenant_beta
):
    with tenant_context(tenant_alpha):
        TenantSetting.objects.create(
            key="security.threat_policy", value={"probe_threshold": 5, "base_backoff_seconds": 60}
        )
    with tenant_context(tenant_beta):
        foreign = [TenantSetting.objects.create(key=f"beta.{i}", value=i).pk for i in range(PROBES)]
    random_ids = [max(foreign) + 10_000 + i for i in range(PROBES)]
    before_a, before_b = (
        _tenant_visible(tenant_alpha, alpha_owner),
        _tenant_visible(tenant_beta, beta_owner),
    )

    random_run = _probe(alpha_owner, tenant_alpha, random_ids)
    after_random_a, after_random_b = (
        _tenant_visible(tenant_alpha, alpha_owner),
        _tenant_visible(tenant_beta, beta_owner),
    )
    platform_random = audit_entries(None, "security.cross_tenant_probe")
    foreign_run = _probe(alpha_owner, tenant_alpha, foreign)
    after_foreign_a, after_foreign_b = (
        _tenant_visible(tenant_alpha, alpha_owner),
        _tenant_visible(tenant_beta, beta_owner),
    )
    platform_all = audit_entries(None, "security.cross_tenant_probe")

    # The reaction happened (positive control): 404s, then the token is dead.
    assert random_run["statuses"] == [404] * 6 + [401] * 2
    assert random_run["session"] == (True, "probing", False)
    # ... and is the same, observation for observation, for another tenant's ids.
    assert foreign_run == random_run
    # What A's staff can see grew the same way in both runs (the sessions' entries).
    new_random = after_random_a["log"][len(before_a["log"]) :]
    new_foreign = after_foreign_a["log"][len(after_random_a["log"]) :]
    assert new_random == new_foreign
    assert [event for event, _ in new_random] == ["session.created", "session.ended"]
    assert after_foreign_a["events"] == before_a["events"] == []
    assert after_foreign_a["api"] == before_a["api"]
    # B, whose ids were probed, sees nothing at all.
    assert after_random_b == after_foreign_b == before_b
    # The events are the platform operators', alike in both runs but for their time.
    assert len(platform_random) == 1 and len(platform_all) == 2

    def content(entry):
        return entry.event, entry.actor, json.loads(entry.data)["payload"]

    assert content(platform_all[1]) == content(platform_random[0])
    assert content(platform_random[0])[2]["tenant"] == tenant_alpha.slug
    # No check of any id against other tenants: the escape hatch was never used.
    assert audit_entries(None, "platform.access") == []


# --- unique keys must include the tenant ----------------------------------------------


def test_unique_check_passes_for_every_installed_scoped_model():
    assert [e for m in scoped_models() for e in unique_keys_without_tenant(m)] == []
    assert check_unique_keys_include_tenant() == []


@isolate_apps("tests.scoping_app")
def test_unique_check_refuses_keys_without_the_tenant():
    from tests.scoping_app.models import Folder

    class Leaky(TenantScopedModel):
        email = models.EmailField(unique=True)  # refused
        code = models.CharField(max_length=10)
        label = models.CharField(max_length=10)
        folder = models.OneToOneField(Folder, on_delete=models.CASCADE)  # implies the tenant

        class Meta(TenantScopedModel.Meta):
            app_label = "scoping_app"
            unique_together = [("code", "label")]  # refused
            constraints = [
                models.UniqueConstraint(fields=["code"], name="leaky_code"),  # refused
                models.UniqueConstraint(
                    models.functions.Lower("label"), name="leaky_label_ci"
                ),  # refused
                models.UniqueConstraint(fields=["tenant", "code", "label"], name="ok_1"),
                models.UniqueConstraint(
                    models.F("tenant"), models.functions.Lower("label"), name="ok_2"
                ),
                models.UniqueConstraint(fields=["folder", "code"], name="ok_3"),
            ]

    errors = unique_keys_without_tenant(Leaky)
    assert {e.id for e in errors} == {"tenancy.E003"}
    flagged = sorted(e.msg.split(":")[1].split(" is unique")[0].strip() for e in errors)
    assert flagged == [
        "UniqueConstraint 'leaky_code'",
        "UniqueConstraint 'leaky_label_ci'",
        "field 'email' (unique=True)",
        "unique_together ('code', 'label')",
    ]
    assert all(e.obj is Leaky and "tenant" in e.hint for e in errors)


@isolate_apps("tests.scoping_app")
def test_unique_check_allows_declared_server_generated_tokens():
    class Invitation(TenantScopedModel):
        # 128 random bits generated by the server: a tenant cannot choose a value to
        # test, so a global key reveals nothing.
        token = models.CharField(max_length=32, unique=True)
        globally_unique_fields = ("token",)

        class Meta(TenantScopedModel.Meta):
            app_label = "scoping_app"

    class Misdeclared(TenantScopedModel):
        globally_unique_fields = ("nope",)

        class Meta(TenantScopedModel.Meta):
            app_label = "scoping_app"

    assert unique_keys_without_tenant(Invitation) == []
    assert [e.id for e in unique_keys_without_tenant(Misdeclared)] == ["tenancy.E004"]


# --- conflicts never name values -------------------------------------------------------


def test_api_unique_key_held_by_another_tenant_is_no_conflict(
    alpha_owner, tenant_alpha, overlapping_settings
):
    """B holds `session.policy` too: A's create is judged on A's rows alone."""
    client = api_as(alpha_owner, tenant_alpha)
    taken_in_b_only = {"key": "beta.only", "value": 1}
    with tenant_context(overlapping_settings[1].tenant):
        TenantSetting.objects.create(key="beta.only", value=2)
    assert client.post("/api/v1/settings/", taken_in_b_only, format="json").status_code == 201
    # The same key twice in A is A's own duplicate: a 400 naming the field, no value.
    again = client.post("/api/v1/settings/", taken_in_b_only, format="json")
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid"
    assert b"beta.only" not in again.content


def test_orm_unique_key_held_by_another_tenant_behaves_like_a_free_one(tenant_alpha, tenant_beta):
    """get_or_create, update_or_create and bulk_create(ignore_conflicts=True) answer a
    key B holds exactly as a key nobody holds; only A's own rows conflict."""
    with tenant_context(tenant_beta):
        TenantSetting.objects.bulk_create(
            [TenantSetting(key=f"beta.held.{i}", value="b") for i in range(3)]
        )
    with tenant_context(tenant_alpha):
        for prefix in ("beta.held", "nobody.holds"):
            _row, created = TenantSetting.objects.get_or_create(key=f"{prefix}.0")
            assert created
            _row, created = TenantSetting.objects.update_or_create(
                key=f"{prefix}.1", defaults={"value": "a"}
            )
            assert created
            TenantSetting.objects.bulk_create(
                [TenantSetting(key=f"{prefix}.2", value="a")], ignore_conflicts=True
            )
            assert TenantSetting.objects.filter(key__startswith=prefix).count() == 3
        # Positive control: A's own key does conflict (ignored here, so nothing added).
        TenantSetting.objects.bulk_create(
            [TenantSetting(key="nobody.holds.2", value="again")], ignore_conflicts=True
        )
        assert TenantSetting.objects.get(key="nobody.holds.2").value == "a"
    with tenant_context(tenant_beta):
        assert set(TenantSetting.objects.values_list("value", flat=True)) == {"b"}


@pytest.fixture
def unchecked_uniques(monkeypatch):
    """Skip the model's own unique checks, as a race between two requests would: the
    database's constraint is then the one that refuses."""
    monkeypatch.setattr(TenantSetting, "validate_unique", lambda self, exclude=None: None)
    monkeypatch.setattr(TenantSetting, "validate_constraints", lambda self, exclude=None: None)


def test_api_integrity_error_is_a_409_without_the_databases_detail(
    alpha_owner, tenant_alpha, unchecked_uniques
):
    client = api_as(alpha_owner, tenant_alpha)
    body = {"key": "alpha.secret.value", "value": 1}
    assert client.post("/api/v1/settings/", body, format="json").status_code == 201
    # In its own transaction, as in production (the test's transaction is the outer one
    # here, and the failed INSERT would otherwise doom it).
    with transaction.atomic():
        response = client.post("/api/v1/settings/", body, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "error": {"code": "conflict", "message": "The change conflicts with existing data."}
    }
    for leak in (b"alpha.secret.value", b"DETAIL", b"Key (", b"UNIQUE", b"uniq_"):
        assert leak not in response.content
    with tenant_context(tenant_alpha):
        assert TenantSetting.objects.filter(key="alpha.secret.value").count() == 1


def test_api_integrity_error_handler_never_echoes_the_exception(rf, alpha_owner):
    from tenancy.api.errors import api_exception_handler

    exc = IntegrityError(
        'duplicate key value violates unique constraint "uniq_x"\n'
        "DETAIL:  Key (tenant_id, key)=(7, beta.secret) already exists."
    )
    response = api_exception_handler(exc, {"request": rf.post("/api/v1/settings/")})
    assert response.status_code == 409
    assert response.data == {
        "error": {"code": "conflict", "message": "The change conflicts with existing data."}
    }


def test_admin_integrity_error_is_a_message_without_the_databases_detail(
    alpha_owner, tenant_alpha, client, unchecked_uniques
):
    from tenancy.admin_base import CONFLICT_MESSAGE

    with tenant_context(tenant_alpha):
        TenantSetting.objects.create(key="alpha.secret.value", value=1)
    client.force_login(alpha_owner)
    add = "/admin/tenancy/tenantsetting/add/"
    form = {"key": "alpha.secret.value", "value": "2", "description": ""}
    response = client.post(add, form)
    assert response.status_code == 302 and response["Location"] == add
    page = client.get(add)
    assert page.status_code == 200
    assert CONFLICT_MESSAGE.encode() in page.content
    for leak in (b"alpha.secret.value", b"DETAIL", b"Key (", b"UNIQUE"):
        assert leak not in page.content
    with tenant_context(tenant_alpha):
        assert TenantSetting.objects.filter(key="alpha.secret.value").count() == 1
    # The connection is usable after the refused save (its savepoint rolled back).
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
