"""Threat detection: back-off, no global lock-out, stuffing, tokens, probing."""

import pytest

import audit_mgr as audit
from audit_mgr.models import AuditEntry, EventType, SecurityEvent
from security_mgr.threats import analyze_threat, login_allowed
from tenancy.context import tenant_context
from tenancy.models import TenantSetting
from tests.personas import audit_entries

pytestmark = pytest.mark.django_db


def fail(user, ip):
    return analyze_threat("login", username=user, ip=ip, success=False)


def test_brute_force_backs_off_exponentially_per_user_and_source(tenant_alpha):
    with tenant_context(tenant_alpha):
        for _ in range(5):
            assert fail("alice", "10.0.0.1").allowed
        delays = [fail("alice", "10.0.0.1").retry_after for _ in range(4)]
        assert delays == [1.0, 2.0, 4.0, 8.0]
        verdict = login_allowed("alice", "10.0.0.1")
        assert not verdict.allowed and 0 < verdict.retry_after <= 8
        assert login_allowed("alice", "10.0.0.2").allowed  # other sources unaffected
        # Events when the threshold is crossed and when the excess doubles, not each time.
        assert SecurityEvent.objects.filter(type=EventType.BRUTE_FORCE).count() == 3
        audit.flush()  # the test transaction never commits: sequence now
        assert AuditEntry.objects.filter(event="security.brute_force").count() == 3


def test_an_attacker_cannot_lock_a_user_out(tenant_alpha):
    with tenant_context(tenant_alpha):
        for i in range(30):  # many sources guessing alice's password
            verdict = fail("alice", f"198.51.100.{i}")
        assert verdict.allowed and "step_up" in verdict.actions
        assert login_allowed("alice", "203.0.113.7").allowed  # the real alice gets in


def test_credential_stuffing_from_one_source(tenant_alpha):
    """Recorded, and the source's failures are slowed down for the maximum back-off;
    a user with no failures of their own from there is not refused (issue 10)."""
    with tenant_context(tenant_alpha):
        for i in range(8):
            verdict = fail(f"user{i}", "192.0.2.66")
        assert verdict.throttled == "sign_ins_source" and verdict.retry_after == 900
        event = SecurityEvent.objects.get(type=EventType.CREDENTIAL_STUFFING)
        assert event.severity == "critical" and event.details["distinct_users"] == 8
        assert event.action == "slow_failures"
        someone_else = login_allowed("someone-else", "192.0.2.66")
        assert someone_else.allowed and someone_else.throttled == "sign_ins_source"


def test_success_resets_the_user_source_counter(tenant_alpha):
    with tenant_context(tenant_alpha):
        for _ in range(4):
            fail("alice", "10.0.0.1")
        analyze_threat("login", username="alice", ip="10.0.0.1", success=True)
        for _ in range(5):
            assert fail("alice", "10.0.0.1").allowed


def test_policy_is_per_tenant_and_counters_do_not_cross_tenants(tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha):
        TenantSetting.objects.create(key="security.threat_policy", value={"user_ip_threshold": 2})
        fail("alice", "10.0.0.1")
        fail("alice", "10.0.0.1")
        assert not fail("alice", "10.0.0.1").allowed
    with tenant_context(tenant_beta):
        assert login_allowed("alice", "10.0.0.1").allowed
        assert fail("alice", "10.0.0.1").allowed
        assert not SecurityEvent.objects.exists()


def test_forged_tokens_probing_and_session_anomalies(tenant_alpha):
    with tenant_context(tenant_alpha):
        for _ in range(11):
            verdict = analyze_threat("token_invalid", ip="192.0.2.9")
        assert not verdict.allowed and EventType.FORGED_TOKENS in verdict.events
        for _ in range(20):  # up to the default probe threshold: nothing happens
            verdict = analyze_threat("not_found", username="mallory", ip="192.0.2.9")
        assert verdict.actions == [] and verdict.events == []
        verdict = analyze_threat("not_found", username="mallory", ip="192.0.2.9")
        assert verdict.actions == ["revoke_sessions"]
        assert verdict.events == [EventType.CROSS_TENANT_PROBE]
        # The probing event is the platform's: never a SecurityEvent of the tenant.
        assert not SecurityEvent.objects.filter(type=EventType.CROSS_TENANT_PROBE).exists()
        verdict = analyze_threat(
            "session_anomaly", username="bob", details={"severity": "high", "reason": "ip jump"}
        )
        assert verdict.actions == ["revoke_sessions"]
        with pytest.raises(ValueError, match="unknown observation"):
            analyze_threat("guess")


def test_not_found_counts_by_source_and_ignores_what_the_caller_says_of_the_id(tenant_alpha):
    """Whatever details accompany a 404 (even a claim that the id exists elsewhere), only
    the source's count decides: the same verdicts, step by step."""
    policy = {"probe_threshold": 3}
    with tenant_context(tenant_alpha):
        TenantSetting.objects.create(key="security.threat_policy", value=policy)
        plain = [analyze_threat("not_found", username="m", ip="192.0.2.1") for _ in range(6)]
        claimed = [
            analyze_threat(
                "not_found", username="m", ip="192.0.2.2", details={"exists_elsewhere": True}
            )
            for _ in range(6)
        ]
    assert [(v.actions, v.events) for v in plain] == [(v.actions, v.events) for v in claimed]
    assert [v.actions for v in plain] == [[]] * 3 + [["revoke_sessions"]] * 3
    entries = audit_entries(None, "security.cross_tenant_probe")
    assert all("exists_elsewhere" not in e.data for e in entries)
    # Crossed at 4 and when the excess doubled (5), for each source.
    assert sorted(e.data.count("192.0.2.1") for e in entries) == [0, 0, 1, 1]


@pytest.mark.parametrize(
    "configured,expected",
    [("step_up", ["step_up"]), ("record", []), ("revoke", ["revoke_sessions"]), ("off", None)],
)
def test_probe_action_follows_the_policy(tenant_alpha, configured, expected):
    with tenant_context(tenant_alpha):
        TenantSetting.objects.create(
            key="security.threat_policy",
            value={"probe_threshold": 1, "probe_action": configured},
        )
        analyze_threat("not_found", username="m", ip="192.0.2.1")
        verdict = analyze_threat("not_found", username="m", ip="192.0.2.1")
    # An unknown word is ignored like any bad policy value: the default (revoke) stays.
    assert verdict.actions == (["revoke_sessions"] if expected is None else expected)
    assert verdict.events == [EventType.CROSS_TENANT_PROBE]
