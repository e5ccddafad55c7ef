"""The product's periodic tasks in django-celery-beat's tables, where beat's
`DatabaseScheduler` reads them and platform operators edit them in the console.

`settings.PERIODIC_TASKS` names them (same shape as Celery's `beat_schedule`: `task`,
`schedule` in seconds or a Celery schedule, `args`, `options`). `seed_schedules()` writes
the missing ones; it runs after every `migrate` (a `post_migrate` handler, see
`TenancyConfig.ready`) rather than in a data migration because:

- the definitions come from settings, whose intervals come from the environment
  (`SECURITY_TREE_HEAD_INTERVAL`, ...) and grow as managers add tasks: a data migration
  would freeze the values of the day it was written, and a new task would need a new
  migration in whichever app happened to own it;
- post_migrate runs once every app's tables exist (django_celery_beat's included), on
  each fresh database (tests, `make run`) and after each upgrade, like `tenancy.rls`.

It is idempotent and never overwrites an existing entry: once seeded the database is the
truth, and an operator's edit survives the next migrate. `reset=True`
(`manage.py seed_schedules --reset`) puts the settings' definitions back.

`celery.backend_cleanup` is seeded too, with exactly the definition the scheduler itself
writes at every start (`DatabaseScheduler.install_default_entries`), so that write
changes nothing (on PostgreSQL it may not: see tenancy/rls_schedules.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

from celery import schedules
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

FAN_OUT_TASK = "tenancy.tasks.fan_out_task"
BACKEND_CLEANUP = {
    "task": "celery.backend_cleanup",
    "schedule": schedules.crontab("0", "4", "*"),
    "options": {"expire_seconds": 12 * 3600},
}
_UNITS = (("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1))


def fan_out_target(task: str, args) -> str | None:
    """The per-tenant task a schedule fans out, or None for a platform task."""
    if task == FAN_OUT_TASK and args and isinstance(args[0], str):
        return args[0]
    return None


def parse_args(raw: str | None) -> list:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def runs_label(task: str, args) -> str:
    """What the console says about how often an entry's work runs per firing."""
    target = fan_out_target(task, args)
    if target is not None:
        return _("once per active tenant: %(task)s") % {"task": target}
    return _("once, for the platform (no tenant in context)")


def describe(name: str, task: str, args) -> str:
    target = fan_out_target(task, args)
    if target is not None:
        return (
            f"Runs once per active tenant: {FAN_OUT_TASK} sends {target} in each tenant's "
            "context. Seeded from settings.PERIODIC_TASKS."
        )
    if name == "celery.backend_cleanup":
        return "Celery's own clean-up of expired task results (written by beat at start)."
    return "Platform task: runs once, with no tenant in context. Seeded from settings."


def interval_fields(seconds: float) -> tuple[int, str]:
    """(every, period) in the largest whole unit, so the console reads "every 1 day"
    rather than "every 86400 seconds"; a fractional second count keeps its precision."""
    if seconds <= 0:
        raise ValueError(f"a periodic task's interval must be positive, not {seconds!r}")
    if float(seconds).is_integer():
        whole = int(seconds)
        for unit, size in _UNITS:
            if whole % size == 0:
                return whole // size, unit
    return round(seconds * 1_000_000), "microseconds"


def product_schedules() -> dict[str, dict]:
    return {**settings.PERIODIC_TASKS, "celery.backend_cleanup": BACKEND_CLEANUP}


def _schedule_fields(schedule) -> dict:
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule

    empty = {"interval": None, "crontab": None, "solar": None, "clocked": None}
    if isinstance(schedule, timedelta):
        schedule = schedule.total_seconds()
    if isinstance(schedule, schedules.schedule) and not isinstance(schedule, schedules.crontab):
        schedule = schedule.run_every.total_seconds()
    if isinstance(schedule, int | float):
        every, period = interval_fields(float(schedule))
        interval = IntervalSchedule.objects.filter(every=every, period=period).first()
        if interval is None:
            interval = IntervalSchedule.objects.create(every=every, period=period)
        return {**empty, "interval": interval}
    if isinstance(schedule, schedules.crontab):
        crontab = CrontabSchedule.from_schedule(schedule)
        if crontab.pk is None:
            crontab.save()
        return {**empty, "crontab": crontab}
    raise TypeError(f"unsupported schedule {schedule!r}: seconds, a timedelta or a crontab")


def definition(name: str, entry: dict) -> dict:
    """The PeriodicTask fields of one settings entry."""
    args = list(entry.get("args", ()))
    options = entry.get("options") or {}
    return {
        "task": entry["task"],
        **_schedule_fields(entry["schedule"]),
        "args": json.dumps(args),
        "kwargs": json.dumps(entry.get("kwargs") or {}),
        "queue": options.get("queue"),
        "exchange": options.get("exchange"),
        "routing_key": options.get("routing_key"),
        "priority": options.get("priority"),
        "expire_seconds": options.get("expire_seconds"),
        "headers": json.dumps(options.get("headers") or {}),
        "one_off": False,
        "enabled": True,
        "description": describe(name, entry["task"], args),
    }


@dataclass
class SeedResult:
    created: list[str] = field(default_factory=list)
    reset: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def seed_schedules(*, reset: bool = False, using: str = "default") -> SeedResult:
    """Write the product's schedules that are missing (all of them with `reset`)."""
    from django_celery_beat.models import PeriodicTask

    result = SeedResult()
    with transaction.atomic(using=using):
        existing = set(PeriodicTask.objects.using(using).values_list("name", flat=True))
        for name, entry in product_schedules().items():
            if name in existing and not reset:
                result.kept.append(name)
                continue
            fields = definition(name, entry)
            if name in existing:
                task = PeriodicTask.objects.using(using).get(name=name)
                for key, value in fields.items():
                    setattr(task, key, value)
                task.save()
                result.reset.append(name)
            else:
                PeriodicTask.objects.using(using).create(name=name, **fields)
                result.created.append(name)
    return result


def seed_after_migrate(using: str = "default", verbosity: int = 1) -> SeedResult | None:
    """The post_migrate step: nothing when the beat tables are not there (a migrate to an
    older state, or django_celery_beat not installed)."""
    from django.apps import apps
    from django.db import connections

    if not apps.is_installed("django_celery_beat"):
        return None
    from django_celery_beat.models import PeriodicTask

    if PeriodicTask._meta.db_table not in connections[using].introspection.table_names():
        return None
    result = seed_schedules(using=using)
    if verbosity and result.created:
        print(f"  Seeded {len(result.created)} periodic task(s) for beat.")
    return result
