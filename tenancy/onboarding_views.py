"""The onboarding pages: the operator's form that creates a tenant and invites its
owner, and the owner's set-password page behind the invitation link.

A bad link (altered, expired, already used) is a page that says so, with 400 or 410,
never a 500; the set-password page shows the form on GET and writes only on POST.
"""

from __future__ import annotations

import logging

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from tenancy.actions import do_accept_invitation, do_onboard_tenant
from tenancy.console import console_context
from tenancy.middleware import SESSION_KEY
from tenancy.models import TenantTier
from tenancy.onboarding import INVALID, check_link

log = logging.getLogger("dim.onboarding")


def _no_referrer(response):
    # The page's URL holds the token: never send it to another site as a Referer.
    response["Referrer-Policy"] = "no-referrer"
    return response


def _refused(request, slug, link):
    """The refusal page. Django logs every 4xx with the request's path, which here holds
    the token (still live when only the slug was edited): log the refusal without it."""
    response = render(
        request,
        "onboarding/link_refused.html",
        {
            "message": link.message,
            **console_context(request, _("This invitation link cannot be used")),
        },
        status=link.status,
    )
    log.warning(
        "invitation_link_refused",
        extra={"event": "invitation_link_refused", "tenant": slug, "status": link.status},
    )
    response._has_been_logged = True  # django.utils.log.log_response: already logged
    return _no_referrer(response)


@sensitive_post_parameters("new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
def accept_invitation(request, slug, uidb64, token):
    link = check_link(slug, uidb64, token)
    if not link.ok:
        return _refused(request, slug, link)
    form = SetPasswordForm(link.user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if not do_accept_invitation(link.user, link.tenant, form.cleaned_data["new_password1"]):
            return _refused(request, slug, INVALID)  # used by another request meanwhile
        login(request, link.user)
        request.session[SESSION_KEY] = link.tenant.slug  # land on this tenant's home
        messages.success(request, f"Welcome to {link.tenant.name}: your password is set.")
        return redirect("console-home")
    return _no_referrer(
        render(
            request,
            "onboarding/set_password.html",
            {
                "form": form,
                "tenant": link.tenant,
                "invited": link.user,
                **console_context(request, _("Choose your password")),
            },
        )
    )


class OnboardForm(forms.Form):
    slug = forms.CharField(
        max_length=63, help_text="1-63 lowercase letters, digits or inner hyphens."
    )
    name = forms.CharField(max_length=200)
    owner_email = forms.EmailField(max_length=254, label="Owner's email")
    tier = forms.ChoiceField(choices=TenantTier.choices, initial=TenantTier.FREE)


@login_required
@require_http_methods(["GET", "POST"])
def onboard_tenant_page(request):
    """Platform operators only: create a tenant and invite its owner."""
    if not request.user.is_superuser:
        raise PermissionDenied("Only platform operators create tenants.")
    form = OnboardForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            done = do_onboard_tenant(
                form.cleaned_data["slug"],
                form.cleaned_data["name"],
                form.cleaned_data["owner_email"],
                tier=form.cleaned_data["tier"],
                actor=request.user.get_username(),
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            what = "an invitation to choose a password" if done.invited else "a notice"
            messages.success(
                request,
                f"Tenant {done.tenant.slug} created; {what} went to {done.owner.email}.",
            )
            return redirect("console-home")
    return render(
        request,
        "onboarding/onboard.html",
        {"form": form, **console_context(request, _("New tenant"))},
    )
