"""Starting a bulk import: the file is stored with the import and a job is queued, in
one transaction; a worker starts after the commit (see metadata_mgr/imports.py)."""

from __future__ import annotations

import zstandard
from django.db import transaction

from jobs_mgr.actions import enqueue_job
from metadata_mgr.db import database
from metadata_mgr.exceptions import MetadataError
from metadata_mgr.jsonl import IMPORT, split_lines
from metadata_mgr.models import ImportFile
from tenancy.context import get_current_tenant


def do_start_import(data: bytes, *, filename: str = "", actor: str = "", send: bool = True):
    """(import, job) for a JSON Lines file. An empty file is a 400; everything else is
    the job's to judge line by line."""
    if not isinstance(data, (bytes, bytearray)) or not data.strip():
        raise MetadataError(400, "empty_import", "The file holds no line to import.")
    lines = len(split_lines(bytes(data)))
    tenant = get_current_tenant()
    with transaction.atomic(using=database()):
        imported = ImportFile.objects.create(
            filename=str(filename or "")[:255],
            body=zstandard.compress(bytes(data), 3),
            size_bytes=len(data),
            lines=lines,
            created_by=actor[:150],
        )
        job = enqueue_job(
            IMPORT,
            {"import": str(imported.pk), "tenant": tenant.slug if tenant else ""},
            total=lines,
            actor=actor,
            send=send,
        )
        imported.job = job
        imported.save(update_fields=["job"])
        import audit_mgr as audit

        audit.append(
            "metadata.import.started",
            {"import": str(imported.pk), "job": job.pk, "lines": lines, "bytes": len(data)},
            actor=actor,
        )
    return imported, job
