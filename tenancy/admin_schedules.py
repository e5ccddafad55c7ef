"""Beat's schedules in the console, for platform operators only.

django-celery-beat's admin pages, replaced by subclasses that:

- show them to superusers only (tenant staff get a 403 even with Django model
  permissions: a schedule has no tenant, and its task may run in every tenant);
- let them change anything only under platform access (no tenant picked in the
  switcher), which is what the database asks for on PostgreSQL
  (tenancy/rls_schedules.py); with a tenant picked the pages are read-only and say why;
- say, per entry, whether it runs once per active tenant (`fan_out_task`) or once for
  the platform;
- refuse, as a form error, what beat or a worker would only trip over later: a crontab
  Celery cannot parse, an unregistered task, a fan-out of an unknown or platform task.
"""

from __future__ import annotations

import django_celery_beat.admin as beat_admin  # registers the stock pages first
from celery import current_app, schedules
from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from unfold.admin import ModelAdmin

from tenancy import schedules as product
from tenancy.context import in_platform_access

READ_ONLY_MESSAGE = gettext_lazy(
    "Schedules are read-only while a tenant is picked: they run for the whole platform. "
    "Choose “all tenants” in the tenant switcher to change them."
)


class PlatformOnlyAdmin(ModelAdmin):
    def _operator(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def _may_write(self, request) -> bool:
        return self._operator(request) and in_platform_access()

    def has_module_permission(self, request):
        return self._operator(request)

    def has_view_permission(self, request, obj=None):
        return self._operator(request)

    def has_change_permission(self, request, obj=None):
        return self._may_write(request)

    def has_add_permission(self, request, *args):
        return self._may_write(request)

    def has_delete_permission(self, request, obj=None):
        return self._may_write(request)

    def get_actions(self, request):
        # The stock actions (enable, disable, run) declare no permission of their own.
        return super().get_actions(request) if self._may_write(request) else {}

    def changelist_view(self, request, extra_context=None):
        if self._operator(request) and not in_platform_access():
            self.message_user(request, READ_ONLY_MESSAGE, messages.INFO)
        return super().changelist_view(request, extra_context)


def registered_tasks() -> dict:
    current_app.loader.import_default_modules()
    return current_app.tasks


class PeriodicTaskForm(beat_admin.PeriodicTaskForm):
    def clean(self):
        data = super().clean()
        task = data.get("task")
        tasks = registered_tasks()
        if task and task not in tasks:
            self.add_error(
                "task",
                _("No worker knows the task %(task)r: pick one of the registered tasks.")
                % {"task": task},
            )
        args = product.parse_args(data.get("args")) if "args" in data else []
        target = product.fan_out_target(task, args)
        if task == product.FAN_OUT_TASK and target is None:
            self.add_error(
                "args",
                _('fan_out_task needs the per-tenant task’s name first, e.g. ["app.tasks.x"]'),
            )
        elif target is not None and not getattr(tasks.get(target), "tenant_scoped", False):
            self.add_error(
                "args",
                _(
                    "%(task)r is not a registered per-tenant task: fan_out_task runs one "
                    "in each tenant’s context."
                )
                % {"task": target},
            )
        return data


class PeriodicTaskAdmin(PlatformOnlyAdmin, beat_admin.PeriodicTaskAdmin):
    form = PeriodicTaskForm
    list_display = ("name", "enabled", "runs", "scheduler", "last_run_at", "total_run_count")
    readonly_fields = ("runs", "last_run_at", "crontab_translation")
    fieldsets = (
        (None, {"fields": ("name", "regtask", "task", "runs", "enabled", "description")}),
        *beat_admin.PeriodicTaskAdmin.fieldsets[1:],
    )

    @admin.display(description=gettext_lazy("Runs"))
    def runs(self, obj):
        if obj is None or not obj.task:
            return "–"
        return product.runs_label(obj.task, product.parse_args(obj.args))


CRONTAB_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")


class CrontabForm(forms.ModelForm):
    class Meta:
        model = CrontabSchedule
        fields = (*CRONTAB_FIELDS, "timezone")

    def clean(self):
        data = super().clean()
        parts = {name: data.get(name) for name in CRONTAB_FIELDS}
        if None in parts.values():
            return data  # a field's own validator has already said what is wrong
        try:
            schedules.crontab(**parts)
        except (ValueError, TypeError, schedules.ParseException) as exc:
            raise forms.ValidationError(
                _(
                    "Beat cannot use this crontab: %(error)s Each field takes numbers, ranges "
                    "(1-5), lists (1,15) and steps (*/15); days of the week run 0-6 from "
                    "Sunday; e.g. minute 0 and hour 4 for every day at 04:00."
                )
                % {"error": exc}
            ) from exc
        return data


class CrontabScheduleAdmin(PlatformOnlyAdmin, beat_admin.CrontabScheduleAdmin):
    form = CrontabForm


class IntervalScheduleAdmin(PlatformOnlyAdmin, beat_admin.IntervalScheduleAdmin):
    pass


class SolarScheduleAdmin(PlatformOnlyAdmin, beat_admin.SolarScheduleAdmin):
    pass


class ClockedScheduleAdmin(PlatformOnlyAdmin, beat_admin.ClockedScheduleAdmin):
    pass


def register(site=admin.site) -> None:
    for model, model_admin in (
        (PeriodicTask, PeriodicTaskAdmin),
        (CrontabSchedule, CrontabScheduleAdmin),
        (IntervalSchedule, IntervalScheduleAdmin),
        (SolarSchedule, SolarScheduleAdmin),
        (ClockedSchedule, ClockedScheduleAdmin),
    ):
        if site.is_registered(model):
            site.unregister(model)
        site.register(model, model_admin)
