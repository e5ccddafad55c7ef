"""Console: the tenant's long jobs with their progress; resume and cancel as actions on
the list (and buttons on a job's page). Nothing else about a job is editable."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from jobs_mgr import actions
from jobs_mgr.display import job_display
from jobs_mgr.models import Job
from tenancy.admin_base import TenantScopedAdmin, tenant_role_at_least
from tenancy.context import get_current_tenant_id
from tenancy.models import Role

DONE = {
    actions.resume_job: lambda n: ngettext(
        "%(n)d job queued to resume.", "%(n)d jobs queued to resume.", n
    ),
    actions.cancel_job: lambda n: ngettext(
        "%(n)d job cancelled or asked to cancel.", "%(n)d jobs cancelled or asked to cancel.", n
    ),
}


@admin.register(Job)
class JobAdmin(TenantScopedAdmin):
    view_role = Role.ADMIN
    edit_role = Role.ADMIN
    list_display = [
        "id",
        "kind",
        "state",
        "progress_bar",
        "attempts",
        "heartbeat_at",
        "lease_expires_at",
        "created_at",
    ]
    list_filter = ["state", "kind"]
    readonly_fields = [f.name for f in Job._meta.concrete_fields if f.name != "lease_token"] + [
        "progress_bar"
    ]
    exclude = ["lease_token"]
    actions = ["resume_selected", "cancel_selected"]
    change_form_template = "admin/jobs_mgr/job/change_form.html"

    def has_add_permission(self, request):
        return False  # jobs are started by their feature (e.g. a key rewrap)

    def has_delete_permission(self, request, obj=None):
        return False  # the history of what ran stays

    def has_change_permission(self, request, obj=None):
        # Viewing only; resume and cancel are actions with their own check.
        return False

    def _may_act(self, request) -> bool:
        return get_current_tenant_id() is not None and tenant_role_at_least(request, self.edit_role)

    def get_actions(self, request):
        return super().get_actions(request) if self._may_act(request) else {}

    @admin.display(description=gettext_lazy("progress"))
    def progress_bar(self, job):
        return format_html(
            '<progress max="1" value="{}"></progress> {} / {} ({}%)',
            f"{job.progress:.4f}",
            job.progress_done,
            job.progress_total,
            round(job.progress * 100),
        )

    def _apply(self, request, change, jobs):
        done, refused = 0, []
        for job in jobs:
            try:
                change(job.pk, actor=request.user.get_username())
                done += 1
            except actions.JobConflict as exc:
                refused.append(_("Job #%(id)s: %(why)s") % {"id": job.pk, "why": exc})
        if done:
            self.message_user(request, DONE[change](done) % {"n": done}, messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)

    @admin.action(description=gettext_lazy("Resume selected jobs (continue from the checkpoint)"))
    def resume_selected(self, request, queryset):
        self._apply(request, actions.resume_job, queryset)

    @admin.action(description=gettext_lazy("Cancel selected jobs (at their next step)"))
    def cancel_selected(self, request, queryset):
        self._apply(request, actions.cancel_job, queryset)

    # --- buttons on a job's page -------------------------------------------------------

    def get_urls(self):
        return [
            *(
                path(
                    f"<path:object_id>/{verb}/",
                    self.admin_site.admin_view(self.act_view),
                    {"verb": verb},
                    name=f"jobs_mgr_job_{verb}",
                )
                for verb in ("resume", "cancel")
            ),
            *super().get_urls(),
        ]

    def act_view(self, request, object_id, verb):
        change = {"resume": actions.resume_job, "cancel": actions.cancel_job}.get(verb)
        if request.method != "POST" or change is None or not self._may_act(request):
            raise PermissionDenied
        job = self.get_object(request, object_id)
        if job is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        self._apply(request, change, [job])
        return HttpResponseRedirect(reverse("admin:jobs_mgr_job_change", args=[job.pk]))

    def render_change_form(self, request, context, *args, **kwargs):
        context["may_act"] = self._may_act(request)
        job = context.get("original")
        if job is not None:
            # The live bar of the console's job page (jobs_mgr/console.py).
            context["job_p"] = job_display(job)
            context["progress_url"] = reverse("console-jobs-progress")
        return super().render_change_form(request, context, *args, **kwargs)
