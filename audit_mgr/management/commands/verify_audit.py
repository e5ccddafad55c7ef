import json

from django.core.management.base import BaseCommand, CommandError

import audit_mgr as audit
from tenancy.context import tenant_context
from tenancy.models import Tenant


def _pending_note(report) -> str:
    pending = report.pending
    if not pending.get("count"):
        return ""
    # Entries waiting for the sequencer are the window in which a row could vanish
    # unseen (docs/audit.md); an old one means the sequencer is not running.
    return (
        f"; {pending['count']} pending entries (oldest {pending['oldest_age_s']:.1f} s) "
        "were sequenced first"
    )


def _unsigned_note(report) -> str:
    unsigned = report.unsigned or {}
    if not unsigned.get("count"):
        return ""
    # Not a failure: the head row's seal vouches for them until the next signed head
    # (beat, every SECURITY_TREE_HEAD_INTERVAL seconds). Named so the tail is never blind.
    return (
        f"; {unsigned['count']} entries after the last signed head "
        f"(#{unsigned['from']}..#{unsigned['to']}, oldest at {unsigned['oldest_at']}) "
        "are sealed but not signed yet"
    )


class Command(BaseCommand):
    help = (
        "Sequence pending entries, recompute the audit log's Merkle tree from the entries' "
        "data and check the stored subtree nodes, the sealed head row and every signed "
        "tree head against it. Names the first entry (or node) that was altered, inserted "
        "or removed, every entry beyond the head row, and exits non-zero; lists the entries "
        "not yet covered by a signed head. Without --tenant: every tenant and the platform log."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", metavar="SLUG", help="verify this tenant's log only")
        parser.add_argument("--platform", action="store_true", help="the platform log only")
        parser.add_argument("--json", action="store_true", help="print the reports as JSON")
        parser.add_argument(
            "--record",
            action="store_true",
            help="append the outcome to each tenant's log (the dashboard shows it)",
        )

    def handle(self, *args, **options):
        reports = []
        if options["tenant"]:
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
            if tenant is None:
                raise CommandError(f"no tenant with slug {options['tenant']!r}")
            tenants = [tenant]
        elif options["platform"]:
            tenants = []
        else:
            tenants = list(Tenant.objects.order_by("slug"))
        for tenant in tenants:
            with tenant_context(tenant):
                report = audit.verify_log(audit.tenant_log())
                reports.append((tenant.slug, report))
                if options["record"]:
                    # The dashboard shows the last verification; a failed one is recorded
                    # too, after the entries it judged.
                    recorded = audit.append(
                        "audit.verified",
                        {"ok": report.ok, "entries": report.entries, "root": report.root_hash},
                        actor="verify_audit",
                    )
                    audit.entry_of(recorded)
        if options["platform"] or not options["tenant"]:
            reports.append(("(platform)", audit.verify_log(audit.platform_log())))
        if options["json"]:
            self.stdout.write(
                json.dumps([{"log": name, **r.as_dict()} for name, r in reports], indent=2)
            )
        failed = 0
        for name, report in reports:
            if report.ok:
                if not options["json"]:
                    self.stdout.write(
                        self.style.SUCCESS(
                            f"OK   {name}: {report.entries} entries, "
                            f"{report.nodes_checked} nodes, "
                            f"{report.heads_checked} signed heads, root {report.root_hash}"
                            + _pending_note(report)
                            + _unsigned_note(report)
                        )
                    )
                continue
            failed += 1
            if report.pending.get("count"):
                self.stderr.write(f"     {name}:{_pending_note(report)}")
            for problem in report.problems:
                self.stderr.write(self.style.ERROR(f"FAIL {name}: {problem}"))
        if failed:
            raise CommandError(f"{failed} audit log(s) failed verification")
