"""GDPR exports (issue 16, Art. 15/20): asking for one, its signed download link, and
the one download it allows.

- `request_export()` creates the archive row and queues its job (`exports_job`). One
  export per tenant runs at a time (a partial unique index: a second request, even a
  racing one, is `ExportRunning`, the API's 409). It returns the archive's key, once:
  the archive is useless without it, so a leaked link leaks nothing readable.
- `download_link()` is a signed token naming the tenant, the export, its nonce and its
  expiry (no state: a GET may show it, it writes nothing).
- `take_download()` (a POST) checks the token, then, under the row's lock, marks the
  archive downloaded, reads it and deletes its pieces: a second try, or one after the
  expiry, is `ExportGone` (410). A token of another tenant's export is `ExportNotFound`
  (404), as is a forged one: missing and forbidden answer alike."""

from __future__ import annotations

import base64
import secrets

from django.core import signing
from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _

from audit_mgr.actions import record_event
from jobs_mgr.actions import enqueue_job
from jobs_mgr.models import FINISHED, JobState
from lifecycle_mgr import exports_archive as fmt
from lifecycle_mgr.exports_job import KIND, key_aad
from lifecycle_mgr.gdpr_models import ExportArchive, ExportChunk, ExportState
from tenancy import db as tenant_db
from tenancy import hooks
from tenancy.context import require_tenant_id

LINK_SALT = "lifecycle.export.link"


class ExportError(Exception):
    status = 400
    code = "export_error"


class ExportRunning(ExportError):
    status = 409
    code = "export_running"


class ExportNotFound(ExportError):
    status = 404
    code = "not_found"


class ExportGone(ExportError):
    status = 410
    code = "export_gone"


class ExportNotReady(ExportError):
    status = 409
    code = "export_not_ready"


def _settle_abandoned() -> None:
    """A running export whose job ended without finishing it (failed, cancelled) no
    longer blocks the next one: it is marked failed."""
    for export in ExportArchive.objects.filter(state=ExportState.RUNNING).select_related("job"):
        job = export.job
        if job is not None and job.state in FINISHED and job.state != JobState.SUCCEEDED:
            export.state = ExportState.FAILED
            export.save(update_fields=["state"])


def request_export(
    *, user_id: int | None = None, actor: str = "", send: bool = True
) -> tuple[ExportArchive, str]:
    """Queue an export of the tenant in context (or of one user's data in it). Returns
    the archive and its key (URL-safe base64), which is shown this once. `send=False`:
    the caller runs the job itself (`jobs_mgr.engine.run_job`, as the bench does)."""
    tenant_id = require_tenant_id("an export")
    key = fmt.new_key()
    try:
        with tenant_db.atomic():  # the tenant's database (a dedicated one: its own)
            _settle_abandoned()
            export = ExportArchive.objects.create(
                user_id=user_id,
                sealed_key=b"",
                link_nonce=secrets.token_hex(16),
                requested_by=actor[:150],
            )
            export.sealed_key = hooks.seal_tenant_value.call(key, key_aad(export))
            job = enqueue_job(KIND, {"export": export.pk, "user": user_id}, actor=actor, send=send)
            export.job = job
            export.save(update_fields=["sealed_key", "job"])
            record_event(
                "lifecycle.export_requested",
                {"export": export.pk, "user": user_id, "job": job.pk},
                actor=actor,
            )
    except IntegrityError:
        raise ExportRunning(
            _("An export of tenant %(tenant)s is already running; wait until it ends.")
            % {"tenant": tenant_id}
        ) from None
    return export, base64.urlsafe_b64encode(key).decode()


def download_link(export: ExportArchive) -> str | None:
    """The signed token of a ready archive (None before it is ready or once taken)."""
    if export.state != ExportState.READY or export.expires_at is None:
        return None
    payload = {
        "t": export.tenant_id,
        "e": export.pk,
        "n": export.link_nonce,
        "x": int(export.expires_at.timestamp()),
    }
    return signing.dumps(payload, salt=LINK_SALT)


def _claims(token: str) -> dict:
    try:
        claims = signing.loads(token, salt=LINK_SALT)
    except signing.BadSignature:
        raise ExportNotFound(_("No such export.")) from None
    if not isinstance(claims, dict) or claims.get("t") != require_tenant_id("a download"):
        raise ExportNotFound(_("No such export."))
    return claims


def take_download(token: str, *, actor: str = "") -> tuple[ExportArchive, bytes]:
    """The archive's bytes, once. See the module's docstring for the refusals."""
    claims = _claims(token)
    with tenant_db.atomic():  # the tenant's database (a dedicated one: its own)
        export = (
            ExportArchive.objects.select_for_update()
            .filter(pk=claims.get("e"), link_nonce=claims.get("n"))
            .first()
        )
        if export is None:
            raise ExportNotFound(_("No such export."))
        if export.state == ExportState.DOWNLOADED:
            raise ExportGone(_("This export was already downloaded; request a new one."))
        if export.state == ExportState.EXPIRED:
            raise ExportGone(_("This download link has expired; request a new export."))
        if export.state != ExportState.READY:
            raise ExportNotReady(_("This export is not ready yet."))
        if timezone.now().timestamp() >= claims.get("x", 0) or timezone.now() >= export.expires_at:
            raise ExportGone(_("This download link has expired; request a new export."))
        pieces = ExportChunk.objects.filter(export=export).order_by("position")
        body = b"".join(
            [fmt.header(export.pk)]
            + [
                fmt.frame(p, name, bytes(b))
                for p, name, b in pieces.values_list("position", "name", "body")
            ]
        )
        pieces._raw_delete(pieces.db)
        export.state = ExportState.DOWNLOADED
        export.downloaded_at = timezone.now()
        export.save(update_fields=["state", "downloaded_at"])
        record_event(
            "lifecycle.export_downloaded", {"export": export.pk, "bytes": len(body)}, actor=actor
        )
    return export, body


def sweep_expired_exports(*, now=None, actor: str = "system:exports") -> list[int]:
    """In the tenant in context: the ready archives whose link expired unused lose their
    encrypted pieces and become `expired` (one audit entry each). An archive nobody
    fetched must not stay in the database for ever; its key is sealed with the tenant's
    ring, but the bytes are still the tenant's personal data. Returns the swept ids."""
    require_tenant_id("an export sweep")
    now = now or timezone.now()
    swept = []
    due = ExportArchive.objects.filter(state=ExportState.READY, expires_at__lte=now)
    for export_id in due.values_list("pk", flat=True).order_by("pk"):
        with tenant_db.atomic():  # the tenant's database (a dedicated one: its own)
            export = (
                ExportArchive.objects.select_for_update()
                .filter(pk=export_id, state=ExportState.READY, expires_at__lte=now)
                .first()
            )
            if export is None:  # downloaded or swept meanwhile
                continue
            pieces = ExportChunk.objects.filter(export=export)
            removed = pieces._raw_delete(pieces.db)
            export.state = ExportState.EXPIRED
            export.save(update_fields=["state"])
            record_event(
                "lifecycle.export_expired", {"export": export.pk, "chunks": removed}, actor=actor
            )
            swept.append(export.pk)
    return swept


def access_export(export_id) -> ExportArchive:
    """The tenant-in-context's export; ExportNotFound for any other id (another tenant's
    included: missing and forbidden answer alike)."""
    try:
        return ExportArchive.objects.select_related("job").get(pk=int(export_id))
    except (ExportArchive.DoesNotExist, TypeError, ValueError):
        raise ExportNotFound(_("No such export.")) from None
