"""Onboarding a tenant: what an operator's request must look like, the owner's
invitation link, and the invitation email.

The action (`tenancy.actions.do_onboard_tenant`) creates the tenant, its owner and the
OWNER membership; this module holds the parts the action, the API, the console form
and the `create_tenant` command share, so that all four refuse the same input with
the same messages.

The invitation link is Django's password-reset token under a salt of its own (a reset
token is not an invitation, and the other way round). Its hash covers the user's
password hash and last login, so it works once: setting the password (and signing in)
changes both. It expires after `PASSWORD_RESET_TIMEOUT` seconds. The link also names
the tenant, so that the owner lands on that tenant's home, and a link edited to name
another tenant is refused.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import EmailValidator
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from tenancy.language import preferred_language
from tenancy.models import Membership, Tenant, TenantTier
from tenancy.models.tenant import SLUG_PATTERN

log = logging.getLogger("dim.onboarding")

_SLUG_RE = re.compile(SLUG_PATTERN)
_USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")
NAME_MAX = 200
EMAIL_MAX = 254


@dataclass(frozen=True)
class OnboardingRequest:
    slug: str
    name: str
    owner_email: str
    tier: str


def _clean_text(value) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip()


def parse_onboarding(slug, name, owner_email, tier=TenantTier.FREE) -> OnboardingRequest:
    """The operator's input, checked and normalised; `ValidationError` with one message
    per bad field (`slug`, `name`, `owner_email`, `tier`) otherwise. Reads nothing: a
    slug already taken is the action's to refuse."""
    errors: dict[str, str] = {}
    clean_slug = _clean_text(slug)
    if not clean_slug or not _SLUG_RE.fullmatch(clean_slug):
        errors["slug"] = _(
            "A tenant slug is 1-63 lowercase letters, digits or inner hyphens "
            "(e.g. 'acme' or 'acme-eu')."
        )
    clean_name = _clean_text(name)
    if not clean_name:
        errors["name"] = _("Give the tenant a name (what its members see).")
    elif len(clean_name) > NAME_MAX:
        errors["name"] = _("A tenant name has at most %(max)d characters.") % {"max": NAME_MAX}
    elif any(unicodedata.category(ch) in ("Cc", "Cs") for ch in clean_name):
        errors["name"] = _("A tenant name cannot contain control characters.")
    email = _clean_text(owner_email)
    try:
        if not email or len(email) > EMAIL_MAX:
            raise ValidationError("bad length")
        EmailValidator()(email)
    except ValidationError:
        errors["owner_email"] = _("Give the owner's email address, e.g. owner@example.com.")
    else:
        email = get_user_model().objects.normalize_email(email)
    if tier not in TenantTier.values:
        errors["tier"] = _("The tier is one of: %(tiers)s.") % {
            "tiers": ", ".join(TenantTier.values)
        }
    if errors:
        raise ValidationError(errors)
    return OnboardingRequest(clean_slug, clean_name, email, tier)


def free_username(email: str) -> str:
    """A username for a new owner: the email when it is a valid username (and free),
    else a cleaned-up form of it with a number."""
    User = get_user_model()
    base = _USERNAME_UNSAFE.sub("-", email.lower())[:140] or "owner"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


# --- the invitation link ----------------------------------------------------------------


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "tenancy.onboarding.InvitationTokenGenerator"

    def hash_matches(self, user, token: str) -> bool:
        """The token was made for this user in its current state, however old it is:
        tells an expired link from a used or edited one."""
        try:
            ts_b36, _ = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError:
            return False
        return any(
            constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        )


invitation_tokens = InvitationTokenGenerator()


def invitation_path(user, tenant: Tenant, token: str | None = None) -> str:
    return reverse(
        "onboarding-accept",
        kwargs={
            "slug": tenant.slug,
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": token or invitation_tokens.make_token(user),
        },
    )


def public_url(path: str, base_url: str = "") -> str:
    """An absolute URL for mail: `DIM_PUBLIC_URL` when set (never a request's Host
    header, which a client chooses), else the request's address, else localhost."""
    base = settings.DIM_PUBLIC_URL or base_url or "http://localhost:8000/"
    return urljoin(base if base.endswith("/") else base + "/", path.lstrip("/"))


