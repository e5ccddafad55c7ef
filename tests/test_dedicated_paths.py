"""A dedicated tenant's writes and reads outside the ORM's routing (issue 17, isolation
modes): code that opens a transaction, takes a row lock, registers an on-commit hook or
runs raw SQL names the tenant's database through `tenancy.db`, so a dedicated tenant's
jobs, metric samples, security events, settings, keys and audit heads live in its own
database, never in the shared tables, while a pooled tenant's stay there."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connections

import audit_mgr
from jobs_mgr import actions as job_actions
from jobs_mgr.models import Job, JobState
from jobs_mgr.tests.conftest import COUNT
from perf_mgr import query, recording
from perf_mgr.models import MetricSample, now_us
from security_mgr import actions as security_actions
from security_mgr.models import KeyRing
from tenancy import db as tenant_db
from tenancy import hooks
from tenancy.actions import do_set_tenant_setting
from tenancy.context import platform_access, tenant_context
from tenancy.models import TenantSetting

pytestmark = pytest.mark.django_db


def _shared(model, tenant, **filters) -> int:
    """How many of the tenant's rows the shared tables of the default database hold."""
    with platform_access("test: what reached the shared tables"):
        return model.objects.using("default").filter(tenant_id=tenant.pk, **filters).count()


def test_tenant_db_alias_for_follows_the_isolation_mode(dedicate, tenant_alpha, tenant_beta):
    alias = dedicate(tenant_beta)
    assert tenant_db.alias_for(tenant_beta) == alias
    assert tenant_db.alias_for(tenant_beta.pk) == alias
    assert tenant_db.alias_for(tenant_alpha) == "default"
    assert tenant_db.alias_for() == "default"  # no tenant in context
    with tenant_context(tenant_beta):
        assert tenant_db.alias_for() == alias
        assert tenant_db.connection_for() is connections[alias]
    with hooks.tenant_database.override(lambda tenant_id: None):
        assert tenant_db.alias_for(tenant_beta) == "default"


def test_tenant_db_on_commit_waits_for_the_tenants_database(dedicate, tenant_beta):
    alias = dedicate(tenant_beta)
    ran = []
    with tenant_context(tenant_beta):
        with tenant_db.atomic():
            assert connections[alias].in_atomic_block
            tenant_db.on_commit(None, lambda: ran.append("committed"))
            assert ran == []
    assert ran == ["committed"]


def test_dedicated_jobs_enqueue_and_cancel_in_the_tenants_database(dedicate, tenant_beta):
    alias = dedicate(tenant_beta)
    with tenant_context(tenant_beta):
        job = job_actions.enqueue_job(COUNT, {"n": 1}, send=False)
        assert job._state.db == alias
        cancelled = job_actions.cancel_job(job.pk, actor="test")  # select_for_update
        assert cancelled.state == JobState.CANCELLED
        assert Job.objects.get(pk=job.pk).state == JobState.CANCELLED
    assert _shared(Job, tenant_beta) == 0


def test_dedicated_metric_samples_are_stored_and_read_in_the_tenants_database(
    dedicate, tenant_alpha, tenant_beta
):
    dedicate(tenant_beta)
    with tenant_context(tenant_beta):
        recording.record_metric("orders", 7)
    with tenant_context(tenant_alpha):
        recording.record_metric("orders", 1)
    assert recording.flush() == 2
    assert _shared(MetricSample, tenant_beta) == 0
    assert _shared(MetricSample, tenant_alpha) == 1
    with tenant_context(tenant_beta):
        assert list(MetricSample.objects.values_list("value", flat=True)) == [7.0]
        found, _ = query.window("orders", now_us() - 60_000_000, now_us() + 1_000_000, None)
        assert sum(agg.sum for agg in found.values()) == 7.0


def test_dedicated_security_events_and_audit_entries_stay_in_its_database(dedicate, tenant_beta):
    from audit_mgr.models import AuditEntry, SecurityEvent  # noqa: PLC0415

    alias = dedicate(tenant_beta)
    with tenant_context(tenant_beta):
        audit_mgr.record_security_event(
            "cross_tenant_probe", "high", actor="test", details={"x": 1}
        )
        assert SecurityEvent.objects.filter(type="cross_tenant_probe").count() == 1
        head = audit_mgr.sign_tree_head()
        assert head._state.db == alias
        assert AuditEntry.objects.filter(event="security.cross_tenant_probe").exists()
    assert _shared(SecurityEvent, tenant_beta) == 0


