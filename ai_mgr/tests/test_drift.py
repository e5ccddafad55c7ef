"""Drift checks and scheduled retraining: PSI of recent data against the champion's
training data; `auto_retrain_task` queues a training job for drifted models only, and
only when AUTO_TRAINING_ENABLED; the job's version becomes champion."""

import numpy as np
import pytest

from ai_mgr import drift, loader, sources, tasks, training
from ai_mgr.models import ModelAlias
from ai_mgr.tests.factories import metric_rows
from jobs_mgr import engine
from jobs_mgr.models import Job
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db
SOURCE = "tests.metrics"


@pytest.fixture
def feed():
    current = {"rows": metric_rows()}
    sources.register(SOURCE, lambda: current["rows"])
    loader.forget_all()
    yield current
    loader.forget_all()


def test_drift_psi_zero_for_same_data_and_large_for_shift():
    from ai_mgr.algorithms import reference

    x = np.random.default_rng(0).normal(size=(2000, 1))
    ref = reference(x, ["a"])["a"]
    assert drift.psi(ref, x[:, 0]) < 0.01
    assert drift.psi(ref, x[:, 0] + 2.0) > 1.0


def test_drift_auto_retrain_only_when_enabled_and_drifted(tenant_alpha, feed, settings):
    with tenant_context(tenant_alpha):
        training.train_now(model_type="anomaly_detector", model_name="m", source=SOURCE)
        settings.AUTO_TRAINING_ENABLED = True
        assert tasks.auto_retrain_task() == []  # the same distribution: no drift
        feed["rows"] = metric_rows(seed=8, shift=0.5)
        settings.AUTO_TRAINING_ENABLED = False
        assert tasks.auto_retrain_task() == []  # drifted, but the switch is off
        settings.AUTO_TRAINING_ENABLED = True
        assert tasks.auto_retrain_task() == ["m"]
        job = Job.objects.get(kind=training.TRAIN)
        engine.run_job(job.pk)
        assert ModelAlias.objects.get(name="champion").version.number == 2
        assert tasks.auto_retrain_task() == []  # the new champion knows this data


def test_drift_failed_retraining_keeps_champion(tenant_alpha, feed, settings):
    settings.AUTO_TRAINING_ENABLED = True
    with tenant_context(tenant_alpha):
        training.train_now(model_type="anomaly_detector", model_name="m", source=SOURCE)
        feed["rows"] = metric_rows(seed=8, shift=0.5)
        assert tasks.auto_retrain_task() == ["m"]
        feed["rows"] = [{**r, "cpu": float("nan")} for r in feed["rows"]]  # broken meanwhile
        job = Job.objects.get(kind=training.TRAIN)
        engine.run_job(job.pk)
        job.refresh_from_db()
        assert job.state == "failed" and "NaN" in job.last_error
        assert ModelAlias.objects.get(name="champion").version.number == 1
