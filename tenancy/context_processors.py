from django.utils.translation import gettext as _


def _console_message(error) -> str:
    """The resolution error in the browser's words: the API's message points at the
    X-Tenant header, the console has a switcher."""
    if error is None:
        return ""
    if error.code == "tenant_required":
        return _(
            "You belong to several tenants: choose one in the tenant switcher at the top "
            "of the page."
        )
    return error.message


def tenant(request):
    return {
        "current_tenant": getattr(request, "tenant", None),
        "current_membership": getattr(request, "membership", None),
        "tenant_error": getattr(request, "tenant_error", None),
        "tenant_error_message": _console_message(getattr(request, "tenant_error", None)),
    }
