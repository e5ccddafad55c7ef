"""`manage.py migrate_tenants`: migrate every dedicated tenant's database, in parallel.

Each runs Django's `migrate` on the tenant's owner URL (the tables' owner: RLS with FORCE
and the runtime role's grants are applied after each migrate, as on the default
database). One progress line per tenant as it finishes; a failure is reported for its
tenant and the others go on; the exit code is 1 if any failed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from connection_mgr import aliases
from connection_mgr.models import Mode, TenantDatabase


def migrate_one(row: TenantDatabase) -> None:
    owner_alias = f"{row.alias}_owner"
    aliases.register(owner_alias, row.owner_url or row.url, options={"pool": False})
    try:
        call_command("migrate", database=owner_alias, verbosity=0, interactive=False)
    finally:
        connections[owner_alias].close()
        aliases.unregister(owner_alias)


class Command(BaseCommand):
    help = "Migrate every dedicated tenant's database in parallel, reporting failures per tenant."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=4)

    def handle(self, *args, workers=4, **options):
        rows = list(
            TenantDatabase.objects.filter(mode=Mode.DEDICATED)
            .select_related("tenant")
            .order_by("pk")
        )
        if not rows:
            self.stdout.write("No dedicated tenant databases.")
            return
        failed = []
        done = 0
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(migrate_one, row): row for row in rows}
            for future in as_completed(futures):
                row = futures[future]
                done += 1
                error = future.exception()
                if error is None:
                    self.stdout.write(
                        f"[{done}/{len(rows)}] {row.tenant.slug} ({row.alias}): migrated"
                    )
                else:
                    failed.append(row.tenant.slug)
                    self.stdout.write(
                        f"[{done}/{len(rows)}] {row.tenant.slug} ({row.alias}): FAILED: "
                        f"{type(error).__name__}: {str(error).strip()[:300]}"
                    )
        if failed:
            raise CommandError(f"{len(failed)} of {len(rows)} failed: {', '.join(failed)}")
        self.stdout.write(self.style.SUCCESS(f"{len(rows)} tenant databases migrated."))
