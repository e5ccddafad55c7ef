"""Metadata in the console: records with their content and version history, a diff
page between any two versions and a rollback page (GET asks, POST rolls back); soft
delete and restore as list actions; subjects with their schema versions; imports with
their job and rejected lines. Every change goes through the actions (versioned,
audited), so nothing here edits a row directly."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from metadata_mgr import actions, selectors
from metadata_mgr.content import record_content
from metadata_mgr.exceptions import MetadataError
from metadata_mgr.models import ImportFile, ImportRejection, Record, Subject
from tenancy.admin_base import TenantScopedAdmin, tenant_role_at_least
from tenancy.context import get_current_tenant_id
from tenancy.models import Role

HISTORY_ROWS = 100


def _pretty(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _displayed(diff) -> list[dict]:
    return [
        {
            **change,
            "old_text": _pretty(change["old"]) if "old" in change else "",
            "new_text": _pretty(change["new"]) if "new" in change else "",
        }
        for change in (diff["changes"] if diff else [])
    ]


class DeletedFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("0", _("Live")), ("1", _("Deleted"))]

    def queryset(self, request, queryset):
        if self.value() == "0":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "1":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class ReadOnlyAdmin(TenantScopedAdmin):
    """Changes go through the actions: no add, change or (hard) delete form."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _may_act(self, request) -> bool:
        return get_current_tenant_id() is not None and tenant_role_at_least(request, Role.MEMBER)