def needs_password(user) -> bool:
    """Invite with a set-password link only users who cannot sign in yet. Platform
    operators set theirs with `manage.py changepassword` (the database refuses a
    superuser's password change outside platform access)."""
    return not user.has_usable_password() and not user.is_superuser


@dataclass(frozen=True)
class LinkCheck:
    user: object = None
    tenant: Tenant | None = None
    status: int = 200
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200


# One answer for a link that was used and one that was altered or names no one: telling
# them apart would tell anyone which user ids exist and have a password (missing and
# forbidden answer the same way).
INVALID = LinkCheck(
    status=400,
    message=gettext_lazy(
        "This invitation link is not valid: it was already used, or it is incomplete or "
        "altered. If you chose your password with it, sign in (or use password reset if "
        "you forgot it); otherwise copy the whole link from the email, or ask the "
        "platform operator for a new invitation."
    ),
)
EXPIRED = LinkCheck(
    status=410,
    message=gettext_lazy(
        "This invitation link has expired. Ask the platform operator for a new invitation."
    ),
)


def check_link(slug: str, uidb64: str, token: str) -> LinkCheck:
    """Whether an invitation link may set a password. Never raises on bad input."""
    User = get_user_model()
    try:
        user_id = int(urlsafe_base64_decode(uidb64).decode())
        user = User.objects.get(pk=user_id)
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError, User.DoesNotExist):
        return INVALID
    if not user.is_active or user.is_superuser:
        return INVALID
    if not invitation_tokens.check_token(user, token):
        if invitation_tokens.hash_matches(user, token):
            return EXPIRED
        return INVALID  # used (the password changed) or never made for this user
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None or not Membership.objects.filter(user=user, tenant=tenant).exists():
        return INVALID  # a link edited to name another tenant
    return LinkCheck(user=user, tenant=tenant)


# --- the email ----------------------------------------------------------------------------


def _lifetime() -> str:
    seconds = int(settings.PASSWORD_RESET_TIMEOUT)
    if seconds >= 86400 and seconds % 86400 == 0:
        days = seconds // 86400
        return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    hours = max(1, round(seconds / 3600))
    return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}


def invitation_message(user, tenant: Tenant, base_url: str = "") -> tuple[str, str]:
    """The subject and body of the owner's email, in the active language."""
    names = {
        "tenant": tenant.name,
        "slug": tenant.slug,
        "product": "Data Isolation Managers",
        "username": user.get_username(),
    }
    subject = _("You are the owner of %(tenant)s on %(product)s") % names
    lines = [
        _("Hello,"),
        "",
        _(
            "A platform operator created the tenant %(tenant)s (%(slug)s) on %(product)s "
            "and made you its owner (your username: %(username)s)."
        )
        % names,
        "",
    ]
    if needs_password(user):
        link = public_url(invitation_path(user, tenant), base_url)
        lines += [
            _("Choose your password here; you are then signed in to the tenant's console:"),
            "",
            f"    {link}",
            "",
            _("The link works once and expires in %(lifetime)s.") % {"lifetime": _lifetime()},
        ]
    else:
        lines += [
            _("Sign in with your usual password:"),
            "",
            f"    {public_url(reverse('admin:login'), base_url)}",
        ]
    lines += ["", _("If you did not expect this email, ignore it.")]
    return subject, "\n".join(lines)


def invitation_language(user) -> str:
    """The language of `user`'s email: theirs if they saved one, else the language the
    operator works in (the active one: the console's, or English for the API)."""
    return preferred_language(user) or translation.get_language() or settings.LANGUAGE_CODE


def send_invitation(user_id: int, tenant_id: int, base_url: str = "") -> bool:
    """Send the owner's email (after the onboarding committed). A mail server that
    refuses is logged, not raised: the tenant exists, and the operator sends the
    email again with `manage.py create_tenant <slug> --resend-invitation`."""
    user = get_user_model().objects.get(pk=user_id)
    tenant = Tenant.objects.get(pk=tenant_id)
    with translation.override(invitation_language(user)):
        subject, body = invitation_message(user, tenant, base_url)
    try:
        send_mail(subject, body, None, [user.email])
    except Exception:  # SMTP errors are many kinds of OSError and smtplib errors
        log.exception(
            "onboarding_mail_failed",
            extra={"event": "onboarding_mail_failed", "tenant": tenant.slug, "to": user.email},
        )
        return False
    return True
