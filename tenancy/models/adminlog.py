"""The admin's history, per tenant.

Django's `django_admin_log` has no tenant and no row-level security: from A's context
its `object_repr` column shows the names of B's objects, and the index's "recent
actions" and the history pages read it. `TenantScopedAdmin` writes here instead, in the
tenant of the row it changed: scoped by the ORM and, on PostgreSQL, by RLS like every
`TenantScopedModel`. The fields and methods mirror `django.contrib.admin.models.LogEntry`
so the admin's own templates (history, recent actions) render these entries unchanged.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tenancy.models.scoped import TenantScopedModel

ADDITION, CHANGE, DELETION = 1, 2, 3  # as django.contrib.admin.models


class AdminLogEntry(TenantScopedModel):
    ACTION_FLAG_CHOICES = [  # context: nouns here, while the admin says "Change" as a verb
        (ADDITION, pgettext_lazy("admin history", "Addition")),
        (CHANGE, pgettext_lazy("admin history", "Change")),
        (DELETION, pgettext_lazy("admin history", "Deletion")),
    ]

    action_time = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("action time")
    )
    # No database constraints to the platform's users and content types, and DO_NOTHING:
    # deleting a user (or a stale content type) must neither cascade into every tenant's
    # history (a deletion that would need the escape hatch) nor be blocked by it. The
    # history outlives them, as an audit trail should.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("user"),
    )
    content_type = models.ForeignKey(
        "contenttypes.ContentType",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        blank=True,
        null=True,
        verbose_name=_("content type"),
    )
    object_id = models.CharField(
        max_length=255, blank=True, verbose_name=_("object id")
    )  # the row's pk, as text
    object_repr = models.CharField(max_length=200, verbose_name=_("object repr"))
    action_flag = models.PositiveSmallIntegerField(
        choices=ACTION_FLAG_CHOICES, verbose_name=_("action flag")
    )
    change_message = models.TextField(blank=True, verbose_name=_("change message"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("admin history entry")
        verbose_name_plural = _("admin history entries")
        ordering = ["-action_time", "-id"]
        indexes = [
            # history pages: one object's entries
            models.Index(
                fields=["tenant", "content_type", "object_id"], name="adminlog_tenant_object"
            ),
            # recent actions: one user's latest entries
            models.Index(fields=["tenant", "user", "-action_time"], name="adminlog_tenant_user"),
        ]

    def __str__(self):
        from django.contrib.admin.models import LogEntry

        return LogEntry.__str__(self)

    def is_addition(self):
        return self.action_flag == ADDITION

    def is_change(self):
        return self.action_flag == CHANGE

    def is_deletion(self):
        return self.action_flag == DELETION

    def get_change_message(self):
        """The message as Django's LogEntry renders it (JSON messages translated)."""
        from django.contrib.admin.models import LogEntry

        return LogEntry.get_change_message(self)

    def get_edited_object(self):
        return self.content_type.get_object_for_this_type(pk=self.object_id)

    def get_admin_url(self):
        from django.contrib.admin.models import LogEntry

        return LogEntry.get_admin_url(self)
