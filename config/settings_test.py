"""Test settings: the real settings plus a small app of scoped models with relations
(forward and reverse foreign keys, an unscoped model pointing into scoped ones) that the
isolation conformance suite exercises alongside every product model."""

import os

os.environ.setdefault("MANAGERS_CONFIG_LEVEL", "test")
# Tests drive the session view themselves (fixtures mark it healthy or degraded); the
# cross-process test starts a real listener in its subprocess.
os.environ.setdefault("SESSION_FASTPATH_LISTENER", "0")

from config.settings import *  # noqa: E402,F403
from config.settings import INSTALLED_APPS  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "tests.scoping_app", "tests.security_app"]
CELERY_TASK_ALWAYS_EAGER = True
# Samples are flushed by the tests themselves (perf_mgr.recording.flush()).
PERFORMANCE_FLUSH_MODE = "manual"
# Tier quotas stay off so that no other test meets a tier's limit; the lifecycle's quota
# tests switch them on.
LIFECYCLE_QUOTAS_ENFORCED = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast personas
