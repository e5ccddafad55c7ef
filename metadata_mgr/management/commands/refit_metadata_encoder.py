"""`manage.py refit_metadata_encoder --tenant SLUG` (or `--all`): refit the tenants'
TF-IDF search encoder on their current texts, register it in their AI registry as the
new champion (audited, the previous version kept for a rollback) and re-encode their
documents. For an encoder refused as tampered, or after many records changed. Nothing
to do when the shared MiniLM model is the encoder."""

from django.core.management.base import BaseCommand, CommandError

from metadata_mgr.actions.search_index import do_index_pending, do_refit_encoder
from metadata_mgr.search import encoders
from tenancy.context import tenant_context
from tenancy.models import Tenant


class Command(BaseCommand):
    help = "Refit the metadata search encoder of tenants and re-encode their documents."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--tenant", help="the tenant's slug")
        which.add_argument("--all", action="store_true", help="every active tenant")

    def handle(self, *args, tenant=None, all=False, **options):
        if encoders.shared_encoder() is not None:
            self.stdout.write("The shared MiniLM encoder is in use: nothing to refit.")
            return
        tenants = Tenant.objects.active().order_by("slug")
        if not all:
            tenants = tenants.filter(slug=tenant.strip().lower().replace("_", "-"))
            if not tenants:
                raise CommandError(f"No active tenant has the slug {tenant!r}.")
        for found in tenants:
            with tenant_context(found):
                # The refit first: it never loads the current champion, so a refused
                # (tampered) one is replaced; then the pending changes, with the new one.
                done = do_refit_encoder(actor="manage.py refit_metadata_encoder")
                while do_index_pending(500):
                    pass
            self.stdout.write(f"{found.slug}: encoder refitted, {done} documents re-encoded.")
