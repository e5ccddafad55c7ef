"""The security API: roles, key operations, transit errors as 400s, proofs."""

import pytest

from audit_mgr import merkle
from tests.personas import api_as

pytestmark = pytest.mark.django_db
BASE = "/api/v1/security"


def test_rotate_list_and_config(alpha_owner, tenant_alpha):
    api = api_as(alpha_owner, tenant_alpha)
    assert api.post(f"{BASE}/keys/rotate/", {"reason": "test"}, format="json").status_code == 200
    ring = api.post(f"{BASE}/keys/rotate/", {}, format="json").json()
    # Version 1 came with the tenant; each rotation adds one.
    assert ring["current_version"] == 3 and len(ring["versions"]) == 3
    assert "wrapped_key" not in str(ring)
    listed = api.get(f"{BASE}/keys/rings/").json()
    assert listed["results"][0]["current_version"] == 3
    config = api.post(
        f"{BASE}/keys/config/",
        {"min_decryption_version": 3, "trim_below": 3, "rotation_period_days": 30},
        format="json",
    ).json()
    assert config["min_available_version"] == 3 and config["rotation_period_days"] == 30
    bad = api.post(f"{BASE}/keys/config/", {"trim_below": 5}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"


def test_viewer_cannot_manage_keys(alpha_viewer, tenant_alpha):
    api = api_as(alpha_viewer, tenant_alpha)
    assert api.post(f"{BASE}/keys/rotate/", {}, format="json").status_code == 403
    assert api.get(f"{BASE}/audit/entries/").status_code == 403
    assert api.get(f"{BASE}/keys/public/").status_code == 200


def test_transit_errors_are_400_naming_the_reason(alpha_owner, tenant_alpha):
    api = api_as(alpha_owner, tenant_alpha)
    ct = api.post(
        f"{BASE}/transit/encrypt/", {"plaintext": "hi", "context": "order-1"}, format="json"
    ).json()["ciphertext"]
    ok = api.post(
        f"{BASE}/transit/decrypt/", {"ciphertext": ct, "context": "order-1"}, format="json"
    )
    assert ok.json() == {"plaintext": "hi"}
    cases = {
        "decryption_failed": {"ciphertext": ct, "context": "order-2"},
        "malformed_ciphertext": {"ciphertext": ct[:20], "context": "order-1"},
        "key_version_unknown": {
            "ciphertext": ct.replace("dim:v1:", "dim:v9:"),
            "context": "order-1",
        },
    }
    for code, body in cases.items():
        response = api.post(f"{BASE}/transit/decrypt/", body, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == code
    api.post(f"{BASE}/keys/rotate/", {}, format="json")
    api.post(f"{BASE}/keys/config/", {"min_decryption_version": 2, "trim_below": 2}, format="json")
    response = api.post(
        f"{BASE}/transit/decrypt/", {"ciphertext": ct, "context": "order-1"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "key_version_trimmed"


def test_other_tenant_ciphertext_is_refused(alpha_owner, tenant_alpha, beta_owner, tenant_beta):
    ct = (
        api_as(alpha_owner, tenant_alpha)
        .post(f"{BASE}/transit/encrypt/", {"plaintext": "a", "context": "x"}, format="json")
        .json()["ciphertext"]
    )
    api_b = api_as(beta_owner, tenant_beta)
    api_b.post(f"{BASE}/transit/encrypt/", {"plaintext": "b", "context": "x"}, format="json")
    response = api_b.post(
        f"{BASE}/transit/decrypt/", {"ciphertext": ct, "context": "x"}, format="json"
    )
    assert response.status_code == 400


def test_audit_entries_heads_and_proofs_over_the_api(alpha_owner, tenant_alpha):
    api = api_as(alpha_owner, tenant_alpha)
    for _ in range(3):
        api.post(f"{BASE}/keys/rotate/", {}, format="json")
    first = api.post(f"{BASE}/audit/heads/").json()
    for _ in range(4):
        api.post(f"{BASE}/keys/rotate/", {}, format="json")
    second = api.post(f"{BASE}/audit/heads/").json()
    # The sign-in itself is the first entry (auth.login).
    assert (first["tree_size"], second["tree_size"]) == (4, 8)
    entries = api.get(f"{BASE}/audit/entries/").json()["results"]
    assert [e["event"] for e in entries] == ["auth.login"] + ["key.rotated"] * 7
    proof = api.get(f"{BASE}/audit/proofs/inclusion/", {"index": 4, "tree_size": 8}).json()
    assert merkle.verify_inclusion(
        bytes.fromhex(entries[4]["leaf_hash"]),
        4,
        8,
        [bytes.fromhex(h) for h in proof["proof"]],
        bytes.fromhex(second["root_hash"]),
    )
    consistency = api.get(f"{BASE}/audit/proofs/consistency/", {"first": 4, "second": 8}).json()
    assert merkle.verify_consistency(
        4,
        8,
        bytes.fromhex(first["root_hash"]),
        bytes.fromhex(second["root_hash"]),
        [bytes.fromhex(h) for h in consistency["proof"]],
    )
    assert api.get(f"{BASE}/audit/proofs/inclusion/", {"index": 9}).status_code == 400
    assert api.get(f"{BASE}/audit/proofs/inclusion/", {"index": "x"}).status_code == 400
    assert api.get(f"{BASE}/audit/verify/").json()["ok"] is True


def test_shred_needs_owner_and_confirmation(alpha_owner, tenant_alpha, member_of_both):
    api = api_as(alpha_owner, tenant_alpha)
    api.post(f"{BASE}/transit/encrypt/", {"plaintext": "a", "context": "x"}, format="json")
    admin = api_as(member_of_both, tenant_alpha)
    assert (
        admin.post(
            f"{BASE}/keys/shred/", {"confirm": "alpha", "reason": "r"}, format="json"
        ).status_code
        == 403
    )
    wrong = api.post(f"{BASE}/keys/shred/", {"confirm": "beta", "reason": "r"}, format="json")
    assert wrong.status_code == 400
    done = api.post(
        f"{BASE}/keys/shred/", {"confirm": "alpha", "reason": "offboarding"}, format="json"
    )
    assert done.status_code == 200 and done.json()["receipt"]["scope"] == "tenant"
    again = api.post(f"{BASE}/transit/encrypt/", {"plaintext": "a", "context": "x"}, format="json")
    assert again.status_code == 400 and again.json()["error"]["code"] == "key_shredded"


def test_public_keys(alpha_owner, tenant_alpha, beta_owner, tenant_beta):
    a = api_as(alpha_owner, tenant_alpha).get(f"{BASE}/keys/public/").json()
    b = api_as(beta_owner, tenant_beta).get(f"{BASE}/keys/public/").json()
    assert a["wrapping"]["x25519"] != b["wrapping"]["x25519"]
    assert a["tree_head_signing"] == b["tree_head_signing"]


def test_rewrap_and_events_over_the_api(alpha_owner, tenant_alpha):
    from security_mgr import threats
    from tenancy.context import tenant_context

    api = api_as(alpha_owner, tenant_alpha)
    api.post(f"{BASE}/transit/encrypt/", {"plaintext": "a", "context": "x"}, format="json")
    api.post(f"{BASE}/keys/rotate/", {}, format="json")
    started = api.post(f"{BASE}/keys/rewrap/", {}, format="json")
    assert started.status_code == 202 and started.json()["target_version"] == 2
    # Eager Celery in tests: on_commit does not fire inside the test transaction.
    assert api.get(f"{BASE}/keys/rewrap/").json()["results"][0]["status"] == "queued"
    bad = api.post(f"{BASE}/keys/rewrap/", {"target_version": 9}, format="json")
    assert bad.status_code == 400
    with tenant_context(tenant_alpha):
        threats.analyze_threat("session_anomaly", username="x", details={"severity": "low"})
    events = api.get(f"{BASE}/events/").json()["results"]
    assert events[0]["type"] == "session_anomaly"


def test_mfa_over_the_api_and_malformed_codes_are_4xx(alpha_viewer, tenant_alpha):
    from security_mgr import totp
    from security_mgr.models import TOTPDevice
    from tenancy.context import tenant_context

    api = api_as(alpha_viewer, tenant_alpha)
    enrolled = api.post(f"{BASE}/mfa/totp/", {"name": "phone"}, format="json").json()
    with tenant_context(tenant_alpha):
        secret = TOTPDevice.objects.get(pk=enrolled["device"]).secret
    import time

    code = totp.hotp(totp._key(secret), int(time.time()) // 30)
    confirm = api.post(
        f"{BASE}/mfa/totp/confirm/", {"device": enrolled["device"], "code": code}, format="json"
    )
    assert confirm.json() == {"confirmed": True}
    for bad in ("abc", "1234567", "12345678901"):
        response = api.post(f"{BASE}/mfa/totp/verify/", {"code": bad}, format="json")
        assert response.status_code == 400, response.content
    missing = api.post(
        f"{BASE}/mfa/totp/confirm/",
        {"device": "00000000-0000-0000-0000-000000000001", "code": "123456"},
        format="json",
    )
    assert missing.status_code == 404
    codes = api.post(f"{BASE}/mfa/backup-codes/").json()["codes"]
    used = api.post(f"{BASE}/mfa/backup-codes/use/", {"code": codes[0]}, format="json")
    assert used.json() == {"verified": True}


def test_key_config_refused_in_part_changes_nothing(alpha_owner, tenant_alpha):
    api = api_as(alpha_owner, tenant_alpha)
    bad = api.post(
        f"{BASE}/keys/config/", {"rotation_period_days": 30, "trim_below": 5}, format="json"
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
    ring = api.get(f"{BASE}/keys/rings/").json()["results"][0]
    assert ring["rotation_period_days"] is None  # one transaction: the period went too
    missing = api.post(
        f"{BASE}/keys/config/", {"subject": "nobody", "rotation_period_days": 3}, format="json"
    )
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "key_ring_missing"
    assert [r["subject"] for r in api.get(f"{BASE}/keys/rings/").json()["results"]] == [""]


def test_rewrap_api_refuses_an_unknown_target_and_queues_the_job(alpha_owner, tenant_alpha):
    api = api_as(alpha_owner, tenant_alpha)
    bad = api.post(f"{BASE}/keys/rewrap/", {"target_version": 9}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "key_version_unknown"
    started = api.post(f"{BASE}/keys/rewrap/", {}, format="json")
    assert started.status_code == 202 and started.json()["target_version"] == 1
