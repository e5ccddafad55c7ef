"""`manage.py import_metadata --tenant SLUG file.jsonl`: a bulk import from the shell, as
`POST /api/v1/metadata/imports/` starts one: a long job (progress, resume, cancel in the
console's Jobs page and /api/v1/jobs/). By default it runs here and reports its outcome
with every rejected line; `--queue` leaves it to a worker."""

import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from jobs_mgr.engine import run_job
from metadata_mgr.actions import do_start_import
from metadata_mgr.exceptions import MetadataError
from metadata_mgr.models import ImportRejection
from tenancy.context import tenant_context
from tenancy.models import Tenant


class Command(BaseCommand):
    help = "Import metadata records from a JSON Lines file into a tenant (one record a line)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the JSON Lines file ('-' reads standard input)")
        parser.add_argument("--tenant", required=True, help="the tenant's slug")
        parser.add_argument(
            "--queue", action="store_true", help="queue the job for a worker instead of running it"
        )

    def handle(self, *args, file, tenant, queue, **options):
        found = Tenant.objects.filter(slug=tenant.strip().lower().replace("_", "-")).first()
        if found is None:
            raise CommandError(f"No tenant has the slug {tenant!r}.")
        if not found.is_active:
            raise CommandError(f"Tenant {found.slug!r} is {found.state}: nothing imported.")
        data = self._read(file)
        actor = f"manage.py import_metadata ({getpass.getuser()})"
        with tenant_context(found):
            try:
                imported, job = do_start_import(
                    data, filename=Path(file).name, actor=actor, send=queue
                )
            except MetadataError as exc:
                raise CommandError(exc.message) from None
            if queue:
                self.stdout.write(f"Queued import {imported.pk} as job {job.pk}.")
                return
            job = run_job(job.pk)
            outcome = job.result or {}
            rejections = ImportRejection.objects.filter(import_id=imported.pk).order_by("line")
            for rejection in rejections.iterator():
                self.stderr.write(f"line {rejection.line}: {rejection.code}: {rejection.reason}")
        self.stdout.write(
            f"Import {imported.pk} (job {job.pk}) {job.state}: {outcome.get('imported', 0)} "
            f"imported, {outcome.get('rejected', 0)} rejected of {imported.lines} lines."
        )
        if job.state != "succeeded":
            raise CommandError(f"The job {job.state}: {job.last_error} (resume it: job {job.pk}).")

    @staticmethod
    def _read(file: str) -> bytes:
        import sys

        if file == "-":
            return sys.stdin.buffer.read()
        try:
            return Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
