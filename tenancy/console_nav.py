"""The core's sections of the console sidebar: the overview, tenants and the platform
(users, groups, schedules). The managers add theirs from their own apps."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from tenancy.console_registry import (
    NavItem,
    register_admin_models,
    register_item,
    register_section,
)
from tenancy.models import Membership, Tenant, TenantSetting


def operator(request) -> bool:
    return request.user.is_active and request.user.is_superuser


def register() -> None:
    register_section("overview", _("Overview"), icon="home", order=0)
    register_item("overview", NavItem(_("Operations home"), "console-home", icon="home"))
    register_section("tenancy", _("Tenants"), icon="domain", order=10)
    register_item(
        "tenancy",
        NavItem(
            _("Onboard a tenant"),
            "console-onboard-tenant",
            icon="add_business",
            permission=operator,
        ),
    )
    register_admin_models("tenancy", [Tenant, Membership, TenantSetting])
    register_section("platform", _("Platform"), icon="settings", order=900)
    register_admin_models(
        "platform",
        [
            get_user_model(),
            Group,
            PeriodicTask,
            CrontabSchedule,
            IntervalSchedule,
            SolarSchedule,
            ClockedSchedule,
        ],
    )
