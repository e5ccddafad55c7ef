"""Admin base for tenant-scoped models.

Superusers see every tenant (the console runs them under the recorded platform escape
hatch unless they picked a tenant) with a tenant column and filter. A tenant's staff see
their tenant only: the queryset is the scoped manager's, so lists, change and delete
pages, search, autocomplete and foreign-key choices cannot reach another tenant's rows,
and a foreign id answers "does not exist" exactly like a missing one.

History is tenant-scoped too: additions, changes and deletions are logged to
`AdminLogEntry` (a scoped model with RLS) in the row's tenant, never to Django's
unscoped `django_admin_log`, and are offered to `tenancy.admin_history`'s listeners (the
audit log); history pages read that log, and the admin index's "recent actions" show the
current tenant's entries only. A database conflict (IntegrityError) that reaches a form
is answered with a generic message, never the database's DETAIL text, which names
values.
"""

from __future__ import annotations

import heapq
import itertools
from types import MethodType

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin

from tenancy import admin_history
from tenancy.context import get_current_tenant_id, in_platform_access
from tenancy.models import ROLE_RANK, AdminLogEntry, Role
from tenancy.models.adminlog import ADDITION, CHANGE, DELETION

CONFLICT_MESSAGE = gettext_lazy(
    "The change conflicts with existing data and was not saved. Check the values and try again."
)


def _role(request) -> str | None:
    membership = getattr(request, "membership", None)
    return membership.role if membership is not None else None


def tenant_role_at_least(request, minimum: str) -> bool:
    if request.user.is_superuser:
        return True
    role = _role(request)
    return (
        role is not None
        and get_current_tenant_id() is not None
        and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(minimum)]
    )


class _MergedLog:
    """Two logs as one for the index's `{% get_admin_log %}` (it filters, then slices):
    a platform operator's recent actions span the stock log (unscoped models such as
    tenants and users) and the scoped log of every tenant."""

    def __init__(self, *querysets):
        self.querysets = querysets

    def filter(self, *args, **kwargs):
        return _MergedLog(*(qs.filter(*args, **kwargs) for qs in self.querysets))

    def __getitem__(self, item):
        if not isinstance(item, slice) or item.start or item.step or item.stop is None:
            raise TypeError("only [:n] is supported")
        newest = heapq.merge(
            *(qs[: item.stop] for qs in self.querysets),
            key=lambda entry: entry.action_time,
            reverse=True,
        )
        return list(itertools.islice(newest, item.stop))


def scoped_log_entries(site, request):
    """`AdminSite.get_log_entries` for the index's "recent actions": in a tenant, that
    tenant's entries only; under the platform escape hatch, every tenant's and the stock
    log; with no context, nothing."""
    from django.contrib.admin.models import LogEntry

    # Content types (like users) are platform rows: read from the default database, never
    # joined in a dedicated tenant's (whose own table's ids need not match; issue 17).
    scoped = AdminLogEntry.objects.prefetch_related("content_type")
    if get_current_tenant_id() is not None:
        return scoped
    if request.user.is_superuser and in_platform_access():
        return _MergedLog(LogEntry.objects.select_related("content_type", "user"), scoped)
    return LogEntry.objects.none()


def use_scoped_history(site) -> None:
    """Make `site`'s index read the scoped log (once per site)."""
    if not getattr(site, "_dim_scoped_history", False):
        site.get_log_entries = MethodType(scoped_log_entries, site)
        site._dim_scoped_history = True


