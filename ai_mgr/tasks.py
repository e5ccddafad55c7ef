"""Celery tasks of the AI manager. Training runs as a jobs_mgr job (`ai.train`, sent by
`training.train_model` to jobs_mgr's `run_job_task`); beat sends `auto_retrain_task` to
every tenant (fan_out_task) when `AUTO_TRAINING_ENABLED`."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from ai_mgr import drift, training

log = logging.getLogger("dim.ai")


@shared_task
def auto_retrain_task() -> list[str]:
    """Queue a training job for each of the tenant's models whose data drifted (PSI
    above AI_DRIFT_PSI_THRESHOLD on any feature). The new version becomes champion only
    through its job; a failed job leaves the current champion."""
    if not getattr(settings, "AUTO_TRAINING_ENABLED", False):
        return []
    queued = []
    for model, scores in drift.drifted_models():
        training.train_model(
            model_type=model.kind, model_name=model.name, source=model.source,
            promote="champion", actor="auto-training",
        )  # fmt: skip
        log.info("ai_retrain_queued", extra={"model": model.name, "psi": scores})
        queued.append(model.name)
    return queued
