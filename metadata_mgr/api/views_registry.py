"""The tenant's schema registry under /api/v1/metadata/: subjects, their versions,
compatibility checks, modes (per tenant and per subject) and schema evolution."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from metadata_mgr import actions, selectors
from metadata_mgr.api import serializers as s
from metadata_mgr.api.base import MetadataAPIView
from metadata_mgr.exceptions import not_found
from tenancy.models import Role

SUBJECT = OpenApiParameter(
    "name",
    {"type": "string", "maxLength": 255, "pattern": s.SUBJECT_PATTERN},
    OpenApiParameter.PATH,
    description="The subject's name.",
)
SCHEMA_VERSION = OpenApiParameter(
    "ref",
    {"type": "string", "pattern": s.SCHEMA_VERSION_PATTERN},
    OpenApiParameter.PATH,
    description="A version number or `latest`.",
)


def subject_body(subject) -> dict:
    latest = selectors.subject_version(subject, "latest")
    return {
        "name": subject.name,
        "compatibility": subject.compatibility or None,
        "effective_compatibility": actions.effective_mode(subject),
        "open_content_aware": subject.open_content_aware,
        "description": subject.description,
        "latest_version": latest.version if latest else None,
        "created_at": subject.created_at,
        "updated_at": subject.updated_at,
    }


def version_body(version) -> dict:
    return {
        "subject": version.subject.name,
        "version": version.version,
        "fingerprint": version.fingerprint,
        "schema": version.schema,
        "created_by": version.created_by,
        "created_at": version.created_at,
    }


def _subject(name):
    subject = selectors.get_subject(name)
    if subject is None:
        raise not_found()
    return subject


class SubjectListCreateView(MetadataAPIView):
    """The tenant's schema subjects; create one with its mode (or register a schema:
    the subject is created on first use)."""

    @extend_schema(responses=s.SubjectSerializer(many=True))
    def get(self, request, *args, **kwargs):
        return self.page(selectors.subjects(), lambda rows: [subject_body(x) for x in rows])

    @extend_schema(request=s.SubjectCreateSerializer, responses={201: s.SubjectSerializer})
    def post(self, request, *args, **kwargs):
        data = s.SubjectCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        subject = actions.do_create_subject(
            values["name"],
            compatibility=values.get("compatibility") or "",
            open_content_aware=values["open_content_aware"],
            description=values.get("description", ""),
            actor=self.actor(),
        )
        return Response(subject_body(subject), status=status.HTTP_201_CREATED)


class SubjectDetailView(MetadataAPIView):
    """A subject: its own mode, the effective one, its latest version."""

    @extend_schema(responses=s.SubjectSerializer, parameters=[SUBJECT])
    def get(self, request, name, *args, **kwargs):
        return Response(subject_body(_subject(name)))


class SubjectVersionsView(MetadataAPIView):
    """The subject's schema versions, oldest first; POST registers a schema."""

    @extend_schema(responses=s.SchemaVersionSerializer(many=True), parameters=[SUBJECT])
    def get(self, request, name, *args, **kwargs):
        versions = selectors.subject_versions(_subject(name)).select_related("subject")
        return self.page(versions, lambda rows: [version_body(v) for v in rows])

    @extend_schema(
        request=s.RegisterSchemaSerializer,
        responses={201: s.SchemaVersionSerializer, 200: s.SchemaVersionSerializer},
        parameters=[SUBJECT],
        description="Register a schema (the subject is created on first use). 201: a new "
        "version; 200: this very schema was registered before (its version). 409 "
        "`incompatible_schema` lists `reasons` [{change_type, pointer, direction}].",
    )
    def post(self, request, name, *args, **kwargs):
        data = s.RegisterSchemaSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version, created = actions.do_register_schema(
            name, data.validated_data["schema"], actor=self.actor()
        )
        return Response(
            version_body(version), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class SubjectVersionDetailView(MetadataAPIView):
    """One schema version (a number or `latest`)."""

    @extend_schema(responses=s.SchemaVersionSerializer, parameters=[SUBJECT, SCHEMA_VERSION])
    def get(self, request, name, ref, *args, **kwargs):
        version = selectors.subject_version(_subject(name), ref)
        if version is None:
            raise not_found()
        return Response(version_body(version))


class CompatibilityView(MetadataAPIView):
    """Check a schema against the subject's versions without registering it."""

    write_role = Role.VIEWER  # a question, not a change: nothing is written

    @extend_schema(
        request=s.CompatibilityQuerySerializer,
        responses=s.CompatibilityResultSerializer,
        parameters=[SUBJECT],
        description="Would this schema be accepted as the subject's next version? "
        "Nothing is written.",
    )
    def post(self, request, name, *args, **kwargs):
        data = s.CompatibilityQuerySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            actions.check_compatibility(
                name, data.validated_data["schema"], mode=data.validated_data.get("compatibility")
            )
        )


class SubjectConfigView(MetadataAPIView):
    """The subject's compatibility mode and open-content-aware opt-in (admins set them)."""

    write_role = Role.ADMIN

    @extend_schema(responses=s.SubjectSerializer, parameters=[SUBJECT])
    def get(self, request, name, *args, **kwargs):
        return Response(subject_body(_subject(name)))

    @extend_schema(
        request=s.SubjectConfigSerializer, responses=s.SubjectSerializer, parameters=[SUBJECT]
    )
    def put(self, request, name, *args, **kwargs):
        data = s.SubjectConfigSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subject = actions.do_set_subject_config(name, actor=self.actor(), **data.validated_data)
        return Response(subject_body(subject))


class TenantConfigView(MetadataAPIView):
    """The tenant's default compatibility mode (admins set it)."""

    write_role = Role.ADMIN

    @extend_schema(responses=s.TenantConfigSerializer)
    def get(self, request, *args, **kwargs):
        return Response({"compatibility": actions.tenant_mode()})

    @extend_schema(request=s.TenantConfigSerializer, responses=s.TenantConfigSerializer)
    def put(self, request, *args, **kwargs):
        data = s.TenantConfigSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        mode = actions.do_set_tenant_mode(data.validated_data["compatibility"], actor=self.actor())
        return Response({"compatibility": mode})


class EvolveView(MetadataAPIView):
    """Automatic schema evolution for the subject."""

    @extend_schema(
        request=s.EvolveSerializer,
        responses=s.EvolveResultSerializer,
        parameters=[SUBJECT],
        description="Propose the subject's next schema from its live records that no "
        "longer fit the latest one, with its compatibility; `register: true` registers "
        "it when compatible.",
    )
    def post(self, request, name, *args, **kwargs):
        data = s.EvolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            actions.do_evolve_subject(
                name, register=data.validated_data["register"], actor=self.actor()
            )
        )
