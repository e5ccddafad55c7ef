"""Writes on the schema registry: subjects, their versions, compatibility modes, and
schema evolution. The compatibility rules are the engine's (`schema_compat`); this
module decides what is checked against what, and writes the outcome.

Registering a schema: the subject is created on first use (as Confluent's registry
does); the same schema again returns its existing version; a subject's first version
and any version under mode NONE need no check; otherwise the engine checks the new
schema against the subject's versions (oldest to latest; a non-transitive mode looks
at the latest only, which the engine decides from the mode) and an incompatible one is
refused with 409 and the list of reasons.
"""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction
from django.utils import timezone

from metadata_mgr import codec, schema_compat, selectors, validation
from metadata_mgr.actions.records import UNSET
from metadata_mgr.db import database
from metadata_mgr.exceptions import MetadataError, not_found
from metadata_mgr.models import (
    DEFAULT_MODE,
    MODE_SETTING,
    CompatibilityMode,
    Subject,
    SubjectVersion,
)
from tenancy.models import TenantSetting
from tenancy.selectors import get_tenant_setting


def mode_name(value, *, allow_empty: bool = False) -> str:
    text = str(getattr(value, "value", value) or "").strip().upper()
    if allow_empty and text == "":
        return ""
    if text not in CompatibilityMode.values:
        raise MetadataError(
            400,
            "invalid_mode",
            f"compatibility must be one of {', '.join(CompatibilityMode.values)}, not {value!r}.",
        )
    return text


def tenant_mode() -> str:
    """The tenant's default mode: setting `metadata.compatibility`, else BACKWARD."""
    value = get_tenant_setting(MODE_SETTING)
    if isinstance(value, dict):
        value = value.get("mode")
    text = str(value or "").strip().upper()
    return text if text in CompatibilityMode.values else DEFAULT_MODE.value


def effective_mode(subject: Subject | None) -> str:
    if subject is not None and subject.compatibility:
        return subject.compatibility
    return tenant_mode()


def fingerprint(schema) -> str:
    return hashlib.sha256(codec.canonical(schema)).hexdigest()


def _audit(event: str, payload: dict, actor: str) -> None:
    import audit_mgr as audit

    audit.append(event, payload, actor=actor)


def _existing_records(subject: Subject) -> list:
    return [record.content for record in selectors.records_of_subject(subject)]


def run_check(subject: Subject | None, schema, mode: str, previous: list):
    """The engine's verdict on `schema` after `previous` (oldest..latest) under `mode`;
    None when nothing needs checking (no previous version, or mode NONE)."""
    if not previous or mode == CompatibilityMode.NONE:
        return None
    aware = bool(subject is not None and subject.open_content_aware)
    return schema_compat.check(
        schema,
        previous,
        mode,
        open_content_aware=aware,
        existing_records=_existing_records(subject) if aware else None,
    )


def _check_schema_input(schema) -> None:
    validation.check_schema(schema)
    validation.content_size(codec.canonical(schema))


def do_create_subject(
    name,
    *,
    compatibility="",
    open_content_aware: bool = False,
    description: str = "",
    actor: str = "",
) -> Subject:
    subject_name = validation.subject_name(name)
    mode = mode_name(compatibility, allow_empty=True)
    try:
        with transaction.atomic(using=database()):
            subject = Subject.objects.create(
                name=subject_name,
                compatibility=mode,
                open_content_aware=bool(open_content_aware),
                description=str(description or "")[:500],
            )
            _audit(
                "metadata.subject.created",
                {"subject": subject.name, "compatibility": mode or None},
                actor,
            )
    except IntegrityError:
        raise MetadataError(
            409, "subject_exists", f"Subject {subject_name!r} already exists."
        ) from None
    return subject


def do_register_schema(name, schema, *, actor: str = "") -> tuple[SubjectVersion, bool]:
    """(version, created): the new version, or the existing one holding this very
    schema. Refused: an invalid schema (400), an incompatible one (409 with reasons)."""
    subject_name = validation.subject_name(name)
    _check_schema_input(schema)
    digest = fingerprint(schema)
    try:
        with transaction.atomic(using=database()):
            subject = Subject.objects.select_for_update().filter(name=subject_name).first()
            if subject is None:
                subject = Subject.objects.create(name=subject_name)
                _audit("metadata.subject.created", {"subject": subject.name}, actor)
            same = SubjectVersion.objects.filter(subject=subject, fingerprint=digest).first()
            if same is not None:
                return same, False
            previous = list(selectors.subject_versions(subject))
            mode = effective_mode(subject)
            result = run_check(subject, schema, mode, [v.schema for v in previous])
            if result is not None and not result.compatible:
                numbers = [v.version for v in previous]
                reasons = schema_compat.reasons_of(result.reasons, numbers)
                raise MetadataError(
                    409,
                    "incompatible_schema",
                    f"The schema is not {mode}-compatible with subject {subject.name!r}: "
                    f"{len(reasons)} reason(s).",
                    extra={
                        "mode": mode,
                        "reasons": reasons,
                        "breaking_records": getattr(result, "breaking_records_total", 0),
                    },
                )
            version = SubjectVersion.objects.create(
                subject=subject,
                version=(previous[-1].version + 1) if previous else 1,
                schema=schema,
                fingerprint=digest,
                created_by=actor[:150],
            )
            subject.updated_at = timezone.now()
            subject.save(update_fields=["updated_at"])
            _audit(
                "metadata.subject.version_registered",
                {
                    "subject": subject.name,
                    "version": version.version,
                    "fingerprint": digest,
                    "mode": mode,
                },
                actor,
            )
    except IntegrityError:
        raise MetadataError(
            409, "conflict", "Another version was registered concurrently; retry."
        ) from None
    return version, True


