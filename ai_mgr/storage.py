"""Where artifacts live: pluggable by `settings.AI_ARTIFACT_STORAGE`.

- `"db"` (default): the version row's own `artifact` column, so an artifact commits or
  rolls back with its version and is covered by the row's RLS;
- `"file"`: Django's FileSystemStorage under `AI_ARTIFACT_ROOT`;
- a dotted path to any Django `Storage` class (django-storages' S3 backend, say).

File names carry the owner's id and a random part; nothing trusts the name: the row
keeps the checksum and signature (ai_mgr.artifacts) that every load verifies."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.module_loading import import_string

DB = "db"


def configured() -> str:
    return getattr(settings, "AI_ARTIFACT_STORAGE", DB) or DB


def _backend(name: str):
    if name == "file":
        from django.core.files.storage import FileSystemStorage

        root = getattr(settings, "AI_ARTIFACT_ROOT", "") or str(settings.BASE_DIR / "var" / "ai")
        return FileSystemStorage(location=root)
    return import_string(name)()


def write(version, data: bytes, *, owner_id: int, model: str) -> None:
    """Store `data` for the (unsaved or saved) version row; sets its storage fields."""
    name = configured()
    version.storage = name if name in (DB, "file") else "custom"
    version.size = len(data)
    if name == DB:
        version.artifact, version.artifact_ref = data, ""
        return
    path = f"{owner_id}/{model}/v{version.number}-{secrets.token_hex(8)}.npz"
    version.artifact_ref = _backend(name).save(path, ContentFile(data))
    version.artifact = None


def read(version) -> bytes:
    if version.storage == DB:
        return bytes(version.artifact or b"")
    name = "file" if version.storage == "file" else configured()
    with _backend(name).open(version.artifact_ref, "rb") as handle:
        return handle.read()


def delete(storage_name: str, artifact_ref: str) -> None:
    """Remove a stored artifact file (nothing to do for the database storage: the bytes
    go with the row). A file already gone is not an error: deletes are retried."""
    if storage_name == DB or not artifact_ref:
        return
    backend = _backend("file" if storage_name == "file" else configured())
    if backend.exists(artifact_ref):
        backend.delete(artifact_ref)
