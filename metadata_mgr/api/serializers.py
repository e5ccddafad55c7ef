"""Shapes of the metadata API. Input serializers check types only; the rules (content
is an object, sizes, names, subjects, schemas) are the actions', so the API, the Python
API and bulk import refuse the same things with the same codes."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from metadata_mgr.content import record_content
from metadata_mgr.models import CompatibilityMode, MetadataType, Record, RecordVersion
from tenancy.api import references
from tenancy.api.fields import CaseInsensitiveChoiceField

# Printable text with something in it (names, tags): what validation.py accepts.
TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
TAG_PATTERN = r"^[^|\x00-\x1f\x7f-\x9f]*[^|\s\x00-\x1f\x7f-\x9f][^|\x00-\x1f\x7f-\x9f]*$"
SUBJECT_PATTERN = r"^[^/\x00-\x1f\x7f-\x9f]*[^/\s\x00-\x1f\x7f-\x9f][^/\x00-\x1f\x7f-\x9f]*$"
VERSION_PATTERN = r"^(latest|[0-9]{1,9}(\.[0-9]{1,9})?)$"
SCHEMA_VERSION_PATTERN = r"^(latest|[0-9]{1,9})$"


class StrictCharField(serializers.CharField):
    """Text only: DRF's CharField would turn a number into text, which the schema (a
    string) does not allow."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only (DRF would take "3" and 3.0 too, which the schema does not)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """`true` or `false` only (DRF would take "yes", 1, "on", ...)."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


@extend_schema_field({"type": "object", "additionalProperties": True})
class JSONObjectField(serializers.JSONField):
    """Any JSON; the actions refuse what is not an object, naming the problem."""


@extend_schema_field(
    {"oneOf": [{"type": "object", "additionalProperties": True}, {"type": "boolean"}]}
)
class SchemaField(serializers.JSONField):
    pass


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": 200, "pattern": TEXT_PATTERN})
class NameField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=200, trim_whitespace=False, **kwargs)


@extend_schema_field({"type": "string", "maxLength": 150, "pattern": r"^[^\x00-\x1f\x7f-\x9f]*$"})
class OwnerField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=150, allow_blank=True, **kwargs)


@extend_schema_field(
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": SUBJECT_PATTERN}
)
class SubjectNameField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=255, trim_whitespace=False, **kwargs)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "minLength": 1, "maxLength": 64},
            {"type": "integer", "minimum": 1},
        ]
    }
)
class TenantReferenceField(serializers.CharField):
    """A tenant id or slug (the seed's `"tenant_123"`); must name the request's tenant."""


class TenantReferenceMixin(serializers.Serializer):
    tenant_id = TenantReferenceField(required=False, max_length=64)

    def validate_tenant_id(self, value):
        return references.check(self.context["request"], value)


class TagsField(serializers.ListField):
    def __init__(self, **kwargs):
        child = StrictCharField(max_length=64, trim_whitespace=False)
        super().__init__(child=child, max_length=32, **kwargs)


# The schema of TagsField's items (the pattern) is set on the component by hand:
TagsField = extend_schema_field(
    {
        "type": "array",
        "maxItems": 32,
        "items": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": TAG_PATTERN},
    }
)(TagsField)


class RecordCreateSerializer(TenantReferenceMixin):
    """The seed's body (`tenant_id`, `metadata_type`, `content`, `schema_name`) plus the
    record's other attributes. `schema_name` is the seed's word for the record's name;
    `subject` is the registry subject its content must conform to."""

    metadata_type = CaseInsensitiveChoiceField(MetadataType.choices)
    content = JSONObjectField()
    name = NameField(required=False)
    schema_name = NameField(required=False, help_text="The seed's name for `name`.")
    subject = SubjectNameField(required=False, allow_null=True)
    subject_version = StrictIntegerField(
        required=False, allow_null=True, min_value=1, max_value=999_999_999
    )
    tags = TagsField(required=False)
    owner = OwnerField(required=False)
    sensitive = StrictBooleanField(required=False, default=False)

    def validate(self, attrs):
        name, alias = attrs.get("name"), attrs.pop("schema_name", None)
        if name and alias and name != alias:
            raise serializers.ValidationError({"schema_name": "Differs from name: give one."})
        if alias and not name:
            attrs["name"] = alias
        attrs.pop("tenant_id", None)
        return attrs


