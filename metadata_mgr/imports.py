"""Bulk import from JSON Lines as a long job (jobs_mgr kind `metadata.import`).

One line, one record, with the fields of the create API (`metadata_type`, `content`,
`name` or `schema_name`, `subject`, `subject_version`, `tags`, `owner`, `sensitive`,
and optionally `tenant_id`, which must name the import's tenant). The file is stored
with the import (`ImportFile`, compressed), so any worker can run the job. Each step
imports a batch of lines: the records, versions, outbox rows, audit entries, the
batch's rejected lines (`ImportRejection`, with code and reason) and the checkpoint
(the next line) commit together; a worker that dies mid-batch leaves the previous
checkpoint and the next one redoes that batch only. So every line ends up imported
or rejected exactly once, and progress (lines done of lines total) is the job's.
"""

from __future__ import annotations

import zstandard
from django.conf import settings

from jobs_mgr import registry
from jobs_mgr.engine import JobContext
from metadata_mgr.actions.bulk import create_many
from metadata_mgr.exceptions import MetadataError
from metadata_mgr.jsonl import IMPORT, split_lines
from metadata_mgr.models import ImportFile, ImportRejection
from tenancy.context import get_current_tenant_id


def batch_size() -> int:
    return int(getattr(settings, "METADATA_IMPORT_BATCH", 5000))


def _tenant_check(tenant_id: int, slug: str):
    def check(ref) -> None:
        text = str(ref).strip().lower().replace("_", "-") if isinstance(ref, (str, int)) else ""
        if text not in (slug, str(tenant_id)):
            raise MetadataError(
                400, "tenant_mismatch", "tenant_id names another tenant than the import's."
            )

    return check


def _run(ctx: JobContext) -> dict:
    imported = ImportFile.objects.get(pk=ctx.params["import"])
    lines = split_lines(zstandard.decompress(imported.body))
    size = int(ctx.options.get("batch_size") or ctx.params.get("batch_size") or batch_size())
    cursor = {"line": 0, "imported": 0, "rejected": 0, **ctx.checkpoint}
    check = _tenant_check(get_current_tenant_id(), ctx.params.get("tenant", ""))
    actor = ctx.job.requested_by or "import"
    while cursor["line"] < len(lines):
        with ctx.step():
            start = cursor["line"]
            chunk = [(start + i + 1, raw) for i, raw in enumerate(lines[start : start + size])]
            created, rejections = create_many(chunk, actor=actor, tenant_check=check)
            ImportRejection.objects.bulk_create(
                [
                    ImportRejection(
                        import_id=imported.pk, line=r.line, code=r.code[:40], reason=r.reason
                    )
                    for r in rejections
                ]
            )
            cursor = {
                "line": start + len(chunk),
                "imported": cursor["imported"] + created,
                "rejected": cursor["rejected"] + len(rejections),
            }
            ctx.save(cursor, done=cursor["line"], total=len(lines))
    return {
        "import": str(imported.pk),
        "lines": len(lines),
        "imported": cursor["imported"],
        "rejected": cursor["rejected"],
    }


registry.register(IMPORT, _run, title="Metadata import")
