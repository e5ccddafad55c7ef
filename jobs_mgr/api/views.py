"""Long jobs of the tenant: list and detail with progress, resume and cancel. Admins
only: jobs act on the whole tenant (key rewrap and the like)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from jobs_mgr import actions
from jobs_mgr.api.serializers import JobQuerySerializer, JobSerializer
from jobs_mgr.models import Job, JobState
from tenancy.api.base import TenantAPIMixin
from tenancy.api.errors import TenantAPIError
from tenancy.models import Role


class JobViewSet(TenantAPIMixin, viewsets.ReadOnlyModelViewSet):
    model = Job  # another tenant's job answers the same 404 as a missing one
    serializer_class = JobSerializer
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    def get_queryset(self):
        queryset = Job.objects.order_by("-created_at", "-id")
        if self.action != "list":
            return queryset
        query = JobQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return queryset.filter(**query.validated_data)

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, enum=JobState.values),
            OpenApiParameter("kind", str),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _act(self, change, pk) -> Response:
        try:
            job = change(self._job_id(pk), actor=request_actor(self.request))
        except Job.DoesNotExist:
            raise Http404 from None  # another tenant's job: exactly like a missing one
        except actions.JobConflict as exc:
            raise TenantAPIError(409, exc.code, str(exc)) from None
        # 202: queued again, or a cancel the running job honours at its next step.
        done_now = job.finished
        return Response(JobSerializer(job).data, status=status.HTTP_200_OK if done_now else 202)

    @staticmethod
    def _job_id(pk) -> int:
        if not (isinstance(pk, str) and pk.isascii() and pk.isdigit() and len(pk) < 19):
            raise Http404
        return int(pk)

    @extend_schema(request=None, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Queue a failed, cancelled or abandoned job again: it continues from its last
        checkpoint. 409 (`job_finished`, `job_running`, `job_queued`, `unknown_kind`)
        for a job that succeeded, that a worker holds, that is already queued, or whose
        kind this version no longer runs; `can_resume` and `resume_refusal` say so
        beforehand."""
        return self._act(actions.resume_job, pk)

    @extend_schema(request=None, responses={200: JobSerializer, 202: JobSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a job: at once when no worker holds it (200), else at its next step
        (202, `cancel_requested`; asking again changes nothing). 409 (`job_finished`)
        for a finished job; `can_cancel` and `cancel_refusal` say so beforehand."""
        return self._act(actions.cancel_job, pk)


def request_actor(request) -> str:
    return request.user.get_username()