def check_compatibility(name, schema, *, mode=None) -> dict:
    """What registering `schema` would answer, without writing anything. `mode`
    overrides the subject's for a what-if."""
    subject = selectors.get_subject(name if isinstance(name, str) else "")
    if subject is None:
        raise not_found()
    _check_schema_input(schema)
    used = mode_name(mode) if mode not in (None, "") else effective_mode(subject)
    previous = list(selectors.subject_versions(subject))
    result = run_check(subject, schema, used, [v.schema for v in previous])
    numbers = [v.version for v in previous]
    return {
        "subject": subject.name,
        "mode": used,
        "compatible": True if result is None else bool(result.compatible),
        "reasons": [] if result is None else schema_compat.reasons_of(result.reasons, numbers),
        # Changes Confluent refuses that the open-content-aware policy accepted, because
        # no stored record breaks (or would have, had one not broken).
        "relaxed": [] if result is None else schema_compat.reasons_of(result.relaxed, numbers),
        "breaking_records": 0 if result is None else result.breaking_records_total,
        "versions_checked": numbers if result is not None else [],
    }


def do_set_subject_config(name, *, compatibility=UNSET, open_content_aware=UNSET, actor=""):
    """Set (or, with "" / None, clear to the tenant's default) the subject's mode, and
    its open-content-aware opt-in."""
    with transaction.atomic(using=database()):
        subject = Subject.objects.select_for_update().filter(name=str(name)).first()
        if subject is None:
            raise not_found()
        if compatibility is not UNSET:
            subject.compatibility = mode_name(compatibility or "", allow_empty=True)
        if open_content_aware is not UNSET:
            subject.open_content_aware = bool(open_content_aware)
        subject.updated_at = timezone.now()
        subject.save()
        _audit(
            "metadata.subject.config_changed",
            {
                "subject": subject.name,
                "compatibility": subject.compatibility or None,
                "open_content_aware": subject.open_content_aware,
            },
            actor,
        )
    return subject


def do_set_tenant_mode(mode, *, actor: str = "") -> str:
    text = mode_name(mode)
    with transaction.atomic(using=database()):
        TenantSetting.objects.update_or_create(
            key=MODE_SETTING,
            defaults={
                "value": {"mode": text},
                "description": "Default schema compatibility mode (metadata manager).",
            },
        )
        _audit("metadata.config_changed", {"compatibility": text}, actor)
    return text


def do_evolve_subject(name, *, register: bool = False, actor: str = "") -> dict:
    """Automatic schema evolution: from the subject's live records that no longer fit
    its latest schema, ask the engine for the next schema, report its compatibility,
    and register it when asked (and compatible)."""
    subject = selectors.get_subject(name if isinstance(name, str) else "")
    if subject is None:
        raise not_found()
    latest = selectors.subject_version(subject, "latest")
    if latest is None:
        raise MetadataError(
            409, "subject_has_no_version", f"Subject {subject.name!r} has no schema yet."
        )
    failing = []
    for record in selectors.records_of_subject(subject):
        try:
            validation.conforms(latest, record.content)
        except MetadataError:
            failing.append(record.content)
    mode = effective_mode(subject)
    answer = {"subject": subject.name, "mode": mode, "failing_records": len(failing)}
    if not failing:
        return {
            **answer,
            "proposal": None,
            "compatible": True,
            "reasons": [],
            "edits": [],
            "unresolved": 0,
            "registered_version": None,
        }
    versions = list(selectors.subject_versions(subject))
    aware = subject.open_content_aware
    evolution = schema_compat.evolve(
        [v.schema for v in versions],
        failing,
        mode,
        open_content_aware=aware,
        existing_records=_existing_records(subject) if aware else None,
    )
    result = evolution.result
    answer.update(
        proposal=evolution.schema,
        compatible=bool(result.compatible),
        reasons=schema_compat.reasons_of(result.reasons, [v.version for v in versions]),
        edits=[
            {"pointer": e.pointer, "action": e.action, "detail": e.detail} for e in evolution.edits
        ],
        unresolved=len(evolution.unresolved),
        registered_version=None,
    )
    if register and result.compatible and evolution.edits:
        version, _created = do_register_schema(subject.name, evolution.schema, actor=actor)
        answer["registered_version"] = version.version
    return answer
