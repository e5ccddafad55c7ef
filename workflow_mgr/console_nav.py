"""The workflows' section of the console sidebar: the runs page and the admin's list."""

from django.utils.translation import gettext_lazy as _

from tenancy.console_registry import NavItem, register_admin_models, register_item, register_section
from workflow_mgr.console import may_view
from workflow_mgr.models import WorkflowRun


def register() -> None:
    register_section("workflows", _("Workflows"), icon="account_tree", order=65)
    register_item(
        "workflows",
        NavItem(_("Workflow runs"), "console-workflows", icon="account_tree", permission=may_view),
    )
    register_admin_models("workflows", [WorkflowRun])
