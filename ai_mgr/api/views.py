"""The AI API under /api/v1/ai/: models, versions, aliases (promote, rollback, history,
"which version served at D"), training jobs and predictions.

Reading is for viewers, predicting for members, training and moving aliases for admins.
Another tenant's model answers the same 404 as a name that never existed."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from ai_mgr import actions, inference, selectors, training
from ai_mgr.api import serializers as s
from ai_mgr.exceptions import AIError, UnknownModel, UnknownVersion
from tenancy.api.base import TenantAPIView
from tenancy.api.errors import TenantAPIError
from tenancy.api.pagination import TenantPagination
from tenancy.models import Role

NAME = OpenApiParameter(
    "name", {"type": "string", "pattern": s.NAME_PATTERN}, OpenApiParameter.PATH
)
NUMBER = OpenApiParameter("number", {"type": "integer", "minimum": 1}, OpenApiParameter.PATH)


def model_body(model) -> dict:
    latest = selectors.versions_of(model).values_list("number", flat=True).first()
    return {
        "name": model.name,
        "kind": model.kind,
        "description": model.description,
        "source": model.source,
        "created_at": model.created_at,
        "aliases": selectors.aliases_of(model),
        "latest_version": latest,
    }


def version_body(version) -> dict:
    return {field: getattr(version, field) for field in s.AIVersionSerializer().fields}


def event_body(event) -> dict:
    return {
        "alias": event.alias,
        "version": event.version.number,
        "previous": event.previous.number if event.previous_id else None,
        "action": event.action,
        "at": event.at,
        "actor": event.actor,
        "reason": event.reason,
    }


class AIAPIView(TenantAPIView):
    read_role = Role.VIEWER
    write_role = Role.ADMIN
    pagination_class = TenantPagination

    def handle_exception(self, exc):
        # Unknown names: Django's 404, byte for byte another tenant's model's.
        if isinstance(exc, (UnknownModel, UnknownVersion)):
            exc = Http404()
        elif isinstance(exc, AIError):
            exc = TenantAPIError(exc.status, exc.code, str(exc))
        return super().handle_exception(exc)

    def actor(self) -> str:
        return self.request.user.get_username()

    def page(self, queryset, serialize) -> Response:
        paginator = self.pagination_class()
        rows = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serialize(rows))

    @staticmethod
    def model(name: str):
        return selectors.access_model(name)


class ModelListView(AIAPIView):
    """The tenant's models, with their aliases and latest version."""

    @extend_schema(responses=s.AIModelSerializer(many=True))
    def get(self, request, *args, **kwargs):
        return self.page(selectors.models_of_tenant(), lambda rows: [model_body(m) for m in rows])


class ModelDetailView(AIAPIView):
    @extend_schema(responses=s.AIModelSerializer, parameters=[NAME])
    def get(self, request, name, *args, **kwargs):
        return Response(model_body(self.model(name)))


class VersionListView(AIAPIView):
    """A model's versions, newest first, each with its lineage and holdout metrics."""

    @extend_schema(responses=s.AIVersionSerializer(many=True), parameters=[NAME])
    def get(self, request, name, *args, **kwargs):
        versions = selectors.versions_of(self.model(name))
        return self.page(versions, lambda rows: [version_body(v) for v in rows])


class VersionDetailView(AIAPIView):
    @extend_schema(responses=s.AIVersionSerializer, parameters=[NAME, NUMBER])
    def get(self, request, name, number, *args, **kwargs):
        return Response(version_body(selectors.access_version(self.model(name), number)))


class HistoryView(AIAPIView):
    """Every move of the model's aliases, newest first (promotions and rollbacks)."""

    @extend_schema(responses=s.AIAliasEventSerializer(many=True), parameters=[NAME])
    def get(self, request, name, *args, **kwargs):
        events = selectors.history(self.model(name)).order_by("-at", "-id")
        return self.page(events, lambda rows: [event_body(e) for e in rows])


class PromoteView(AIAPIView):
    """Point an alias (default `champion`) at a version; audited."""

    @extend_schema(
        request=s.AIPromoteSerializer, responses=s.AIAliasEventSerializer, parameters=[NAME]
    )
    def post(self, request, name, *args, **kwargs):
        data = s.AIPromoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        event = actions.promote(
            name, v["version"], alias=v["alias"], actor=self.actor(), reason=v["reason"]
        )
        return Response(event_body(event))


class RollbackView(AIAPIView):
    """Point an alias back at the version it had before its last move; audited. 409
    `nothing_to_roll_back` for an alias that never moved."""

    @extend_schema(
        request=s.AIRollbackSerializer, responses=s.AIAliasEventSerializer, parameters=[NAME]
    )
    def post(self, request, name, *args, **kwargs):
        data = s.AIRollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        event = actions.rollback(name, alias=v["alias"], actor=self.actor(), reason=v["reason"])
        return Response(event_body(event))


class ServedAtView(AIAPIView):
    """Which version an alias pointed at, at a given time (`version` null: the alias
    did not exist yet)."""

    @extend_schema(
        responses=s.AIServedAtSerializer,
        parameters=[
            NAME,
            OpenApiParameter("at", {"type": "string", "format": "date-time"}, required=True),
            OpenApiParameter("alias", {"type": "string", "pattern": s.ALIAS_PATTERN}),
        ],
    )
    def get(self, request, name, *args, **kwargs):
        query = s.AIServedAtQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        at, alias = query.validated_data["at"], query.validated_data["alias"]
        event = selectors.served_at(self.model(name), at, alias)
        return Response(
            {
                "model": name,
                "alias": alias,
                "at": at,
                "version": event.version.number if event else None,
                "since": event.at if event else None,
                "promoted_by": event.actor if event else None,
            }
        )


class TrainView(AIAPIView):
    """Queue a training job (jobs_mgr; follow it at /api/v1/jobs/{job}/). The data is
    checked first: NaN, too few rows or missing columns are a 400 `bad_training_data`."""

    @extend_schema(request=s.AITrainSerializer, responses={202: s.AITrainJobSerializer})
    def post(self, request, *args, **kwargs):
        data = s.AITrainSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        job = training.train_model(
            model_type=v["model_type"], training_data=v["training_data"],
            model_name=v.get("model_name"), params=v["params"], promote=v.get("promote"),
            actor=self.actor(),
        )  # fmt: skip
        body = {
            "job": job.pk,
            "state": job.state,
            "kind": job.kind,
            "model": job.params["model_name"],
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


class PredictView(AIAPIView):
    """Score input with a model's aliased version (default the champion)."""

    write_role = Role.MEMBER  # a question: nothing is written

    @extend_schema(request=s.AIPredictSerializer, responses=s.AIPredictionSerializer)
    def post(self, request, *args, **kwargs):
        data = s.AIPredictSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        return Response(inference.predict(v["model_name"], v["input_data"], alias=v["alias"]))
