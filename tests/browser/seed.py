"""Tenant data for the console crawl, written through the product's own actions, with a
sentinel string in every kind of row a page may show: the tenant's name, a setting, a
member, a session, a security event, an audit entry, a key ring, a rewrap job. A page
that shows a persona another tenant's sentinel has leaked that tenant's data."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.utils import timezone

import audit_mgr as audit
from audit_mgr import actions as audit_actions
from security_mgr import actions as key_actions
from security_mgr.rewrap import do_start_rewrap
from sessions_mgr.actions import do_create_session
from tenancy.actions import do_add_member, do_create_tenant, do_set_tenant_setting
from tenancy.context import tenant_context
from tenancy.models import Role, Tenant

# The tenant's rows carry DATA; its name carries NAME (which a member of both tenants
# may see while acting in the other, in a tenant switcher say).
DATA = {"alpha": "SENTINEL-ALPHA-7f3a", "beta": "SENTINEL-BETA-c41e"}
NAME = {"alpha": "TENANTNAME-ALPHA-2b9d", "beta": "TENANTNAME-BETA-e60f"}


@dataclass(frozen=True)
class Seeded:
    tenant: str
    data: str
    name: str


def seed_tenant(tenant: Tenant, owner, *, events: int = 3) -> Seeded:
    """One of every sentinel-bearing row in `tenant`, `owner` acting."""
    data, name = DATA[tenant.slug], NAME[tenant.slug]
    tenant.name = f"{tenant.name} {name}"
    tenant.save(update_fields=["name"])
    do_set_tenant_setting(tenant, "crawl.note", {"note": data}, description=data)
    member = get_user_model().objects.create_user(f"member-{data}", password=None)
    do_add_member(tenant, member, Role.MEMBER)
    do_create_session(
        tenant_id=tenant.pk, user_id=owner.pk, ip="192.0.2.10", user_agent=f"crawler {data}"
    )
    now = timezone.now()
    with tenant_context(tenant):
        for _ in range(events):
            audit.record_security_event(
                "brute_force",
                "medium",
                actor=data,
                source="192.0.2.1",
                action="temporary_block",
                details={"note": data},
            )
        audit.record_security_event(
            "session_anomaly", "high", actor=data, source="192.0.2.7", details={"at": str(now)}
        )
        audit_actions.record_event("crawl.sentinel", {"note": data}, actor=data)
        key_actions.do_create_key_ring(tenant, subject=data, actor=data, reason=data)
        key_actions.rotate_key(actor=data, reason=data)
        do_start_rewrap(actor=data, send=False)
        audit_actions.sign_tree_head()
        log = audit.tenant_log(tenant.pk)
        audit.sequence_pending(log)  # nothing commits in a test: sequence the queue now
    return Seeded(tenant.slug, data, name)


def empty_tenant(password: str):
    """A tenant just created, with its owner ("greta", staff) and nothing else: every
    dashboard and list of the console in its empty state."""
    owner = get_user_model().objects.create_user("greta", password=password, is_staff=True)
    do_create_tenant(slug="gamma", name="Gamma Oy", tier="free", owner=owner)
    return owner