class TenantScopedAdmin(ModelAdmin):
    view_role = Role.VIEWER
    edit_role = Role.ADMIN

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        use_scoped_history(admin_site)

    # --- history: the scoped log, in the row's tenant ---------------------------------

    def log_addition(self, request, obj, message):
        return admin_history.log_actions(request, [obj], ADDITION, message)[0]

    def log_change(self, request, obj, message):
        return admin_history.log_actions(request, [obj], CHANGE, message)[0]

    def log_deletion(self, request, obj, object_repr):
        """Django < 5.1's hook (deprecated since): the same scoped entry."""
        entry = admin_history.log_actions(request, [obj], DELETION)[0]
        if object_repr != entry.object_repr:
            entry.object_repr = str(object_repr)[:200]
            entry.save(update_fields=["object_repr"])
        return entry

    def log_deletions(self, request, queryset):
        return admin_history.log_actions(request, list(queryset), DELETION)

    def history_view(self, request, object_id, extra_context=None):
        """Django's history page, reading the scoped log (this tenant's entries only;
        every tenant's under the escape hatch, where the object may be any tenant's)."""
        from django.contrib.admin.views.main import PAGE_VAR

        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        content_type = ContentType.objects.get_for_model(self.model, for_concrete_model=False)
        action_list = (
            AdminLogEntry.objects.filter(
                tenant_id=obj.tenant_id, object_id=str(obj.pk), content_type=content_type
            )
            .prefetch_related("content_type", "user")  # platform rows: never joined
            .order_by("action_time", "id")
        )
        paginator = self.get_paginator(request, action_list, 100)
        page_obj = paginator.get_page(request.GET.get(PAGE_VAR, 1))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Change history: %s") % obj,
            "subtitle": None,
            "action_list": page_obj,
            "page_range": paginator.get_elided_page_range(page_obj.number),
            "page_var": PAGE_VAR,
            "pagination_required": paginator.count > 100,
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "object": obj,
            "opts": self.opts,
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        app_label, model_name = self.opts.app_label, self.opts.model_name
        return TemplateResponse(
            request,
            self.object_history_template
            or [
                f"admin/{app_label}/{model_name}/object_history.html",
                f"admin/{app_label}/object_history.html",
                "admin/object_history.html",
            ],
            context,
        )

    # --- conflicts: a generic message, never the database's DETAIL ----------------------

    def _conflict_is_a_message(self, request, view, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except IntegrityError:
            # The view's atomic block has rolled back. DETAIL would name the values
            # (possibly of a key another tenant holds, were a key not scoped): say nothing
            # of them, and send the user back to the page.
            self.message_user(request, CONFLICT_MESSAGE, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._conflict_is_a_message(
            request, super().changeform_view, object_id, form_url, extra_context
        )

    def delete_view(self, request, object_id, extra_context=None):
        return self._conflict_is_a_message(request, super().delete_view, object_id, extra_context)

    def changelist_view(self, request, extra_context=None):
        return self._conflict_is_a_message(request, super().changelist_view, extra_context)

    def _in_scope(self, request) -> bool:
        return get_current_tenant_id() is not None or (
            request.user.is_superuser and in_platform_access()
        )

    def has_module_permission(self, request):
        return self._in_scope(request) and tenant_role_at_least(request, self.view_role)

    def has_view_permission(self, request, obj=None):
        return self._in_scope(request) and tenant_role_at_least(request, self.view_role)

    def has_change_permission(self, request, obj=None):
        return self._in_scope(request) and tenant_role_at_least(request, self.edit_role)

    def has_delete_permission(self, request, obj=None):
        return self._in_scope(request) and tenant_role_at_least(request, self.edit_role)

    def has_add_permission(self, request):
        # Adding needs a tenant to put the row in: not available under platform access.
        return get_current_tenant_id() is not None and tenant_role_at_least(request, self.edit_role)

    def get_ordering(self, request):
        # Stable pages (and autocomplete pages) for models without Meta.ordering.
        return super().get_ordering(request) or self.model._meta.ordering or ["pk"]

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if in_platform_access() and "tenant" not in columns:
            columns.insert(1 if columns else 0, "tenant")
        return columns

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if in_platform_access() and "tenant" not in filters:
            filters.insert(0, "tenant")
        return filters

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and "tenant" not in fields:
            fields.insert(0, "tenant")
        return fields
