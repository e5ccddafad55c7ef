"""What the sessions feature shows on the console's Business dashboard
(`tenancy.hooks.tenant_activity`, registered in `SessionsConfig.ready()`): users active
per day and sessions started per day, for the tenant in context. Read only."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_lazy as _

from tenancy import hooks
from tenancy.selectors import daily_counts


def _days(since: dt.datetime, until: dt.datetime) -> list[dt.date]:
    first, last = since.astimezone(dt.UTC).date(), until.astimezone(dt.UTC).date()
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def session_activity(since: dt.datetime, until: dt.datetime) -> list:
    from sessions_mgr.models import Session

    started = daily_counts(
        Session.objects.filter(created_at__gte=since, created_at__lt=until), "created_at"
    )
    # A user is active on a day when one of their sessions was in use that day (created
    # before its end, last seen after its start): one aggregate query per day.
    active = {}
    for day in _days(since, until):
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        n = (
            Session.objects.filter(
                created_at__lt=start + dt.timedelta(days=1), last_seen_at__gte=start
            )
            .values("user_id")
            .distinct()
            .count()
        )
        if n:
            active[day] = n
    live = Session.objects.filter(revoked_at__isnull=True, absolute_expires_at__gt=until).count()
    return [
        hooks.ActivityCount("active_users", _("Active users"), active),
        hooks.ActivityCount("sessions", _("Sessions started"), started, total=live),
    ]


def register() -> None:
    hooks.tenant_activity.register(session_activity)
