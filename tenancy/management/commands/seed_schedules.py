from django.core.management.base import BaseCommand

from tenancy.context import platform_access
from tenancy.schedules import seed_schedules


class Command(BaseCommand):
    help = (
        "Write the product's periodic tasks (settings.PERIODIC_TASKS) into beat's tables. "
        "migrate does this for the missing ones; --reset also puts back the settings' "
        "definition of every one an operator changed in the console."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="overwrite the existing product entries too"
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args, **options):
        # As the runtime role, PostgreSQL asks for the platform claim (tenancy/rls_schedules.py).
        with platform_access("manage.py seed_schedules", actor="manage.py"):
            result = seed_schedules(reset=options["reset"], using=options["database"])
        for label, names in (("created", result.created), ("reset", result.reset)):
            for name in names:
                self.stdout.write(f"{label}: {name}")
        kept = len(result.kept)
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(result.created)} created, {len(result.reset)} reset, {kept} kept as they are"
            )
        )
