import os

from django.core.management.base import BaseCommand
from django.db import transaction

from tenancy.actions import do_add_member, do_set_tenant_setting, get_or_create_user
from tenancy.context import platform_access
from tenancy.models import Role, Tenant

DEMO_PASSWORD = "demo-password-123"
TENANTS = [
    ("acme", "Acme Corp", "enterprise"),
    ("globex", "Globex", "standard"),
    ("initech", "Initech", "free"),
]


class Command(BaseCommand):
    help = "Create three demo tenants with members and some rows (idempotent)."

    def add_arguments(self, parser):
        # Where the server listens, for the addresses printed (`make run` passes its own).
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=os.environ.get("PORT") or "8000")

    @transaction.atomic
    def handle(self, *args, **options):
        # Only platform access may make a superuser (the database checks the claim).
        with platform_access("seed_demo: create the demo platform operator", actor="seed"):
            admin, _ = get_or_create_user(
                "admin",
                password=DEMO_PASSWORD,
                email="admin@example.com",
                is_staff=True,
                is_superuser=True,
            )
        shared, _ = get_or_create_user("shared", password=DEMO_PASSWORD, is_staff=True)
        for slug, name, tier in TENANTS:
            tenant, _ = Tenant.objects.get_or_create(
                slug=slug, defaults={"name": name, "tier": tier}
            )
            owner, _ = get_or_create_user(f"{slug}-owner", password=DEMO_PASSWORD, is_staff=True)
            viewer, _ = get_or_create_user(f"{slug}-viewer", password=DEMO_PASSWORD, is_staff=True)
            do_add_member(tenant, owner, Role.OWNER)
            do_add_member(tenant, viewer, Role.VIEWER)
            do_add_member(tenant, shared, Role.ADMIN)
            # Overlapping keys on purpose: every tenant has its own "session.policy".
            do_set_tenant_setting(tenant, "session.policy", {"level": "standard"}, "Session policy")
            do_set_tenant_setting(tenant, "branding.name", {"name": name}, "Display name")
            do_set_tenant_setting(
                tenant, "quota.max_users", {"value": 10 if tier == "free" else 1000}
            )
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        host, port = options["host"], options["port"]
        # Passkeys need a name, not an IP address: the console is opened as localhost
        # (as the Makefile's CONSOLE_HOST).
        console = "localhost" if host == "127.0.0.1" else host
        self.stdout.write(
            f"Log in at http://{console}:{port}/admin/ with any of these (password "
            f"{DEMO_PASSWORD!r}):\n"
            "  admin          platform operator (superuser, sees every tenant)\n"
            "  acme-owner     owner of tenant acme (likewise globex-owner, initech-owner)\n"
            "  acme-viewer    read-only member of acme\n"
            "  shared         admin in all three tenants (pick one in the console)\n"
            f"API: curl -u acme-owner:{DEMO_PASSWORD} http://{host}:{port}/api/v1/settings/"
        )
