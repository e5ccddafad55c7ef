"""Tenant-scoped rows may link to platform rows (users, content types) only without a
database constraint (issue 17): a dedicated tenant's database holds no platform rows but
the tenant's own, so an enforced link there could never be satisfied (an MFA enrolment
or a session in a dedicated tenant would fail) and a move would have to refuse it."""

from __future__ import annotations

from connection_mgr import copying
from tenancy.models.scoped import scoped_models


def test_no_tenant_scoped_model_has_a_constrained_link_to_platform_rows():
    constrained = {
        model._meta.label: copying.constrained_platform_links(model)
        for model in scoped_models()
        if not model._meta.proxy and copying.constrained_platform_links(model)
    }
    assert constrained == {}


def test_the_user_links_of_scoped_models_are_seen_as_platform_links():
    """The check above looks at the links it should (a rule that finds nothing to check
    would pass for ever)."""
    found = {
        f"{model._meta.label}.{field.name}"
        for model in scoped_models()
        for field in copying.platform_links(model)
    }
    assert {
        "security_mgr.TOTPDevice.user",
        "security_mgr.BackupCode.user",
        "security_mgr.PasskeyCredential.user",
        "lifecycle_mgr.ExportArchive.user",
        "sessions_mgr.Session.user",
        "tenancy.AdminLogEntry.user",
        "tenancy.AdminLogEntry.content_type",
    } <= found
