"""Writes of the tenancy domain. Each owns its transaction."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from tenancy import db as tenant_db
from tenancy import hooks, onboarding, quotas
from tenancy.context import tenant_context
from tenancy.language import check_language
from tenancy.models import Membership, Role, Tenant, TenantSetting, TenantState, UserPreference
from tenancy.resolution import forget_memberships


@transaction.atomic
def do_create_tenant(*, slug: str, name: str, tier: str = "free", owner=None) -> Tenant:
    tenant = Tenant(slug=slug, name=name, tier=tier)
    tenant.full_clean()
    tenant.save()
    if owner is not None:
        do_add_member(tenant, owner, Role.OWNER)
    return tenant


@transaction.atomic
def do_add_member(tenant: Tenant, user, role: str = Role.MEMBER) -> Membership:
    # On PostgreSQL the database accepts a membership of `tenant` only with a proven
    # claim for it (tenancy/rls_platform.py): the write runs in the tenant's context.
    with tenant_context(tenant):
        members = Membership.objects.filter(tenant=tenant)
        if not members.filter(user=user).exists():  # a role change adds no user
            quotas.enforce("users", tenant_id=tenant.pk, usage=members.count)
        membership, _created = Membership.objects.update_or_create(
            user=user, tenant=tenant, defaults={"role": Role(role)}
        )
    return membership


def do_set_tenant_state(tenant: Tenant, state: str) -> Tenant:
    tenant.state = TenantState(state)
    tenant.save(update_fields=["state", "updated_at"])
    return tenant


def do_bump_tenant_cache_generation(tenant: Tenant) -> int:
    """Invalidate every cache key of the tenant at once (see tenancy/cache.py)."""
    Tenant.objects.filter(pk=tenant.pk).update(cache_generation=F("cache_generation") + 1)
    tenant.refresh_from_db(fields=["cache_generation"])
    # update() sends no post_save: drop the cached memberships (which carry the tenant,
    # generation included) by hand, or requests would keep the old namespace.
    forget_memberships(Membership.objects.filter(tenant=tenant).values_list("user_id", flat=True))
    return tenant.cache_generation


def do_set_tenant_setting(tenant: Tenant, key: str, value, description: str = ""):
    # The tenant's database: update_or_create locks the row, which a dedicated tenant's
    # database refuses outside a transaction of its own.
    with tenant_context(tenant), tenant_db.atomic(tenant):
        setting, _created = TenantSetting.objects.update_or_create(
            key=key, defaults={"value": value, "description": description}
        )
        return setting


def get_or_create_user(username: str, *, password: str, email: str = "", **flags):
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": email, **flags}
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user, created


# --- onboarding (tenancy/onboarding.py) ---------------------------------------------------


@dataclass(frozen=True)
class Onboarded:
    tenant: Tenant
    owner: object
    owner_created: bool  # a new user, rather than an existing one found by email
    invited: bool  # the email carries a set-password link


def _find_or_create_owner(email: str):
    User = get_user_model()
    found = list(User.objects.filter(email__iexact=email)[:2])
    if len(found) > 1:
        raise ValidationError(
            {"owner_email": _("Several users have this email address: make it unique first.")}
        )
    if not found:
        user = User(username=onboarding.free_username(email), email=email, is_staff=True)
        user.set_unusable_password()  # until the owner chooses one through the link
        user.save()
        return user, True
    user = found[0]
    if not user.is_active:
        raise ValidationError(
            {
                "owner_email": _("The user %(user)r is deactivated: reactivate it first.")
                % {"user": user.get_username()}
            }
        )
    if not user.is_staff:  # an owner works in the console
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return user, False


@transaction.atomic
def do_onboard_tenant(
    slug, name, owner_email, *, actor: str, tier: str = "free", base_url: str = ""
) -> Onboarded:
    """Create a tenant (its key ring comes with it, `hooks.tenant_created`), find or
    create its owner by email, make them OWNER, record it in the tenant's audit log and,
    once committed, email the owner (a set-password link for a new user). Bad input is
    a `ValidationError` naming the field; nothing is written then."""
    wanted = onboarding.parse_onboarding(slug, name, owner_email, tier)
    if Tenant.objects.filter(slug=wanted.slug).exists():
        raise ValidationError(
            {
                "slug": _("A tenant with the slug %(slug)r already exists: choose another.")
                % {"slug": wanted.slug}
            }
        )
    owner, created = _find_or_create_owner(wanted.owner_email)
    tenant = do_create_tenant(slug=wanted.slug, name=wanted.name, tier=wanted.tier, owner=owner)
    invited = onboarding.needs_password(owner)
    with tenant_context(tenant):
        hooks.tenant_event.call(
            tenant.pk,
            "tenant.onboarded",
            {
                "slug": tenant.slug,
                "tier": tenant.tier,
                "owner": owner.get_username(),
                "owner_created": created,
                "invited": invited,
            },
            actor,
        )
    transaction.on_commit(
        functools.partial(onboarding.send_invitation, owner.pk, tenant.pk, base_url)
    )
    return Onboarded(tenant, owner, created, invited)


@transaction.atomic
def do_resend_invitation(tenant: Tenant, *, actor: str, base_url: str = "") -> list:
    """Email every owner of `tenant` again (a new link for those with no password yet,
    the earlier links still work until they expire). Returns the owners emailed (those
    with an address)."""
    memberships = Membership.objects.filter(tenant=tenant, role=Role.OWNER)
    owners = [m.user for m in memberships.select_related("user") if m.user.email]
    with tenant_context(tenant):
        for owner in owners:
            hooks.tenant_event.call(
                tenant.pk, "tenant.invitation_resent", {"owner": owner.get_username()}, actor
            )
            transaction.on_commit(
                functools.partial(onboarding.send_invitation, owner.pk, tenant.pk, base_url)
            )
    return owners


@transaction.atomic
def do_accept_invitation(user, tenant: Tenant, password: str) -> bool:
    """The invited owner chose a password (the link was checked by
    `onboarding.check_link`). Changing the password hash makes the link unusable.

    False, writing nothing, when the user changed since the check: two requests with
    the same link checked it before either wrote, and only the first may use it (the
    row lock makes the second wait for the first and then see its password)."""
    current = get_user_model().objects.select_for_update().get(pk=user.pk)
    if (current.password, current.last_login) != (user.password, user.last_login):
        return False
    user.set_password(password)
    user.save(update_fields=["password"])
    with tenant_context(tenant):
        hooks.tenant_event.call(
            tenant.pk,
            "tenant.invitation_accepted",
            {"owner": user.get_username()},
            user.get_username(),
        )
    return True


# --- the user's console language (tenancy/language.py) ------------------------------------


@transaction.atomic
def do_set_language(user, language: str) -> UserPreference:
    """Save `user`'s console language (a code of settings.LANGUAGES; anything else is a
    `ValidationError`). Their own preference only: callers pass the signed-in user."""
    preference, _created = UserPreference.objects.update_or_create(
        user=user, defaults={"language": check_language(language)}
    )
    return preference
