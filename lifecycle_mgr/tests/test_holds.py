"""Legal hold: what it covers, that placing and releasing are audited in the tenant's log
and the platform's, and that bad input changes nothing."""

from __future__ import annotations

import json

import pytest

import audit_mgr as audit
from audit_mgr.models import AuditEntry, PlatformAuditEntry
from lifecycle_mgr.holds import (
    LegalHoldActive,
    active_hold,
    do_place_hold,
    do_release_hold,
    ensure_not_held,
)
from lifecycle_mgr.models import LegalHold
from tenancy.context import platform_access, tenant_context

pytestmark = pytest.mark.django_db


def _tenant_events(tenant) -> list[tuple[str, dict]]:
    with tenant_context(tenant):
        audit.flush()
        rows = AuditEntry.objects.filter(event__startswith="lifecycle.").order_by("seq")
        return [(e.event, json.loads(e.data)["payload"]) for e in rows]


def _platform_events() -> list[str]:
    with platform_access("test reads the platform log"):
        audit.flush(audit.platform_log())
        rows = PlatformAuditEntry.objects.filter(event__startswith="lifecycle.").order_by("seq")
        return list(rows.values_list("event", flat=True))


def test_hold_on_a_tenant_covers_every_user_and_only_that_tenant(
    tenant_alpha, tenant_beta, alpha_owner
):
    hold = do_place_hold(tenant_alpha.pk, reason="litigation 42", actor="legal")
    assert active_hold(tenant_alpha.pk) == hold
    assert active_hold(tenant_alpha.pk, alpha_owner.pk) == hold
    with pytest.raises(LegalHoldActive, match="litigation 42"):
        ensure_not_held(tenant_alpha.pk)
    assert active_hold(tenant_beta.pk) is None
    ensure_not_held(tenant_beta.pk)  # another tenant is not held


def test_hold_on_a_user_covers_that_user_only(tenant_alpha, alpha_owner, alpha_viewer):
    do_place_hold(tenant_alpha.pk, reason="employee dispute", actor="legal", user_id=alpha_owner.pk)
    with pytest.raises(LegalHoldActive):
        ensure_not_held(tenant_alpha.pk, alpha_owner.pk)
    ensure_not_held(tenant_alpha.pk, alpha_viewer.pk)
    ensure_not_held(tenant_alpha.pk)  # the whole tenant is not held by a user's hold


def test_hold_place_and_release_are_audited_in_both_logs_once(tenant_alpha, tenant_beta):
    hold = do_place_hold(tenant_alpha.pk, reason="  audit request  ", actor="legal")
    assert hold.reason == "audit request"
    do_release_hold(hold, actor="counsel")
    again = do_release_hold(hold, actor="someone else")  # a second release records nothing
    assert again.released_by == "counsel" and active_hold(tenant_alpha.pk) is None
    assert _tenant_events(tenant_alpha) == [
        ("lifecycle.legal_hold_placed", {"hold": hold.pk, "user": None, "reason": "audit request"}),
        ("lifecycle.legal_hold_released", {"hold": hold.pk, "user": None}),
    ]
    assert _tenant_events(tenant_beta) == []
    assert _platform_events() == ["lifecycle.legal_hold_placed", "lifecycle.legal_hold_released"]


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_hold_without_a_reason_is_refused_and_nothing_is_written(tenant_alpha, reason):
    with pytest.raises(ValueError, match="needs a reason"):
        do_place_hold(tenant_alpha.pk, reason=reason, actor="legal")
    assert not LegalHold.objects.exists()
    assert _tenant_events(tenant_alpha) == []
