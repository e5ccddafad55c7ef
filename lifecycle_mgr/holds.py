"""Legal hold (issue 16): a hold blocks purging and erasure, whoever asks. Placing and
releasing are audited in the tenant's log and the platform's, so "was this data under
hold on date D" is answerable from the log alone.

`active_hold()` is the one question every destructive path asks; `LegalHoldActive` is
what they raise (the API answers it with 409 and the hold's reason)."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit_mgr.actions import record_platform_event, record_tenant_event
from lifecycle_mgr.models import LegalHold
from tenancy.context import platform_access


class LegalHoldActive(Exception):
    """A purge or erasure was asked for data under legal hold: nothing was changed."""

    def __init__(self, hold: LegalHold):
        self.hold = hold
        super().__init__(
            _("Tenant %(tenant)s is under legal hold (%(reason)s); release the hold first.")
            % {"tenant": hold.tenant_id, "reason": hold.reason}
        )


def active_hold(tenant_id: int, user_id: int | None = None) -> LegalHold | None:
    """The hold that covers this tenant (or this user of it), if any. A tenant-wide hold
    covers every user; a user's hold covers only that user, never the whole tenant."""
    scope = Q(user__isnull=True)
    if user_id is not None:
        scope |= Q(user_id=user_id)
    holds = LegalHold.objects.filter(scope, tenant_id=tenant_id, released_at__isnull=True)
    return holds.order_by("placed_at").first()


def ensure_not_held(tenant_id: int, user_id: int | None = None) -> None:
    hold = active_hold(tenant_id, user_id)
    if hold is not None:
        raise LegalHoldActive(hold)


@contextmanager
def _platform_change(tenant_id: int, verb: str, actor: str):
    """A hold is a platform decision about a tenant: platform access (which appends its own
    entry to the platform log) and one transaction for the row and its audit entries."""
    with (
        platform_access(f"legal hold {verb} on tenant {tenant_id}", actor=actor),
        transaction.atomic(),
    ):
        yield


def _record(hold: LegalHold, event: str, actor: str, **extra) -> None:
    """The change in the tenant's log and in the platform's, same payload."""
    payload = {"hold": hold.pk, "user": hold.user_id, **extra}
    record_tenant_event(hold.tenant_id, event, payload, actor=actor)
    record_platform_event(event, {"tenant": hold.tenant_id, **payload}, actor=actor)


def do_place_hold(tenant_id: int, *, reason: str, actor: str, user_id=None) -> LegalHold:
    reason = (reason or "").strip()
    if not reason:
        raise ValueError(_("A legal hold needs a reason."))
    with _platform_change(tenant_id, "placed", actor):
        hold = LegalHold.objects.create(
            tenant_id=tenant_id, user_id=user_id, reason=reason[:500], placed_by=actor
        )
        _record(hold, "lifecycle.legal_hold_placed", actor, reason=hold.reason)
    return hold


def do_release_hold(hold: LegalHold, *, actor: str) -> LegalHold:
    with _platform_change(hold.tenant_id, "released", actor):
        # Locked and re-read: two releases of one hold record one release.
        hold = LegalHold.objects.select_for_update().get(pk=hold.pk, tenant_id=hold.tenant_id)
        if hold.released_at is not None:
            return hold
        hold.released_at = timezone.now()
        hold.released_by = actor
        hold.save(update_fields=["released_at", "released_by"])
        _record(hold, "lifecycle.legal_hold_released", actor)
    return hold
