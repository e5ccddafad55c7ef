"""Workflow runs of the tenant: list (filter by state and name, paginated), detail with
its step runs, start, cancel, signal, retry and compensate. Members read and act;
another tenant's run answers the same 404 as a missing one."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from tenancy.api.base import TenantAPIMixin
from tenancy.api.errors import TenantAPIError
from tenancy.models import Role
from workflow_mgr import actions, selectors
from workflow_mgr.api.serializers import (
    CreateRunSerializer,
    RunQuerySerializer,
    SignalSerializer,
    WorkflowRunDetailSerializer,
    WorkflowRunSerializer,
)
from workflow_mgr.definitions import DefinitionError
from workflow_mgr.models import RunState, WorkflowRun


class WorkflowRunViewSet(TenantAPIMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    model = WorkflowRun
    read_role = Role.VIEWER
    write_role = Role.MEMBER

    def get_serializer_class(self):
        return WorkflowRunSerializer if self.action == "list" else WorkflowRunDetailSerializer

    def get_queryset(self):
        if self.action != "list":
            return selectors.runs()
        query = RunQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.runs(**query.validated_data)

    def get_object(self):
        try:
            return selectors.access_run(self.kwargs["pk"])
        except WorkflowRun.DoesNotExist:
            raise Http404 from None

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, enum=RunState.values),
            OpenApiParameter("name", str),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=CreateRunSerializer, responses={201: WorkflowRunDetailSerializer})
    def create(self, request, *args, **kwargs):
        """Start a run. 400 `invalid` with every reason when the definition does not
        validate (cycles, unknown actions, a missing compensation under `automatic`)."""
        body = CreateRunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            run = actions.create_run(
                data["definition"],
                input=data["input"],
                compensation_strategy=data.get("compensation_strategy"),
                actor=request.user.get_username(),
            )
        except DefinitionError as exc:
            raise serializers.ValidationError({"definition": exc.reasons}) from None
        return Response(self._detail(run), status=status.HTTP_201_CREATED)

    def _detail(self, run) -> dict:
        return WorkflowRunDetailSerializer(selectors.access_run(run.pk)).data

    def _act(self, change, pk, *args) -> Response:
        run = self.get_object()
        try:
            run = change(run.pk, *args, actor=self.request.user.get_username())
        except actions.WorkflowConflict as exc:
            raise TenantAPIError(409, exc.code, str(exc)) from None
        except DefinitionError as exc:
            raise serializers.ValidationError({"signal": exc.reasons}) from None
        return Response(self._detail(run), status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: WorkflowRunDetailSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel: steps not started never start, completed ones are compensated (also
        under `manual`), the run ends `cancelled`. 409 `run_finished` for a finished run."""
        return self._act(actions.cancel_run, pk)

    @extend_schema(request=SignalSerializer, responses={202: WorkflowRunDetailSerializer})
    @action(detail=True, methods=["post"])
    def signal(self, request, pk=None):
        """Deliver an external event to the step waiting for it (kept until that step is
        reached). 409 `unknown_signal`, `signal_consumed`, `run_finished`."""
        body = SignalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._act(
            actions.signal_run, pk, body.validated_data["name"], body.validated_data["payload"]
        )

    @extend_schema(request=None, responses={202: WorkflowRunDetailSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Try the failed step (or compensation) again from a first attempt. 409
        `not_retryable` unless the run stopped on a failure."""
        return self._act(actions.retry_run, pk)

    @extend_schema(request=None, responses={202: WorkflowRunDetailSerializer})
    @action(detail=True, methods=["post"])
    def compensate(self, request, pk=None):
        """Under `manual`, after a failure: undo the completed steps in reverse order.
        409 `not_compensable` unless the run waits for an operator."""
        return self._act(actions.compensate_run, pk)