class RecordUpdateSerializer(serializers.Serializer):
    content = JSONObjectField(required=False)
    name = NameField(required=False)
    subject = SubjectNameField(required=False, allow_null=True)
    subject_version = StrictIntegerField(
        required=False, allow_null=True, min_value=1, max_value=999_999_999
    )
    tags = TagsField(required=False)
    owner = OwnerField(required=False)
    sensitive = StrictBooleanField(required=False)


class RecordSummarySerializer(serializers.ModelSerializer):
    subject = serializers.CharField(source="subject.name", allow_null=True, default=None)
    subject_version = serializers.IntegerField(
        source="subject_version.version", allow_null=True, default=None
    )

    class Meta:
        model = Record
        fields = [
            "id",
            "name",
            "metadata_type",
            "version",
            "version_seq",
            "tags",
            "owner",
            "sensitive",
            "subject",
            "subject_version",
            "content_bytes",
            "created_by",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        read_only_fields = fields


class RecordSerializer(RecordSummarySerializer):
    content = serializers.SerializerMethodField()

    class Meta(RecordSummarySerializer.Meta):
        fields = [*RecordSummarySerializer.Meta.fields, "content"]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_content(self, record):
        if self.context.get("written"):
            # The answer to a write: the content just written (the store is fed by the
            # indexer afterwards; a store that is down must not turn a done write into
            # an error).
            return record.content
        return record_content(record)  # from the configured document store


class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = RecordVersion
        fields = [
            "seq",
            "label",
            "op",
            "breaking",
            "added",
            "changed",
            "removed",
            "rolled_back_to",
            "actor",
            "created_at",
        ]
        read_only_fields = fields


class ChangeSerializer(serializers.Serializer):
    op = serializers.ChoiceField(["added", "changed", "removed"])
    path = serializers.CharField(help_text="JSON Pointer (RFC 6901) into the document.")
    old = serializers.JSONField(required=False, help_text="Removed and changed paths.")
    new = serializers.JSONField(required=False, help_text="Added and changed paths.")


class VersionDetailSerializer(VersionSerializer):
    document = serializers.SerializerMethodField()
    changes = serializers.SerializerMethodField()

    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "document", "changes"]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_document(self, version):
        return version.document

    @extend_schema_field(ChangeSerializer(many=True))
    def get_changes(self, version):
        return version.changes


class VersionRefSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    label = serializers.CharField()


class DiffSerializer(serializers.Serializer):
    record = serializers.UUIDField()
    to = VersionRefSerializer()
    breaking = serializers.BooleanField()
    added = serializers.IntegerField()
    changed = serializers.IntegerField()
    removed = serializers.IntegerField()
    changes = ChangeSerializer(many=True)


# "from" is a Python keyword: declared after the class.
DiffSerializer._declared_fields["from"] = VersionRefSerializer()


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": VERSION_PATTERN},
            {"type": "integer", "minimum": 1, "maximum": 999_999_999},
        ]
    }
)
class VersionReferenceField(serializers.CharField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (str, int)):
            self.fail("invalid")
        return super().to_internal_value(data)


class RollbackSerializer(serializers.Serializer):
    version = VersionReferenceField(max_length=24, help_text="A seq number, a label or latest.")


class RollbackResultSerializer(serializers.Serializer):
    record = RecordSerializer()
    version = VersionSerializer()


# --- the registry -----------------------------------------------------------------------


class SubjectCreateSerializer(serializers.Serializer):
    name = SubjectNameField()
    compatibility = CaseInsensitiveChoiceField(
        CompatibilityMode.choices, required=False, allow_blank=True, allow_null=True
    )
    open_content_aware = StrictBooleanField(required=False, default=False)
    description = StrictCharField(max_length=500, required=False, allow_blank=True)


