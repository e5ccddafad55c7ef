"""`manage.py create_tenant <slug> --name ... --owner-email ...`: onboard a tenant from
the shell, as the console and `POST /api/v1/tenants/` do (tenancy.actions)."""

import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenancy.actions import do_onboard_tenant, do_resend_invitation
from tenancy.models import Tenant, TenantTier


class Command(BaseCommand):
    help = (
        "Create a tenant, make the user with --owner-email (created if need be) its owner "
        "and email them an invitation with a set-password link."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="1-63 lowercase letters, digits or inner hyphens")
        parser.add_argument("--name", help="the tenant's display name (default: the slug)")
        parser.add_argument("--owner-email", help="the owner's email address")
        parser.add_argument("--tier", default=TenantTier.FREE, choices=TenantTier.values)
        parser.add_argument(
            "--base-url",
            default="",
            help="address of the console for the link (default: DIM_PUBLIC_URL, else localhost)",
        )
        parser.add_argument(
            "--resend-invitation",
            action="store_true",
            help="the tenant exists: email its owners again (a new link if they have no password)",
        )

    def handle(self, *args, slug, name, owner_email, tier, base_url, resend_invitation, **options):
        actor = f"manage.py create_tenant ({getpass.getuser()})"
        if resend_invitation:
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is None:
                raise CommandError(f"No tenant has the slug {slug!r}: create it first.")
            owners = do_resend_invitation(tenant, actor=actor, base_url=base_url)
            for owner in owners:
                self.stdout.write(f"Invitation sent again to {owner.email} for tenant {slug}.")
            if not owners:
                raise CommandError(f"Tenant {slug!r} has no owner to invite.")
            return
        if not owner_email:
            raise CommandError("--owner-email is required: whom should the tenant belong to?")
        try:
            done = do_onboard_tenant(
                slug, name or slug, owner_email, tier=tier, actor=actor, base_url=base_url
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
            )
            raise CommandError(f"Tenant not created. {problems}") from exc
        owner = done.owner
        self.stdout.write(
            self.style.SUCCESS(f"Created tenant {done.tenant.slug} ({done.tenant.name}).")
        )
        self.stdout.write(
            f"Owner: {owner.get_username()} <{owner.email}>"
            f" ({'new user' if done.owner_created else 'existing user'})."
        )
        if done.invited:
            self.stdout.write(f"Invitation with a set-password link sent to {owner.email}.")
        else:
            self.stdout.write(f"{owner.email} already has a password: notice sent.")
