"""`manage.py reindex_metadata_backends --tenant SLUG` (or `--all`): rebuild the
tenants' external search backend and document store (Elasticsearch, MongoDB) from the
database, the source of truth, e.g. after a new index mapping or a lost cluster.
Nothing to do with the database backends (the default)."""

from django.core.management.base import BaseCommand, CommandError

from metadata_mgr.actions.search_index import do_reindex_backends
from metadata_mgr.backends import document_store, search_backend
from tenancy.context import tenant_context
from tenancy.models import Tenant


class Command(BaseCommand):
    help = "Rebuild the metadata search backend and document store of tenants from the database."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--tenant", help="the tenant's slug")
        which.add_argument("--all", action="store_true", help="every active tenant")

    def handle(self, *args, tenant=None, all=False, **options):
        search, store = search_backend(), document_store()
        if not (search.external or store.external):
            self.stdout.write("The database backends are in use: nothing to rebuild.")
            return
        tenants = Tenant.objects.active().order_by("slug")
        if not all:
            tenants = tenants.filter(slug=tenant.strip().lower().replace("_", "-"))
            if not tenants:
                raise CommandError(f"No active tenant has the slug {tenant!r}.")
        for found in tenants:
            with tenant_context(found):
                written = do_reindex_backends()
            self.stdout.write(
                f"{found.slug}: {written} documents written to {search.name} / {store.name}."
            )
