"""TOTP (RFC 6238 vectors, replay guard, throttling, encrypted seed) and backup codes."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

import audit_mgr as audit
from audit_mgr.models import AuditEntry
from security_mgr import mfa, totp
from security_mgr.models import BackupCode, TOTPDevice
from tenancy.context import tenant_context
from tests.authenticator import totp_code

RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # "12345678901234567890"


@pytest.mark.parametrize(
    "at, code", [(59, "94287082"), (1111111109, "07081804"), (2000000000, "69279037")]
)
def test_totp_rfc6238_sha1_vectors(at, code):
    assert totp.match(RFC_SECRET, code, now=at, window=0) == at // 30


@given(st.one_of(st.text(max_size=12), st.integers(), st.none(), st.binary(max_size=8)))
def test_totp_normalize_refuses_anything_but_codes_with_value_error(junk):
    try:
        code = totp.normalize(junk)
    except ValueError as exc:
        assert str(exc).startswith("the code must be")  # it says what to send
        return
    assert code.isascii() and code.isdigit() and len(code) in (6, 8), code


@pytest.mark.django_db
def test_totp_enrol_confirm_verify_and_replay_guard(tenant_alpha, alpha_owner):
    now = timezone.now()
    with tenant_context(tenant_alpha):
        device, uri = mfa.enroll_totp(alpha_owner)
        assert uri.startswith("otpauth://totp/") and device.secret in uri
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT secret FROM security_mgr_totpdevice WHERE tenant_id = %s", [tenant_alpha.pk]
            )
            stored = cursor.fetchone()[0]
        stored = bytes(stored)
        assert stored.startswith(b"DIM\x01") and device.secret.encode() not in stored
        assert not mfa.has_mfa(alpha_owner)
        device = TOTPDevice.objects.get(pk=device.pk)
        assert mfa.confirm_totp(device.pk, totp_code(device, now), now=now)
        assert mfa.has_mfa(alpha_owner)
        later = now + dt.timedelta(seconds=30)
        code = totp_code(device, later)
        assert mfa.verify_totp(alpha_owner, code, now=later)
        assert not mfa.verify_totp(alpha_owner, code, now=later)  # replayed: refused
        with pytest.raises(ValueError):
            mfa.verify_totp(alpha_owner, "12ab56", now=later)
        audit.flush()  # the test transaction never commits: sequence now
        events = set(AuditEntry.objects.values_list("event", flat=True))
        assert {"mfa.totp_enrolled", "mfa.totp_confirmed", "mfa.verified"} <= events


@pytest.mark.django_db
def test_totp_wrong_codes_lock_the_device_with_back_off(tenant_alpha, alpha_owner):
    now = timezone.now()
    with tenant_context(tenant_alpha):
        device, _ = mfa.enroll_totp(alpha_owner)
        device = TOTPDevice.objects.get(pk=device.pk)
        mfa.confirm_totp(device.pk, totp_code(device, now), now=now)
        wrong = "000000" if totp_code(device, now) != "000000" else "111111"
        for _ in range(mfa.MAX_FAILURES):
            assert not mfa.verify_totp(alpha_owner, wrong, now=now)
        with pytest.raises(mfa.MFALocked, match="try again"):
            mfa.verify_totp(alpha_owner, totp_code(device, now + dt.timedelta(seconds=30)), now=now)
        after = now + dt.timedelta(seconds=61)
        assert mfa.verify_totp(alpha_owner, totp_code(device, after), now=after)


@pytest.mark.django_db
def test_backup_codes_are_hashed_and_single_use(tenant_alpha, alpha_owner):
    with tenant_context(tenant_alpha):
        codes = mfa.generate_backup_codes(alpha_owner)
        assert len(codes) == 10 and len(set(codes)) == 10
        stored = set(BackupCode.objects.values_list("code_hash", flat=True))
        assert not any(c.replace("-", "") in h for c in codes for h in stored)
        assert mfa.use_backup_code(alpha_owner, codes[0])
        assert not mfa.use_backup_code(alpha_owner, codes[0])
        assert mfa.use_backup_code(alpha_owner, codes[1].upper().replace("-", " "))
        with pytest.raises(ValueError):
            mfa.use_backup_code(alpha_owner, "x")
        mfa.generate_backup_codes(alpha_owner)  # regenerating voids the old ones
        assert not mfa.use_backup_code(alpha_owner, codes[2])


@pytest.mark.django_db
def test_totp_seed_is_shredded_with_the_tenant(tenant_alpha, alpha_owner):
    from security_mgr import actions, keyring
    from security_mgr.exceptions import KeyShredded

    with tenant_context(tenant_alpha):
        device, _ = mfa.enroll_totp(alpha_owner)
        actions.shred_keys(reason="offboarding")
        keyring.forget()
        with pytest.raises(KeyShredded):
            TOTPDevice.objects.get(pk=device.pk).secret


@pytest.mark.django_db
def test_mfa_enrolled_users_pass_before_the_admin_console(
    tenant_alpha, alpha_owner, beta_owner, client
):
    client.force_login(beta_owner)  # not enrolled: straight in
    assert client.get("/admin/").status_code == 200
    client.logout()

    now = timezone.now()
    with tenant_context(tenant_alpha):
        device, _ = mfa.enroll_totp(alpha_owner)
        device = TOTPDevice.objects.get(pk=device.pk)
        mfa.confirm_totp(device.pk, totp_code(device, now - dt.timedelta(seconds=30)), now=now)
        backup = mfa.generate_backup_codes(alpha_owner)
    client.force_login(alpha_owner)
    response = client.get("/admin/tenancy/tenantsetting/")
    assert response.status_code == 302
    assert response["Location"] == "/console/mfa/?next=%2Fadmin%2Ftenancy%2Ftenantsetting%2F"
    assert client.post("/console/mfa/", {"code": "12ab"}).status_code == 400  # malformed
    wrong = "000000" if totp_code(device, now) != "000000" else "111111"
    assert client.post("/console/mfa/", {"code": wrong}).status_code == 200
    assert client.get("/admin/").status_code == 302  # still not passed
    passed = client.post(
        "/console/mfa/", {"code": totp_code(device, timezone.now()), "next": "/admin/"}
    )
    assert passed.status_code == 302 and passed["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200

    client.logout()
    client.force_login(alpha_owner)  # a new session asks again; a backup code works too
    assert client.get("/admin/").status_code == 302
    assert client.post("/console/mfa/", {"code": backup[0]}).status_code == 302
    assert client.get("/admin/").status_code == 200
    evil = client.post("/console/mfa/", {"code": backup[1], "next": "https://evil.example/"})
    assert evil["Location"] == "/admin/"
