import json

from django.core.management.base import BaseCommand, CommandError

from tenancy import rls_inspect


class Command(BaseCommand):
    help = (
        "Inspect the live database: every tenant-scoped table must have RLS enabled and "
        "FORCEd with its tenant policy and composite tenant foreign keys, and the runtime "
        "role must not be able to bypass RLS. Exits non-zero naming each problem."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument("--database", default="default")

    def handle(self, *args, **options):
        report = rls_inspect.inspect(options["database"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.stdout.write(f"database: {report.vendor}; runtime role: {report.runtime_role}")
            for table in report.tables_checked:
                self.stdout.write(f"  checked {table}")
            for note in report.notes:
                self.stdout.write(self.style.WARNING(f"note: {note}"))
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(self.style.ERROR(f"FAIL {problem}"))
            raise CommandError(f"{len(report.problems)} isolation problem(s)")
        self.stdout.write(self.style.SUCCESS("isolation OK"))