def test_dedicated_settings_and_key_rotation_write_to_its_database(dedicate, tenant_beta):
    alias = dedicate(tenant_beta)
    setting = do_set_tenant_setting(tenant_beta, "colour", {"v": "blue"})
    assert setting._state.db == alias
    with tenant_context(tenant_beta):
        before = KeyRing.objects.get(subject="").current_version
        ring = security_actions.rotate_key(actor="test", reason="dedicated")
        assert ring._state.db == alias and ring.current_version == before + 1
    assert _shared(TenantSetting, tenant_beta, key="colour") == 0
    with platform_access("test: the shared copy of the ring is not the one rotated"):
        shared = KeyRing.objects.using("default").get(tenant_id=tenant_beta.pk, subject="")
        assert shared.current_version == before


def test_dedicated_metric_roll_up_runs_in_the_tenants_database(dedicate, tenant_beta):
    from perf_mgr.models import MetricRollup  # noqa: PLC0415
    from perf_mgr.rollup import roll_up  # noqa: PLC0415

    dedicate(tenant_beta)
    with tenant_context(tenant_beta):
        recording.record_metric("orders", 5)
    recording.flush()
    with tenant_context(tenant_beta):
        roll_up()  # locks its cursor row: a transaction of the tenant's database
        assert MetricRollup.objects.filter(count__gte=1).exists()
    assert _shared(MetricRollup, tenant_beta) == 0


def test_dedicated_sessions_are_created_validated_refreshed_and_revoked_in_its_database(
    dedicate, tenant_beta, beta_owner
):
    """A login's session row (and its audit entry) lands in the tenant's database, on the
    PostgreSQL fast path too; refresh and revoke lock it there (select_for_update needs
    a transaction of *that* database)."""
    from sessions_mgr import actions as session_actions  # noqa: PLC0415
    from sessions_mgr.models import Session  # noqa: PLC0415
    from sessions_mgr.tokens import TokenError  # noqa: PLC0415
    from sessions_mgr.validation import validate  # noqa: PLC0415

    alias = dedicate(tenant_beta)
    session, token = session_actions.do_create_session(
        tenant_id=tenant_beta.pk, user_id=beta_owner.pk
    )
    assert session._state.db == alias
    assert _shared(Session, tenant_beta) == 0
    with tenant_context(tenant_beta):
        assert Session.objects.filter(pk=session.pk).get()._state.db == alias
    assert validate(token, tenant_id=tenant_beta.pk).user_id == beta_owner.pk
    with tenant_context(tenant_beta):
        refreshed, new_token = session_actions.do_refresh_session(session.pk)
    assert validate(new_token, tenant_id=tenant_beta.pk).user_id == beta_owner.pk
    with tenant_context(tenant_beta):
        assert session_actions.do_revoke_session(refreshed.pk)
        assert Session.objects.get(pk=session.pk).revoked_at is not None
    with pytest.raises(TokenError):
        validate(new_token, tenant_id=tenant_beta.pk)
    assert _shared(Session, tenant_beta) == 0