class SubjectSerializer(serializers.Serializer):
    """A subject (its name is its identifier in every path)."""

    name = serializers.CharField()
    compatibility = serializers.CharField(
        allow_null=True, help_text="The subject's own mode; null: the tenant's default."
    )
    effective_compatibility = serializers.ChoiceField(CompatibilityMode.choices)
    open_content_aware = serializers.BooleanField()
    description = serializers.CharField()
    latest_version = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class SchemaVersionSerializer(serializers.Serializer):
    subject = serializers.CharField()
    version = serializers.IntegerField()
    fingerprint = serializers.CharField(help_text="SHA-256 of the canonical JSON.")
    schema = SchemaField()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()


class RegisterSchemaSerializer(serializers.Serializer):
    schema = SchemaField()


class CompatibilityQuerySerializer(serializers.Serializer):
    schema = SchemaField()
    compatibility = CaseInsensitiveChoiceField(
        CompatibilityMode.choices,
        required=False,
        allow_null=True,
        help_text="Check under this mode instead of the subject's (nothing is changed).",
    )


class ReasonSerializer(serializers.Serializer):
    change_type = serializers.CharField(help_text="Confluent's change type.")
    pointer = serializers.CharField(help_text="JSON pointer into the schema.")
    direction = serializers.ChoiceField(["backward", "forward"])
    version = serializers.IntegerField(
        required=False, help_text="The subject's version it was found against."
    )


class CompatibilityResultSerializer(serializers.Serializer):
    subject = serializers.CharField()
    mode = serializers.ChoiceField(CompatibilityMode.choices)
    compatible = serializers.BooleanField()
    reasons = ReasonSerializer(many=True)
    relaxed = ReasonSerializer(
        many=True,
        help_text="Open-content-aware subjects: changes Confluent refuses that the stored "
        "records prove harmless.",
    )
    breaking_records = serializers.IntegerField(
        help_text="Open-content-aware subjects: stored records the new schema would break."
    )
    versions_checked = serializers.ListField(child=serializers.IntegerField())


class SubjectConfigSerializer(serializers.Serializer):
    compatibility = CaseInsensitiveChoiceField(
        CompatibilityMode.choices, required=False, allow_null=True, allow_blank=True
    )
    open_content_aware = StrictBooleanField(required=False)


class TenantConfigSerializer(serializers.Serializer):
    compatibility = CaseInsensitiveChoiceField(CompatibilityMode.choices)


class EvolveSerializer(serializers.Serializer):
    register = StrictBooleanField(required=False, default=False)


class EditSerializer(serializers.Serializer):
    pointer = serializers.CharField()
    action = serializers.CharField()
    detail = serializers.CharField()


class EvolveResultSerializer(serializers.Serializer):
    subject = serializers.CharField()
    mode = serializers.ChoiceField(CompatibilityMode.choices)
    failing_records = serializers.IntegerField()
    proposal = SchemaField(allow_null=True)
    compatible = serializers.BooleanField()
    reasons = ReasonSerializer(many=True)
    edits = EditSerializer(many=True)
    unresolved = serializers.IntegerField(help_text="Failing records the proposal still refuses.")
    registered_version = serializers.IntegerField(allow_null=True)


# --- imports ----------------------------------------------------------------------------


@extend_schema_field({"type": "string", "pattern": r"\S"})
class NonBlankTextField(StrictCharField):
    pass


class ImportUploadSerializer(serializers.Serializer):
    jsonl = NonBlankTextField(
        trim_whitespace=False,
        help_text="The JSON Lines file's text (or upload it as multipart `file`, or send "
        "it as the body with Content-Type application/x-ndjson).",
    )
    filename = StrictCharField(max_length=255, required=False, allow_blank=True)


class ImportSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    filename = serializers.CharField()
    lines = serializers.IntegerField()
    size_bytes = serializers.IntegerField()
    job = serializers.IntegerField(allow_null=True, help_text="The job (GET /api/v1/jobs/{id}/).")
    state = serializers.CharField(allow_null=True)
    done = serializers.IntegerField(help_text="Lines processed.")
    imported = serializers.IntegerField()
    rejected = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class RejectionSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    code = serializers.CharField()
    reason = serializers.CharField()
