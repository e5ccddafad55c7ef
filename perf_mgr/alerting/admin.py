"""Alerting in the console: rules and channels are edited here (validated exactly as
the API validates them), alerts and the outbox are read-only."""

from __future__ import annotations

from contextlib import nullcontext

from django import forms
from django.contrib import admin

from perf_mgr.alerting import actions, rules
from perf_mgr.models.alerting import (
    AlertChannel,
    AlertNotification,
    AlertRoute,
    AlertRule,
    AlertSilence,
    AlertState,
)
from tenancy.admin_base import TenantScopedAdmin
from tenancy.context import get_current_tenant_id, tenant_context
from tenancy.models import Role


def _in_rows_tenant(instance):
    """Validate in the row's tenant (an operator under platform access edits any)."""
    if instance is not None and instance.pk and get_current_tenant_id() is None:
        return tenant_context(instance.tenant)
    return nullcontext()


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = [
            "name", "condition", "severity", "for_s", "keep_firing_for_s", "labels",
            "annotations", "enabled",
        ]  # fmt: skip
        widgets = {"condition": forms.Textarea(attrs={"rows": 3})}

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        current = {
            "name": data.get("name"),
            "condition": data.get("condition"),
            "severity": data.get("severity"),
            "for": data.get("for_s") or 0,
            "keep_firing_for": data.get("keep_firing_for_s") or 0,
            "labels": data.get("labels") or {},
            "annotations": data.get("annotations") or {},
        }
        with _in_rows_tenant(self.instance):
            try:
                spec = actions.validated_rule(current, self.instance if self.instance.pk else None)
            except rules.RuleError as exc:
                field = {"for": "for_s", "keep_firing_for": "keep_firing_for_s"}.get(
                    exc.field, exc.field
                )
                where = f" (line {exc.line}, column {exc.column})" if exc.line else ""
                target = field if field in self.fields else None
                self.add_error(target, exc.message + where)
                return data
        data.update(labels=spec.labels, annotations=spec.annotations, condition=spec.condition)
        return data


@admin.register(AlertRule)
class AlertRuleAdmin(TenantScopedAdmin):
    form = AlertRuleForm
    view_role = Role.VIEWER
    edit_role = Role.ADMIN
    list_display = ["name", "condition", "severity", "enabled", "health", "last_evaluated_at"]
    list_filter = ["severity", "enabled", "health"]
    search_fields = ["name", "condition"]
    readonly_fields = ["health", "health_detail", "last_evaluated_at"]


class ReadOnly(TenantScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AlertState)
class AlertStateAdmin(ReadOnly):
    view_role = Role.VIEWER
    list_display = ["rule", "status", "labels", "value", "fired_at", "resolved_at", "incident"]
    list_filter = ["status"]
    list_select_related = ["rule"]


class AlertChannelForm(forms.ModelForm):
    class Meta:
        model = AlertChannel
        fields = ["name", "kind", "target", "min_severity", "enabled"]

    def clean(self):
        data = super().clean()
        if data.get("kind") and data.get("target") is not None:
            try:
                data["target"] = actions.check_channel_target(data["kind"], data["target"])
            except ValueError as exc:
                self.add_error("target", str(exc))
        return data


@admin.register(AlertChannel)
class AlertChannelAdmin(TenantScopedAdmin):
    form = AlertChannelForm
    view_role = Role.ADMIN
    edit_role = Role.ADMIN
    list_display = ["name", "kind", "target", "min_severity", "enabled"]
    readonly_fields = ["secret"]


@admin.register(AlertNotification)
class AlertNotificationAdmin(ReadOnly):
    view_role = Role.ADMIN
    list_display = [
        "created_at", "rule_name", "transition", "channel", "status", "attempts",
        "next_attempt_at", "delivered_at",
    ]  # fmt: skip
    list_filter = ["status", "transition"]
    exclude = ["payload"]
    show_full_result_count = False


class AlertSilenceForm(forms.ModelForm):
    class Meta:
        model = AlertSilence
        fields = ["matchers", "starts_at", "ends_at", "comment"]

    def clean(self):
        from django.utils import timezone

        data = super().clean()
        if self.errors:
            return data
        try:
            actions.check_silence(
                data.get("matchers"), data.get("starts_at"), data.get("ends_at"), timezone.now()
            )
        except ValueError as exc:
            field, reason = exc.args
            self.add_error(field, reason)
        return data


@admin.register(AlertSilence)
class AlertSilenceAdmin(TenantScopedAdmin):
    form = AlertSilenceForm
    view_role = Role.VIEWER
    edit_role = Role.MEMBER
    list_display = ["__str__", "starts_at", "ends_at", "comment", "created_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)


class AlertRouteForm(forms.ModelForm):
    class Meta:
        model = AlertRoute
        fields = ["group_by", "group_wait_s", "group_interval_s", "repeat_interval_s"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            actions.check_route(
                data.get("group_by"),
                data.get("group_wait_s"),
                data.get("group_interval_s"),
                data.get("repeat_interval_s"),
            )
        except ValueError as exc:
            field, reason = exc.args
            self.add_error(field if field == "group_by" else f"{field}_s", reason)
        return data


@admin.register(AlertRoute)
class AlertRouteAdmin(TenantScopedAdmin):
    form = AlertRouteForm
    view_role = Role.VIEWER
    edit_role = Role.ADMIN
    list_display = ["__str__", "group_wait_s", "group_interval_s", "repeat_interval_s"]
