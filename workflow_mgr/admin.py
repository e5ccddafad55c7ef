"""Console admin: the tenant's workflow runs with their step runs (read only); retry,
cancel and compensate as actions on the list. Runs are started by features or the API."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenancy.admin_base import TenantScopedAdmin, tenant_role_at_least
from tenancy.context import get_current_tenant_id
from tenancy.models import Role
from workflow_mgr import actions
from workflow_mgr.models import StepRun, WorkflowRun


class StepRunInline(admin.TabularInline):
    model = StepRun
    fields = ["name", "phase", "state", "attempts", "output", "error", "started_at", "finished_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WorkflowRun)
class WorkflowRunAdmin(TenantScopedAdmin):
    view_role = Role.VIEWER
    edit_role = Role.MEMBER
    list_display = ["id", "name", "state", "compensation_strategy", "created_at", "finished_at"]
    list_filter = ["state", "name", "compensation_strategy"]
    readonly_fields = [f.name for f in WorkflowRun._meta.concrete_fields]
    inlines = [StepRunInline]
    actions = ["retry_selected", "cancel_selected", "compensate_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the history of what ran stays

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        may = get_current_tenant_id() is not None and tenant_role_at_least(request, self.edit_role)
        return super().get_actions(request) if may else {}

    def _apply(self, request, change, runs):
        for run in runs:
            try:
                change(run.pk, actor=request.user.get_username())
            except actions.WorkflowConflict as exc:
                self.message_user(
                    request,
                    _("Run #%(id)s: %(why)s") % {"id": run.pk, "why": exc},
                    messages.WARNING,
                )
            else:
                self.message_user(request, _("Run #%(id)s: done.") % {"id": run.pk})

    @admin.action(description=gettext_lazy("Retry the failed step of the selected runs"))
    def retry_selected(self, request, queryset):
        self._apply(request, actions.retry_run, queryset)

    @admin.action(description=gettext_lazy("Cancel the selected runs (and compensate)"))
    def cancel_selected(self, request, queryset):
        self._apply(request, actions.cancel_run, queryset)

    @admin.action(description=gettext_lazy("Compensate the selected runs"))
    def compensate_selected(self, request, queryset):
        self._apply(request, actions.compensate_run, queryset)