def test_dedicated_mfa_devices_enrol_confirm_and_verify_in_its_database(
    dedicate, tenant_beta, beta_owner
):
    import time  # noqa: PLC0415

    from security_mgr import mfa, totp  # noqa: PLC0415
    from security_mgr.models import BackupCode, TOTPDevice  # noqa: PLC0415

    alias = dedicate(tenant_beta)
    # As in production: the tenant's database holds no users (issue 17), the factors'
    # links to them have no database constraint.
    assert not get_user_model().objects.using(alias).exists()
    with tenant_context(tenant_beta):
        device, _uri = mfa.enroll_totp(beta_owner)
        assert device._state.db == alias
        code = totp.hotp(totp._key(device.secret), int(time.time()) // 30)
        assert mfa.confirm_totp(device.pk, code)  # select_for_update, in its database
        assert TOTPDevice.objects.get(pk=device.pk).confirmed
        assert mfa.has_mfa(beta_owner)
        codes = mfa.generate_backup_codes(beta_owner, count=2)
        assert mfa.use_backup_code(beta_owner, codes[0])
        assert not mfa.use_backup_code(beta_owner, codes[0])  # used once only
    assert _shared(TOTPDevice, tenant_beta) == 0 and _shared(BackupCode, tenant_beta) == 0


def test_a_deleted_users_sessions_go_in_dedicated_tenants_too(
    dedicate, tenant_alpha, tenant_beta, beta_owner
):
    from sessions_mgr import actions as session_actions  # noqa: PLC0415
    from sessions_mgr.models import Session  # noqa: PLC0415
    from tenancy.models import Membership  # noqa: PLC0415

    dedicate(tenant_beta)
    with tenant_context(tenant_alpha):  # the database accepts it in that tenant's context
        Membership.objects.create(user=beta_owner, tenant=tenant_alpha, role="viewer")
    session_actions.do_create_session(tenant_id=tenant_beta.pk, user_id=beta_owner.pk)
    session_actions.do_create_session(tenant_id=tenant_alpha.pk, user_id=beta_owner.pk)
    assert session_actions.do_delete_sessions_of_user(beta_owner.pk) == 2
    for tenant in (tenant_alpha, tenant_beta):
        with tenant_context(tenant):
            assert not Session.objects.filter(user_id=beta_owner.pk).exists()


def test_an_operators_factor_in_a_dedicated_tenant_counts(dedicate, tenant_beta, superuser):
    from security_mgr import mfa  # noqa: PLC0415
    from security_mgr.models import TOTPDevice  # noqa: PLC0415

    dedicate(tenant_beta)
    assert mfa._read_enrolled_tenants(superuser) == []
    with tenant_context(tenant_beta):
        TOTPDevice.objects.create(user=superuser, name="op", secret="x", confirmed=True)
    assert mfa._read_enrolled_tenants(superuser) == [tenant_beta.pk]


def test_a_deleted_users_factors_and_export_links_go_in_dedicated_tenants_too(
    dedicate, tenant_alpha, tenant_beta, beta_owner, django_capture_on_commit_callbacks
):
    """The collector's CASCADE / SET_NULL reaches the default database only; a dedicated
    tenant's rows are cleaned by the apps' post-delete hooks once the deletion commits."""
    from lifecycle_mgr.gdpr_models import ExportArchive, ExportState  # noqa: PLC0415
    from security_mgr import mfa  # noqa: PLC0415
    from security_mgr.models import BackupCode, PasskeyCredential, TOTPDevice  # noqa: PLC0415

    alias = dedicate(tenant_beta)
    for tenant in (tenant_alpha, tenant_beta):
        with tenant_context(tenant):
            mfa.enroll_totp(beta_owner)
            mfa.generate_backup_codes(beta_owner, count=2)
            PasskeyCredential.objects.create(
                user=beta_owner, credential_id=b"cred", public_key=b"key", user_verified=True
            )
            ExportArchive.objects.create(
                user=beta_owner, state=ExportState.FAILED, sealed_key=b"k", link_nonce="n"
            )
    with tenant_context(tenant_beta):
        assert TOTPDevice.objects.get(user_id=beta_owner.pk)._state.db == alias
    user_id = beta_owner.pk
    with django_capture_on_commit_callbacks(execute=True):
        with platform_access("test: delete a user"):
            beta_owner.delete()
    for tenant in (tenant_alpha, tenant_beta):
        with tenant_context(tenant):
            for model in (TOTPDevice, BackupCode, PasskeyCredential):
                assert not model.objects.filter(user_id=user_id).exists(), (tenant, model)
            archive = ExportArchive.objects.get()
            assert archive.user_id is None  # the archive stays, unlinked


def test_dedicated_sessions_are_listed_searched_and_filtered_in_the_admin(
    client, dedicate, tenant_beta, beta_owner, beta_admin
):
    """The tenant's database holds no users: the admin never joins them (issue 17)."""
    from django.urls import reverse  # noqa: PLC0415

    from sessions_mgr import actions as session_actions  # noqa: PLC0415

    dedicate(tenant_beta)
    session, _token = session_actions.do_create_session(
        tenant_id=tenant_beta.pk, user_id=beta_owner.pk
    )
    other, _token = session_actions.do_create_session(
        tenant_id=tenant_beta.pk, user_id=beta_admin.pk
    )
    client.force_login(beta_owner)
    changelist = reverse("admin:sessions_mgr_session_changelist")
    for params in ({}, {"q": "bob"}, {"user__id__exact": beta_owner.pk}):
        listing = client.get(changelist, params)
        assert listing.status_code == 200, params
        assert session.pk in {s.pk for s in listing.context["cl"].result_list}, params
    assert not client.get(changelist, {"q": "nobody-by-that-name"}).context["cl"].result_list
    specs = client.get(changelist).context["cl"].filter_specs
    user_filter = next(spec for spec in specs if getattr(spec, "field_path", "") == "user")
    assert {pk for pk, _name in user_filter.lookup_choices} == {beta_owner.pk, beta_admin.pk}
    only = client.get(changelist, {"user__id__exact": beta_admin.pk}).context["cl"].result_list
    assert [s.pk for s in only] == [other.pk]