@admin.register(Record)
class RecordAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "metadata_type",
        "version",
        "owner",
        "sensitive",
        "updated_at",
        "deleted_at",
    ]
    list_filter = [DeletedFilter, "metadata_type", "sensitive"]
    search_fields = ["name", "owner"]
    list_select_related = ["subject"]
    actions = ["soft_delete_selected", "restore_selected"]
    fields = [
        "name",
        "metadata_type",
        "version",
        "owner",
        "tags",
        "sensitive",
        "subject",
        "subject_version",
        "content_bytes",
        "created_by",
        "created_at",
        "updated_at",
        "deleted_at",
        "content_view",
        "history",
    ]
    readonly_fields = fields

    def get_actions(self, request):
        return super().get_actions(request) if self._may_act(request) else {}

    @admin.display(description=gettext_lazy("content"))
    def content_view(self, record):
        try:
            return format_html("<pre>{}</pre>", _pretty(record_content(record)))
        except MetadataError as exc:
            return format_html("<em>{}</em>", exc.message)

    @admin.display(description=gettext_lazy("version history"))
    def history(self, record):
        versions = list(selectors.versions_of(record)[:HISTORY_ROWS])
        rows = []
        for version in versions:
            previous = version.seq - 1
            diff = (
                reverse("admin:metadata_mgr_record_diff", args=[record.pk])
                + f"?from={previous}&to={version.seq}"
                if previous
                else ""
            )
            rollback = reverse("admin:metadata_mgr_record_rollback", args=[record.pk, version.seq])
            rows.append(
                (
                    version.label,
                    version.get_op_display(),
                    _("breaking") if version.breaking else "",
                    f"+{version.added} ~{version.changed} -{version.removed}",
                    version.actor,
                    version.created_at,
                    format_html('<a class="underline" href="{}">{}</a>', diff, _("Diff"))
                    if diff
                    else "",
                    format_html(
                        '<a class="underline" href="{}">{}</a>',
                        rollback,
                        _("Roll back to this version"),
                    )
                    if version.seq != record.version_seq and record.deleted_at is None
                    else "",
                )
            )
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{}</td></tr>",
            rows,
        )
        return format_html('<table data-history="1">{}</table>', body)

    @admin.action(description=gettext_lazy("Delete selected records (soft: restorable)"))
    def soft_delete_selected(self, request, queryset):
        self._each(request, queryset.filter(deleted_at__isnull=True), actions.do_delete_record)

    @admin.action(description=gettext_lazy("Restore selected records"))
    def restore_selected(self, request, queryset):
        self._each(request, queryset.filter(deleted_at__isnull=False), actions.do_restore_record)

    def _each(self, request, queryset, change) -> None:
        done = 0
        for record in queryset:
            try:
                change(record.pk, actor=request.user.get_username())
                done += 1
            except MetadataError as exc:
                self.message_user(request, f"{record.name}: {exc.message}", messages.WARNING)
        if done:
            self.message_user(request, _("%(n)d record(s) changed.") % {"n": done})

    # --- diff and rollback pages --------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/diff/",
                self.admin_site.admin_view(self.diff_view),
                name="metadata_mgr_record_diff",
            ),
            path(
                "<path:object_id>/rollback/<int:seq>/",
                self.admin_site.admin_view(self.rollback_view),
                name="metadata_mgr_record_rollback",
            ),
            *super().get_urls(),
        ]

    def _record_or_redirect(self, request, object_id):
        record = self.get_object(request, object_id)
        if record is None or not self.has_view_permission(request, record):
            return None, self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return record, None

    def diff_view(self, request, object_id):
        record, redirect = self._record_or_redirect(request, object_id)
        if redirect:
            return redirect
        source = request.GET.get("from") or "1"
        target = request.GET.get("to") or "latest"
        try:
            diff = selectors.diff_versions(record, source, target)
            error = ""
        except MetadataError as exc:
            diff, error = None, exc.message
        context = {
            **self.admin_site.each_context(request),
            "title": _("Changes of %(name)s") % {"name": record.name},
            "record": record,
            "diff": diff,
            "error": error,
            "changes": _displayed(diff),
            "versions": list(selectors.versions_of(record).values_list("seq", "label")),
            "opts": self.opts,
            "change_url": reverse("admin:metadata_mgr_record_change", args=[record.pk]),
        }
        return TemplateResponse(request, "admin/metadata_mgr/record/diff.html", context)

    def rollback_view(self, request, object_id, seq):
        record, redirect = self._record_or_redirect(request, object_id)
        if redirect:
            return redirect
        change_url = reverse("admin:metadata_mgr_record_change", args=[record.pk])
        if request.method == "POST":
            if not self._may_act(request):
                raise PermissionDenied
            try:
                _record, version = actions.do_rollback_record(
                    record.pk, seq, actor=request.user.get_username()
                )
            except MetadataError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("Rolled back: version %(label)s equals version %(seq)s.")
                    % {"label": version.label, "seq": seq},
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(change_url)
        try:
            diff = selectors.diff_versions(record, "latest", seq)
            error = ""
        except MetadataError as exc:
            diff, error = None, exc.message
        context = {
            **self.admin_site.each_context(request),
            "title": _("Roll %(name)s back to version %(seq)s?")
            % {"name": record.name, "seq": seq},
            "record": record,
            "diff": diff,
            "changes": _displayed(diff),
            "error": error,
            "may_act": self._may_act(request),
            "opts": self.opts,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/metadata_mgr/record/rollback.html", context)


@admin.register(Subject)
class SubjectAdmin(ReadOnlyAdmin):
    list_display = ["name", "compatibility", "open_content_aware", "updated_at"]
    list_filter = ["compatibility", "open_content_aware"]
    search_fields = ["name"]
    fields = [
        "name",
        "compatibility",
        "effective_mode",
        "open_content_aware",
        "description",
        "created_at",
        "updated_at",
        "schema_versions",
    ]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("effective mode"))
    def effective_mode(self, subject):
        return actions.effective_mode(subject)

    @admin.display(description=gettext_lazy("schema versions"))
    def schema_versions(self, subject):
        rows = (
            (v.version, v.created_at, v.created_by, v.fingerprint[:12], _pretty(v.schema))
            for v in selectors.subject_versions(subject).order_by("-version")
        )
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "",
                "<tr><td>v{}</td><td>{}</td><td>{}</td><td><code>{}</code></td>"
                "<td><pre>{}</pre></td></tr>",
                rows,
            ),
        )


@admin.register(ImportFile)
class ImportFileAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "filename", "lines", "size_bytes", "job", "created_by"]
    fields = [
        "filename",
        "lines",
        "size_bytes",
        "job",
        "created_by",
        "created_at",
        "rejected_lines",
    ]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("rejected lines (first 200)"))
    def rejected_lines(self, imported):
        rows = ImportRejection.objects.filter(import_id=imported.pk).order_by("line")[:200]
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((r.line, r.code, r.reason) for r in rows),
            ),
        )
