"""Retention purges per data kind: only rows older than the tier's days (and only
finished ones), in batches, only in the tenant in context, reported in the audit log;
nothing under legal hold or without a rule; beat has one schedule per kind."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.conf import settings
from django.utils import timezone

import audit_mgr as audit
from audit_mgr.models import AuditEntry
from jobs_mgr.models import Job, JobState
from lifecycle_mgr import actions, retention
from lifecycle_mgr.holds import do_place_hold
from lifecycle_mgr.models import RETENTION_KINDS
from lifecycle_mgr.tasks import purge_retention_task
from tenancy.context import tenant_context
from workflow_mgr.models import WorkflowRun

pytestmark = pytest.mark.django_db


def _jobs(tenant, ages_days: list[int | None]) -> None:
    now = timezone.now()
    with tenant_context(tenant):
        for age in ages_days:
            Job.objects.create(
                kind="test.kind",
                state=JobState.SUCCEEDED if age is not None else JobState.RUNNING,
                finished_at=None if age is None else now - dt.timedelta(days=age),
            )


def test_every_kind_is_declared_by_a_model():
    declared = retention.declared_kinds()
    assert set(declared) == set(RETENTION_KINDS)
    assert declared["jobs"] == ["jobs_mgr.Job"]
    assert retention.models_of("workflow_runs") == [WorkflowRun]


def test_purge_removes_only_old_finished_rows_of_this_tenant_in_batches(tenant_alpha, tenant_beta):
    actions.create_tenant_lifecycle(tenant_alpha.pk, "free")  # jobs: 30 days
    actions.create_tenant_lifecycle(tenant_beta.pk, "free")
    _jobs(tenant_alpha, [40, 31, 45, 29, 1, None])
    _jobs(tenant_beta, [40, 50])
    with tenant_context(tenant_alpha):
        report = retention.purge_kind("jobs", batch=2)
        assert report["removed"] == {"jobs_mgr.Job": 3} and report["days"] == 30
        left = sorted(
            (j.finished_at is None, j.state) for j in Job.objects.filter(kind="test.kind")
        )
        assert len(left) == 3
        audit.flush()
        entry = AuditEntry.objects.get(event="lifecycle.retention_purged")
        assert json.loads(entry.data)["payload"]["removed"] == {"jobs_mgr.Job": 3}
    with tenant_context(tenant_beta):
        assert Job.objects.filter(kind="test.kind").count() == 2


def test_purge_under_legal_hold_or_without_a_rule_removes_nothing(tenant_alpha, tenant_beta):
    actions.create_tenant_lifecycle(tenant_alpha.pk, "free")
    _jobs(tenant_alpha, [400])
    _jobs(tenant_beta, [400])  # beta has no lifecycle: no rule
    do_place_hold(tenant_alpha.pk, reason="audit of 2025", actor="legal")
    with tenant_context(tenant_alpha):
        assert retention.purge_kind("jobs")["skipped"].startswith("legal hold")
        assert Job.objects.filter(kind="test.kind").count() == 1
    with tenant_context(tenant_beta):
        assert purge_retention_task.delay("jobs").get()["skipped"]
        assert Job.objects.filter(kind="test.kind").count() == 1


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown data kind"):
        retention.purge_kind("everything")


def test_beat_has_one_fan_out_schedule_per_kind():
    from celery import current_app

    targets = {
        e["args"][0]
        for name, e in settings.PERIODIC_TASKS.items()
        if name.startswith("lifecycle-retention-")
    }
    assert targets == {f"lifecycle_mgr.tasks.purge_{k}_retention_task" for k in RETENTION_KINDS}
    assert targets <= set(current_app.tasks)
