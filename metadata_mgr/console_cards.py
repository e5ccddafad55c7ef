"""The metadata manager's card on the console's operations home: live records, their
changes in the last 24 hours, subjects and sensitive records (one aggregate query per
table, in the request's tenant context or under the operator's platform access)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from metadata_mgr.models import Record, RecordVersion, Subject
from tenancy.console_cards import changelist_url, may_view
from tenancy.console_registry import Card, CardRow

WINDOW = dt.timedelta(hours=24)


def metadata_figures(now: dt.datetime | None = None) -> dict:
    since = (now or timezone.now()) - WINDOW
    figures = Record.objects.aggregate(
        live=Count("pk", filter=Q(deleted_at__isnull=True)),
        sensitive=Count("pk", filter=Q(deleted_at__isnull=True, sensitive=True)),
        deleted=Count("pk", filter=Q(deleted_at__isnull=False)),
    )
    figures["changes"] = RecordVersion.objects.filter(created_at__gte=since).count()
    figures["subjects"] = Subject.objects.count()
    return figures


def metadata_card(request, tenants) -> Card | None:
    if not may_view(request, Record):
        return None
    figures = metadata_figures()
    title, link = _("Metadata"), changelist_url(Record)
    if not (figures["live"] or figures["deleted"] or figures["subjects"]):
        return Card(
            "metadata",
            title,
            0,
            link=link,
            empty=_(
                "No metadata record yet. Records created through the metadata API "
                "(POST /api/v1/metadata/records/), MetadataManager.create_metadata or a "
                "bulk import (manage.py import_metadata) appear here with their changes."
            ),
        )
    return Card(
        "metadata",
        title,
        figures["live"],
        link=link,
        subtitle=_("live records"),
        rows=(
            CardRow(_("Versions written, last 24 h"), figures["changes"]),
            CardRow(_("Sensitive (encrypted) records"), figures["sensitive"]),
            CardRow(
                _("Deleted (restorable)"),
                figures["deleted"],
                link=changelist_url(Record, deleted="1"),
            ),
            CardRow(_("Schema subjects"), figures["subjects"], link=changelist_url(Subject)),
        ),
    )
