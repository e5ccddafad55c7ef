"""The session manager's card on the console's operations home: sessions active now
and the sign-ins of the last 24 hours (one aggregate query, in the request's tenant
context or under the operator's platform access)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from sessions_mgr.models import Session
from tenancy.console_cards import changelist_url, may_view
from tenancy.console_registry import Card, CardRow

WINDOW = dt.timedelta(hours=24)


def session_figures(now: dt.datetime | None = None) -> dict:
    """Active sessions (as the console's "active" filter counts them: not revoked, not
    past their absolute expiry), and sessions created, their users and revocations in
    the last 24 hours."""
    now = now or timezone.now()
    since = now - WINDOW
    return Session.objects.aggregate(
        active=Count("pk", filter=Q(revoked_at__isnull=True, absolute_expires_at__gt=now)),
        created=Count("pk", filter=Q(created_at__gte=since)),
        users=Count("user", filter=Q(created_at__gte=since), distinct=True),
        revoked=Count("pk", filter=Q(revoked_at__gte=since)),
    )


def sessions_card(request, tenants) -> Card | None:
    if not may_view(request, Session):
        return None
    figures = session_figures()
    title = _("Sessions")
    link = changelist_url(Session, state="active")
    if not (figures["active"] or figures["created"] or figures["revoked"]):
        return Card(
            "sessions",
            title,
            0,
            link=link,
            empty=_(
                "No session in the last 24 hours. Sign-ins through the sessions API "
                "(POST /api/v1/sessions/) or SessionManager.create_session appear here, "
                "with the sessions active now."
            ),
        )
    return Card(
        "sessions",
        title,
        figures["active"],
        link=link,
        subtitle=_("active now"),
        rows=(
            CardRow(_("Active now"), figures["active"], link=link),
            CardRow(_("Sign-ins, last 24 h"), figures["created"], link=changelist_url(Session)),
            CardRow(_("Users signed in, last 24 h"), figures["users"]),
            CardRow(
                _("Revoked, last 24 h"),
                figures["revoked"],
                link=changelist_url(Session, state="revoked"),
            ),
        ),
    )
