"""Writes on the registry: models, versions (with their signed artifact) and alias moves
(promote, rollback). Each owns its transaction; an alias move appends to the alias
history and to the tenant's audit log in the same transaction, and the in-process
model cache forgets the alias once it commits."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from ai_mgr import artifacts, kinds, loader, storage
from ai_mgr.exceptions import AIError, UnknownAlias
from ai_mgr.models import AliasEvent, MLModel, ModelAlias, ModelVersion
from ai_mgr.selectors import access_model, access_version
from audit_mgr.actions import record_event
from tenancy import db as tenant_db
from tenancy.context import require_tenant_id

CHAMPION, CHALLENGER = "champion", "challenger"


def code_version() -> str:
    return str(getattr(settings, "APP_VERSION", "") or getattr(settings, "VERSION", "") or "dev")[
        :60
    ]


def ensure_model(name: str, kind: str, *, description: str = "", source: str = "") -> MLModel:
    kinds.get(kind)
    model = MLModel.objects.filter(name=name).first()
    if model is None:
        model = MLModel.objects.create(name=name, kind=kind, description=description, source=source)
    elif model.kind != kind:
        raise AIError(f"model {name!r} is a {model.kind}, not a {kind}", code="kind_mismatch")
    return model


def create_version(model: MLModel, arrays: dict, *, algorithm: str, lineage: dict) -> ModelVersion:
    """A new version of `model` with its artifact signed under the tenant's key."""
    tenant_id = require_tenant_id("creating a model version")
    with tenant_db.atomic():  # the tenant's database (a dedicated one too)
        MLModel.objects.select_for_update().filter(pk=model.pk).first()  # numbers in order
        last = (
            ModelVersion.objects.filter(model=model)
            .order_by("-number")
            .values_list("number", flat=True)
            .first()
        )
        version = ModelVersion(model=model, number=(last or 0) + 1, algorithm=algorithm, **lineage)
        version.code_version = version.code_version or code_version()
        data = artifacts.pack(arrays)
        version.checksum = artifacts.checksum(data)
        version.signature = artifacts.sign(
            data, owner_id=tenant_id, model=model.name, number=version.number
        )
        storage.write(version, data, owner_id=tenant_id, model=model.name)
        version.save()
        record_event(
            "ai.model.version_created",
            {"model": model.name, "version": version.number, "checksum": version.checksum},
            actor=version.trained_by,
        )
    return version


def _move(model, alias: str, version, *, action: str, actor: str, reason: str) -> AliasEvent:
    now = timezone.now()
    row = ModelAlias.objects.select_for_update().filter(model=model, name=alias).first()
    previous = row.version if row is not None else None
    if row is None:
        ModelAlias.objects.create(
            model=model, name=alias, version=version, updated_at=now, updated_by=actor[:150]
        )
    else:
        row.version, row.updated_at, row.updated_by = version, now, actor[:150]
        row.save(update_fields=["version", "updated_at", "updated_by"])
    event = AliasEvent.objects.create(
        model=model, alias=alias, version=version, previous=previous, action=action, at=now,
        actor=actor[:150], reason=reason[:300],
    )  # fmt: skip
    record_event(
        f"ai.model.{action}",
        {
            "model": model.name,
            "alias": alias,
            "version": version.number,
            "previous": previous.number if previous is not None else None,
            "reason": reason[:300],
        },
        actor=actor,
    )
    # Forget now (this transaction's own reads see the move) and again at the commit (a
    # load by another thread meanwhile saw the old alias); a rollback only costs a reload.
    tenant_id = model.tenant_id
    loader.forget(tenant_id, model.name)
    tenant_db.on_commit(tenant_id, lambda: loader.forget(tenant_id, model.name))
    return event


def promote(
    model_name: str, number, *, alias: str = CHAMPION, actor: str = "", reason: str = ""
) -> AliasEvent:
    """Point `alias` of the model at version `number` (creating the alias)."""
    if not alias or len(alias) > 40 or not alias.replace("-", "").replace("_", "").isalnum():
        raise AIError("an alias is 1-40 letters, digits, '-' or '_'", code="bad_alias")
    with tenant_db.atomic():
        model = access_model(model_name)
        version = access_version(model, number)
        return _move(model, alias, version, action="promoted", actor=actor, reason=reason)


def rollback(
    model_name: str, *, alias: str = CHAMPION, actor: str = "", reason: str = ""
) -> AliasEvent:
    """Point `alias` back at the version it pointed at before its last move."""
    with tenant_db.atomic():
        model = access_model(model_name)
        last = AliasEvent.objects.filter(model=model, alias=alias).order_by("-at", "-id").first()
        if last is None:
            raise UnknownAlias(f"{model.name} has no alias {alias!r}")
        if last.previous_id is None:
            raise AIError(
                f"{alias!r} of {model.name} has no earlier version", code="nothing_to_roll_back"
            )
        return _move(model, alias, last.previous, action="rolled_back", actor=actor, reason=reason)


def delete_model(model_name: str, *, actor: str = "", reason: str = "") -> int:
    """Delete the tenant's model with its versions, aliases, alias history and artifact
    files: what the model learnt from the tenant's data goes (erasure). The audit log
    keeps the fact. The number of versions removed (0: no such model)."""
    tenant_id = require_tenant_id("deleting a model")
    with tenant_db.atomic():  # the tenant's database (a dedicated one too)
        model = MLModel.objects.select_for_update().filter(name=str(model_name)[:100]).first()
        if model is None:
            return 0
        files = list(
            ModelVersion.objects.filter(model=model)
            .exclude(storage=storage.DB)
            .values_list("storage", "artifact_ref")
        )
        # Children first: the history and the aliases point at the versions.
        AliasEvent.objects.filter(model=model).delete()
        ModelAlias.objects.filter(model=model).delete()
        removed = ModelVersion.objects.filter(model=model).delete()[0]
        model.delete()
        record_event(
            "ai.model.deleted",
            {"model": model.name, "versions": removed, "reason": reason[:300]},
            actor=actor,
        )
        name = model.name

        def _after():
            # Files only once the rows are gone for good: a rollback keeps them readable.
            for storage_name, ref in files:
                storage.delete(storage_name, ref)
            loader.forget(tenant_id, name)

        loader.forget(tenant_id, name)
        tenant_db.on_commit(tenant_id, _after)
    return removed


def erase_artifact_files() -> dict[str, int]:
    """`tenancy.hooks.erase_tenant_files`: every artifact file of the tenant's versions
    (the database storage keeps none: its bytes go with the rows). Artifacts are signed,
    not encrypted, so shredding the tenant's keys does not make them unreadable; the
    erasure purges the rows next. Platform (shared) models are not the tenant's."""
    tenant_id = require_tenant_id("erasing artifact files")
    files = (
        ModelVersion.objects.exclude(storage=storage.DB)
        .exclude(artifact_ref="")
        .values_list("storage", "artifact_ref")
    )
    done = 0
    for storage_name, ref in files.iterator():
        storage.delete(storage_name, ref)
        done += 1
    loader.forget(tenant_id)
    return {"ai_mgr.artifact_files": done} if done else {}
