"""The seed's metadata API: `from managers import MetadataManager, MetadataType,
MetadataSearch, MetadataManagerFactory`.

Thin over metadata_mgr's actions and selectors (managers/twins.py: each `<name>_sync`
has its async twin `<name>`, the seed's). Tenants are ids or slugs (the seed's
"tenant_123" reads as the slug `tenant-123`). Every refusal is a
`metadata_mgr.exceptions.MetadataError` with a 4xx status, a code and a message.

The seed's `schema_name` is the record's name ("user_schema" names a record describing
the users table's schema); the registry subject that content must conform to is
`subject=` (docs/metadata.md says why). `search_metadata(tenant, MetadataSearch(...))`
answers one ranked list of hits (metadata_mgr/search_engine.py).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from managers.twins import async_twins
from metadata_mgr.models import MetadataType
from metadata_mgr.search.query import MetadataSearch

__all__ = ["MetadataManager", "MetadataManagerFactory", "MetadataSearch", "MetadataType"]

_UNSET = object()


def _tenant(ref):
    from metadata_mgr.exceptions import MetadataError
    from tenancy.models import Tenant

    if isinstance(ref, Tenant):
        tenant = ref
    elif isinstance(ref, int) or (isinstance(ref, str) and ref.isascii() and ref.isdigit()):
        tenant = Tenant.objects.filter(pk=int(ref)).first() if 0 < int(ref) < 2**63 else None
    elif isinstance(ref, str):
        tenant = Tenant.objects.filter(slug=ref.strip().lower().replace("_", "-")).first()
    else:
        tenant = None
    if tenant is None:
        raise MetadataError(404, "unknown_tenant", f"No tenant {ref!r}.")
    if not tenant.is_active:
        raise MetadataError(403, "tenant_inactive", f"Tenant {tenant.slug!r} is {tenant.state}.")
    return tenant


def _scope(tenant_id):
    from tenancy.context import tenant_context

    return tenant_context(_tenant(tenant_id))


def _record(record_id):
    from metadata_mgr import selectors
    from metadata_mgr.exceptions import not_found

    record = selectors.get_record(record_id)
    if record is None:
        raise not_found()
    return record


def _record_body(record) -> dict:
    from metadata_mgr.api.serializers import RecordSerializer

    return dict(RecordSerializer(record).data)


@async_twins
class MetadataManager:
    def __init__(self, config: str = "default", *, actor: str = "metadata-manager"):
        self.config = config
        self.actor = actor
        self.initialized = False

    def initialize_sync(self) -> dict:
        from managers.bootstrap import initialize_managers

        report = initialize_managers()
        self.initialized = True
        return report

    # --- records ------------------------------------------------------------------------

    def create_metadata_sync(
        self,
        tenant_id,
        metadata_type,
        content,
        schema_name: str | None = None,
        *,
        name: str | None = None,
        subject: str | None = None,
        subject_version: int | None = None,
        tags=None,
        owner: str | None = None,
        sensitive: bool = False,
    ) -> str:
        """The new record's id. `schema_name` (the seed's) or `name` names it; without
        either, the content's "name" or a generated one."""
        from metadata_mgr.actions import do_create_record
        from metadata_mgr.exceptions import MetadataError

        if name and schema_name and name != schema_name:
            raise MetadataError(400, "invalid_name", "name and schema_name differ: give one.")
        with _scope(tenant_id):
            record = do_create_record(
                metadata_type=metadata_type,
                content=content,
                name=name or schema_name,
                subject=subject,
                subject_version=subject_version,
                tags=tags,
                owner=owner,
                sensitive=sensitive,
                actor=self.actor,
            )
        return str(record.pk)

    def get_metadata_sync(self, tenant_id, metadata_id) -> dict:
        with _scope(tenant_id):
            return _record_body(_record(metadata_id))

    def list_metadata_sync(
        self,
        tenant_id,
        metadata_type=None,
        *,
        tag=None,
        owner=None,
        subject=None,
        include_deleted: bool = False,
        limit: int = 100,
    ) -> list[dict]:
        from metadata_mgr import selectors, validation
        from metadata_mgr.api.serializers import RecordSummarySerializer

        kind = validation.metadata_type(metadata_type) if metadata_type else None
        with _scope(tenant_id):
            rows = selectors.records(
                metadata_type=kind,
                tag=tag,
                owner=owner,
                subject=subject,
                deleted="all" if include_deleted else "0",
            )[: max(1, min(int(limit), 1000))]
            return [dict(r) for r in RecordSummarySerializer(rows, many=True).data]

    def update_metadata_sync(self, tenant_id, metadata_id, content=_UNSET, **changes) -> dict:
        """Change content and/or `name`, `tags`, `owner`, `subject`, `subject_version`,
        `sensitive`; returns the record (its `version` says what was written)."""
        from metadata_mgr.actions import do_update_record

        if content is not _UNSET:
            changes["content"] = content
        with _scope(tenant_id):
            record, _version = do_update_record(metadata_id, actor=self.actor, **changes)
            return _record_body(record)

    def delete_metadata_sync(self, tenant_id, metadata_id) -> bool:
        from metadata_mgr.actions import do_delete_record

        with _scope(tenant_id):
            do_delete_record(metadata_id, actor=self.actor)
        return True

    def restore_metadata_sync(self, tenant_id, metadata_id) -> dict:
        from metadata_mgr.actions import do_restore_record

        with _scope(tenant_id):
            return _record_body(do_restore_record(metadata_id, actor=self.actor))

    # --- versions -----------------------------------------------------------------------

    def get_history_sync(self, tenant_id, metadata_id) -> list[dict]:
        from metadata_mgr import selectors
        from metadata_mgr.api.serializers import VersionSerializer

        with _scope(tenant_id):
            versions = selectors.versions_of(_record(metadata_id))
            return [dict(v) for v in VersionSerializer(versions, many=True).data]

    def get_version_sync(self, tenant_id, metadata_id, version) -> dict:
        from metadata_mgr import selectors
        from metadata_mgr.api.serializers import VersionDetailSerializer

        with _scope(tenant_id):
            found = selectors.version_of(_record(metadata_id), version)
            return dict(VersionDetailSerializer(found).data)

    def diff_versions_sync(self, tenant_id, metadata_id, from_version, to_version) -> dict:
        from metadata_mgr import selectors

        with _scope(tenant_id):
            return selectors.diff_versions(_record(metadata_id), from_version, to_version)

    def rollback_metadata_sync(self, tenant_id, metadata_id, version) -> dict:
        """A new version equal to `version` (a seq number or a "major.minor" label)."""
        from metadata_mgr.actions import do_rollback_record

        with _scope(tenant_id):
            record, _version = do_rollback_record(metadata_id, version, actor=self.actor)
            return _record_body(record)

    # --- search -------------------------------------------------------------------------

    def search_metadata_sync(self, tenant_id, search_config) -> list[dict]:
        """Hits best first: id, name, type, version, tags, owner, the fused score, the
        keyword rank and the cosine similarity (None where that search did not find
        it). `search_config` is a MetadataSearch, or a query string."""
        from metadata_mgr import search_engine as engine

        if isinstance(search_config, str):
            search_config = MetadataSearch(query=search_config)
        if not isinstance(search_config, MetadataSearch):
            raise TypeError("search_config must be a MetadataSearch or a query string")
        with _scope(tenant_id):
            return engine.search(search_config)

    # --- the schema registry ------------------------------------------------------------

    def register_schema_sync(self, tenant_id, subject: str, schema) -> int:
        from metadata_mgr.actions import do_register_schema

        with _scope(tenant_id):
            version, _created = do_register_schema(subject, schema, actor=self.actor)
            return version.version

    def check_compatibility_sync(self, tenant_id, subject: str, schema, mode=None) -> dict:
        from metadata_mgr.actions import check_compatibility

        with _scope(tenant_id):
            return check_compatibility(subject, schema, mode=mode)

    def set_compatibility_sync(
        self, tenant_id, mode, subject: str | None = None, open_content_aware=None
    ) -> str:
        """The tenant's default mode, or with `subject` that subject's ("" or None: back
        to the tenant's default)."""
        from metadata_mgr import actions

        with _scope(tenant_id):
            if subject is None:
                return actions.do_set_tenant_mode(mode, actor=self.actor)
            extra = {} if open_content_aware is None else {"open_content_aware": open_content_aware}
            found = actions.do_set_subject_config(
                subject, compatibility=mode, actor=self.actor, **extra
            )
            return actions.effective_mode(found)

    def evolve_schema_sync(self, tenant_id, subject: str, register: bool = False) -> dict:
        from metadata_mgr.actions import do_evolve_subject

        with _scope(tenant_id):
            return do_evolve_subject(subject, register=register, actor=self.actor)

    # --- bulk import --------------------------------------------------------------------

    def import_metadata_sync(self, tenant_id, source, *, wait: bool = True) -> dict:
        """Import JSON Lines from a path, bytes or text. `wait`: run the job here and
        return its outcome; else queue it for a worker and return at once."""
        from jobs_mgr.engine import run_job
        from metadata_mgr.actions import do_start_import
        from metadata_mgr.api.views_imports import import_body

        data = _read(source)
        filename = str(source) if isinstance(source, (str, Path)) and _is_path(source) else ""
        with _scope(tenant_id):
            imported, job = do_start_import(
                data, filename=filename, actor=self.actor, send=not wait
            )
            if wait:
                run_job(job.pk)
            imported.refresh_from_db()
            return import_body(imported)


def _is_path(source) -> bool:
    if isinstance(source, Path):
        return True
    with contextlib.suppress(OSError, ValueError):
        return "\n" not in source and Path(source).is_file()
    return False


def _read(source) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    if _is_path(source):
        return Path(source).read_bytes()
    if isinstance(source, str):
        return source.encode()
    raise TypeError("source must be a path, bytes or JSON Lines text")


class MetadataManagerFactory:
    @staticmethod
    def create_production_manager() -> MetadataManager:
        return MetadataManager(config="production")

    @staticmethod
    def create_test_manager() -> MetadataManager:
        return MetadataManager(config="test")
