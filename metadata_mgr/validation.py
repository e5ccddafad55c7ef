"""Checks of a record's input, each failing with a MetadataError that names the problem.

Schemas are JSON Schema; a schema without `$schema` is read as draft 7, as Confluent's
JSON Schema provider and the compatibility engine (`metadata_mgr.compat`) read it.
`$ref`s resolve inside the schema only: nothing is fetched from the network.
"""

from __future__ import annotations

import re

from django.conf import settings
from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError, best_match
from jsonschema.validators import validator_for
from referencing.exceptions import Unresolvable

from metadata_mgr.differ import escape
from metadata_mgr.exceptions import MetadataError
from metadata_mgr.models import MetadataType
from tenancy import resettable

MAX_NAME = 200
MAX_TAGS, MAX_TAG = 32, 64
MAX_OWNER = 150
MAX_SUBJECT_NAME = 255


def max_content_bytes() -> int:
    return int(getattr(settings, "METADATA_MAX_CONTENT_BYTES", 1024 * 1024))


# Unicode's control characters (category Cc) are exactly C0, DEL and C1: one regex
# scan instead of a category lookup per character (a bulk import checks every name,
# tag and owner).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _has_control(text: str) -> bool:
    return CONTROL.search(text) is not None


# Django's `Choices.values` is rebuilt from the enum on every access (~0.1 ms): once.
TYPES = frozenset(MetadataType.values)


def metadata_type(value) -> str:
    """The seed writes `MetadataType.SCHEMA` or `"schema"`; any case is accepted."""
    raw = getattr(value, "value", value)
    text = str(raw).strip().lower() if isinstance(raw, str) else None
    if text not in TYPES:
        raise MetadataError(
            400,
            "invalid_type",
            f"metadata_type must be one of {', '.join(MetadataType.values)}, not {value!r}.",
        )
    return text


def content(value) -> None:
    if not isinstance(value, dict):
        kind = type(value).__name__ if value is not None else "null"
        raise MetadataError(400, "invalid_content", f"content must be a JSON object, not {kind}.")


def content_size(data: bytes) -> None:
    limit = max_content_bytes()
    if len(data) > limit:
        raise MetadataError(
            413,
            "content_too_large",
            f"The content is {len(data)} bytes as JSON; the limit is {limit} "
            "(setting METADATA_MAX_CONTENT_BYTES).",
        )


def name(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MetadataError(400, "invalid_name", "name must be a non-empty string.")
    text = value.strip()
    if len(text) > MAX_NAME or _has_control(text):
        raise MetadataError(
            400,
            "invalid_name",
            f"name must be at most {MAX_NAME} characters, without control characters.",
        )
    return text


def tags(value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or len(value) > MAX_TAGS:
        raise MetadataError(
            400, "invalid_tags", f"tags must be a list of at most {MAX_TAGS} strings."
        )
    seen: list[str] = []
    for tag in value:
        if not isinstance(tag, str) or not tag.strip():
            raise MetadataError(400, "invalid_tags", "every tag must be a non-empty string.")
        tag = tag.strip()
        if len(tag) > MAX_TAG or "|" in tag or _has_control(tag):
            raise MetadataError(
                400,
                "invalid_tags",
                f"a tag is at most {MAX_TAG} characters, without '|' or control characters: "
                f"{tag[:MAX_TAG]!r}.",
            )
        if tag not in seen:
            seen.append(tag)
    return seen


def tag_index(tag_list: list[str]) -> str:
    return f"|{'|'.join(tag_list)}|" if tag_list else ""


def owner(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value.strip()) > MAX_OWNER or _has_control(value):
        raise MetadataError(
            400, "invalid_owner", f"owner must be a string of at most {MAX_OWNER} characters."
        )
    return value.strip()


def subject_name(value) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_SUBJECT_NAME or _has_control(text) or "/" in text:
        raise MetadataError(
            400,
            "invalid_subject",
            f"A subject name is 1 to {MAX_SUBJECT_NAME} characters, without '/' or control "
            "characters.",
        )
    return text


# --- JSON Schema ------------------------------------------------------------------------


def _validator_class(schema):
    return validator_for(schema, default=Draft7Validator)


def check_schema(schema) -> None:
    """A schema the registry can store: a JSON object or boolean that is valid under
    its own metaschema."""
    if not isinstance(schema, (dict, bool)):
        raise MetadataError(400, "invalid_schema", "A schema must be a JSON object (or boolean).")
    try:
        _validator_class(schema).check_schema(schema)
    except SchemaError as exc:
        where = "/" + "/".join(escape(str(p)) for p in exc.absolute_path)
        raise MetadataError(
            400,
            "invalid_schema",
            f"The schema is not valid JSON Schema at {where}: {exc.message}",
            extra={"pointer": where},
        ) from None


# Compiled validators by (tenant, version id, fingerprint): a version never changes, and
# the fingerprint guards against ids that repeat across test databases.
_validators: dict[tuple, object] = {}
MAX_CACHED = 512
resettable.register(_validators.clear, name="metadata_mgr.validation._validators")


def _validator(subject_version):
    key = (subject_version.tenant_id, subject_version.pk, subject_version.fingerprint)
    validator = _validators.get(key)
    if validator is None:
        schema = subject_version.schema
        validator = _validator_class(schema)(schema)
        if len(_validators) >= MAX_CACHED:
            _validators.clear()
        _validators[key] = validator
    return validator


def conforms(subject_version, value) -> None:
    """`value` is valid under the registered schema, else a 400 naming the first
    violation's JSON pointer (inside the content) and why."""
    validator = _validator(subject_version)
    try:
        error = best_match(validator.iter_errors(value))
    except Unresolvable as exc:
        raise MetadataError(
            400,
            "schema_unresolvable",
            f"The schema of {subject_version.subject.name} v{subject_version.version} has a "
            f"$ref that cannot be resolved inside it: {exc}.",
        ) from None
    if error is not None:
        where = "/" + "/".join(escape(str(p)) for p in error.absolute_path)
        raise MetadataError(
            400,
            "schema_violation",
            f"The content does not conform to {subject_version.subject.name} "
            f"v{subject_version.version} at {where if where != '/' else '(root)'}: "
            f"{error.message}",
            extra={"pointer": "" if where == "/" else where},
        )
