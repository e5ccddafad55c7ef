"""Beat's schedules in the database: seeded from settings.PERIODIC_TASKS, read by
django-celery-beat's DatabaseScheduler, edited in the console by platform operators
only, and (on PostgreSQL) written only with the platform claim."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib import admin
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from config.celery import app as celery_app
from tenancy import rls_schedules
from tenancy.admin_schedules import PeriodicTaskAdmin
from tenancy.context import tenant_context
from tenancy.schedules import FAN_OUT_TASK, interval_fields, seed_schedules
from tests.markers import postgres_only
from tests.personas import as_platform

PRODUCT = settings.PERIODIC_TASKS


def _configured_interval(row) -> float:
    # A schedule's configured period (what beat will wait), not a measured duration.
    return row.schedule.run_every.total_seconds()


def _row(name) -> PeriodicTask:
    return PeriodicTask.objects.select_related("interval", "crontab").get(name=name)


@pytest.mark.django_db
def test_seed_schedules_after_migrate_matches_settings():
    for name, entry in PRODUCT.items():
        row = _row(name)
        assert row.task == entry["task"]
        assert json.loads(row.args) == list(entry.get("args", ()))
        assert _configured_interval(row) == float(entry["schedule"]), name
        assert row.enabled and not row.one_off
        per_tenant = entry["task"] == FAN_OUT_TASK
        assert ("once per active tenant" in row.description) == per_tenant, name


@pytest.mark.django_db
def test_seed_schedules_is_idempotent_and_recreates_only_what_is_missing():
    before = {r.name: (r.pk, r.interval_id, r.crontab_id) for r in PeriodicTask.objects.all()}
    with as_platform():
        again = seed_schedules()
        assert again.created == [] and again.reset == []
        assert set(again.kept) == set(PRODUCT) | {"celery.backend_cleanup"}
        PeriodicTask.objects.filter(name="jobs-resume-stale").delete()
        refilled = seed_schedules()
    after = {r.name: (r.pk, r.interval_id, r.crontab_id) for r in PeriodicTask.objects.all()}
    assert refilled.created == ["jobs-resume-stale"]
    assert set(after) == set(before)
    assert {k: v for k, v in after.items() if k != "jobs-resume-stale"} == {
        k: v for k, v in before.items() if k != "jobs-resume-stale"
    }
    assert (
        _configured_interval(_row("jobs-resume-stale")) == PRODUCT["jobs-resume-stale"]["schedule"]
    )


@pytest.mark.django_db
def test_seed_schedules_keeps_an_operators_edit_until_reset():
    with as_platform():
        two_hours = IntervalSchedule.objects.create(every=2, period="hours")
        PeriodicTask.objects.filter(name="sessions-purge-expired").update(interval=two_hours)
        assert seed_schedules().kept
        assert _configured_interval(_row("sessions-purge-expired")) == 7200
        assert seed_schedules(reset=True).reset == list(PRODUCT) + ["celery.backend_cleanup"]
    assert (
        _configured_interval(_row("sessions-purge-expired"))
        == PRODUCT["sessions-purge-expired"]["schedule"]
    )


def test_interval_fields_use_the_largest_whole_unit():
    assert interval_fields(86400.0) == (1, "days")
    assert interval_fields(300.0) == (5, "minutes")
    assert interval_fields(30.0) == (30, "seconds")
    assert interval_fields(0.25) == (250_000, "microseconds")
    with pytest.raises(ValueError):
        interval_fields(0)


def test_celery_beat_uses_the_database_scheduler_and_no_settings_schedule():
    # django-celery-beat's DatabaseScheduler behind a leader lock (config/beat_lock.py).
    assert celery_app.conf.beat_scheduler == "config.beat_lock:LeaderDatabaseScheduler"
    # Beat would write a settings schedule over the database's entries at every start.
    assert celery_app.conf.beat_schedule == {}


@pytest.fixture
def scheduler(monkeypatch):
    from django_celery_beat import schedulers

    # Inside the test's transaction: beat closes "old" connections between reads.
    monkeypatch.setattr(schedulers, "close_old_connections", lambda: None)
    beat = schedulers.DatabaseScheduler(app=celery_app)
    yield beat
    beat._finalize.cancel()


@pytest.mark.django_db
def test_database_scheduler_yields_the_product_schedules(scheduler):
    entries = scheduler.schedule
    assert set(PRODUCT) | {"celery.backend_cleanup"} <= set(entries)
    for name, entry in PRODUCT.items():
        beat_entry = entries[name]
        assert beat_entry.task == entry["task"]
        assert list(beat_entry.args) == list(entry.get("args", ()))
        assert beat_entry.schedule.run_every == timedelta(seconds=entry["schedule"])
    fan_out = entries["security-verify-audit-logs"]
    assert (fan_out.task, fan_out.args) == (FAN_OUT_TASK, ["audit_mgr.tasks.verify_audit_task"])


@pytest.mark.django_db
def test_database_scheduler_records_runs_with_no_tenant_in_context(scheduler):
    """Beat runs as the runtime role with no claim: its bookkeeping must pass the guard."""
    name = "security-sign-tree-heads"
    before = _row(name).total_run_count
    scheduler.reserve(scheduler.schedule[name])
    scheduler.sync()
    row = _row(name)
    assert row.total_run_count == before + 1 and row.last_run_at is not None


# --- the console -------------------------------------------------------------------------


def _change_data(row: PeriodicTask, **changes) -> dict:
    data = {
        "name": row.name,
        "regtask": "",
        "task": row.task,
        "enabled": "on",
        "description": row.description,
        "interval": row.interval_id or "",
        "crontab": row.crontab_id or "",
        "solar": "",
        "clocked": "",
        "start_time_0": "",
        "start_time_1": "",
        "args": row.args,
        "kwargs": row.kwargs,
        "expires_0": "",
        "expires_1": "",
        "expire_seconds": "",
        "queue": "",
        "exchange": "",
        "routing_key": "",
        "priority": "",
        "headers": row.headers or "{}",
    }
    data.update(changes)
    return data


@pytest.mark.django_db
def test_operator_lists_schedules_with_their_per_tenant_fan_out(client, superuser):
    client.force_login(superuser)
    response = client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    assert response.status_code == 200
    assert b"once per active tenant: audit_mgr.tasks.verify_audit_task" in response.content
    assert b"once, for the platform" in response.content


@pytest.mark.django_db
def test_operator_edits_a_schedule(client, superuser):
    client.force_login(superuser)
    task = _row("security-verify-audit-logs")
    url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
    assert client.get(url).status_code == 200
    with as_platform():
        twelve_hours = IntervalSchedule.objects.create(every=12, period="hours")
    response = client.post(url, _change_data(task, interval=twelve_hours.pk))
    assert response.status_code == 302, response.context and response.context["errors"]
    assert _configured_interval(_row("security-verify-audit-logs")) == 12 * 3600


@pytest.mark.django_db
def test_operator_fan_out_of_a_platform_task_is_a_form_error(client, superuser):
    client.force_login(superuser)
    task = _row("security-verify-audit-logs")
    url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
    for args, message in (
        ('["jobs_mgr.tasks.resume_stale_jobs_task"]', b"is not a registered per-tenant task"),
        ('["no.such.task"]', b"is not a registered per-tenant task"),
        ("[]", b"needs the per-tenant task"),
    ):
        response = client.post(url, _change_data(task, args=args))
        assert response.status_code == 200 and message in response.content
    response = client.post(url, _change_data(task, task="no.such.task"))
    assert response.status_code == 200 and b"No worker knows the task" in response.content
    assert _row("security-verify-audit-logs").args == task.args


@pytest.mark.django_db
def test_tenant_owner_cannot_see_or_edit_schedules(client, alpha_owner):
    client.force_login(alpha_owner)
    task = _row("security-verify-audit-logs")
    change = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
    for url in (
        reverse("admin:django_celery_beat_periodictask_changelist"),
        change,
        reverse("admin:django_celery_beat_crontabschedule_add"),
        reverse("admin:django_celery_beat_intervalschedule_changelist"),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(change, _change_data(task, enabled="")).status_code == 403
    assert _row("security-verify-audit-logs").enabled
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200 and b"django_celery_beat" not in index.content


@pytest.mark.django_db
def test_operator_with_a_tenant_picked_sees_schedules_read_only(superuser, tenant_alpha):
    request = RequestFactory().get("/admin/")
    request.user = superuser
    model_admin = PeriodicTaskAdmin(PeriodicTask, admin.site)
    with tenant_context(tenant_alpha):
        assert model_admin.has_view_permission(request)
        assert not model_admin.has_change_permission(request)
        assert model_admin.get_actions(request) == {}
    with as_platform():
        assert model_admin.has_change_permission(request)


# The schedule pages list the periodic tasks that use them (a read-only inline).
NO_INLINE_ROWS = {"periodictask_set-TOTAL_FORMS": "0", "periodictask_set-INITIAL_FORMS": "0"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields, message",
    [
        ({"minute": "61"}, b"not in 0-59"),
        ({"minute": "*/0"}, b"can not be divided by zero"),
        ({"day_of_month": "31", "month_of_year": "2"}, b"Beat cannot use this crontab"),
        ({"day_of_week": "7"}, b"Beat cannot use this crontab"),
        ({"hour": "banana"}, b"No enumeration"),
    ],
)
def test_invalid_crontab_is_a_form_error(client, superuser, fields, message):
    client.force_login(superuser)
    data = {
        **NO_INLINE_ROWS,
        "minute": "0",
        "hour": "4",
        "day_of_month": "*",
        "month_of_year": "*",
        "day_of_week": "*",
        "timezone": "UTC",
        **fields,
    }
    before = CrontabSchedule.objects.count()
    response = client.post(reverse("admin:django_celery_beat_crontabschedule_add"), data)
    assert response.status_code == 200
    assert message in response.content
    assert response.context["adminform"].form.errors  # the crontab's, not the inline's
    assert CrontabSchedule.objects.count() == before


@pytest.mark.django_db
def test_valid_crontab_is_saved(client, superuser):
    client.force_login(superuser)
    data = {
        **NO_INLINE_ROWS,
        "minute": "*/15",
        "hour": "*",
        "day_of_month": "*",
        "month_of_year": "*",
        "day_of_week": "1-5",
        "timezone": "UTC",
    }
    response = client.post(reverse("admin:django_celery_beat_crontabschedule_add"), data)
    assert response.status_code == 302
    assert CrontabSchedule.objects.filter(minute="*/15", day_of_week="1-5").exists()


# --- the database's guard (PostgreSQL) -----------------------------------------------------


def _refused(operation) -> bool:
    try:
        with transaction.atomic():
            operation()
    except DatabaseError:
        return True
    return False


@pytest.mark.django_db
@postgres_only("the schedule tables' RLS policies and trigger")
def test_without_the_platform_claim_sql_cannot_define_schedules(tenant_alpha):
    tasks = PeriodicTask.objects.filter(name="security-verify-audit-logs")
    interval = tasks.get().interval
    writes = {
        "insert": lambda: PeriodicTask.objects.create(
            name="evil", task=FAN_OUT_TASK, interval=interval, args='["x"]'
        ),
        "change the task": lambda: tasks.update(task="tenancy.tasks.record_tenant_heartbeat_task"),
        "change the arguments": lambda: tasks.update(args='["x"]'),
        "disable": lambda: tasks.update(enabled=False),
        "change the interval": lambda: IntervalSchedule.objects.filter(pk=interval.pk).update(
            every=1, period="seconds"
        ),
        "add a crontab": lambda: CrontabSchedule.objects.create(minute="*"),
    }
    for state in (None, tenant_alpha):
        for what, write in writes.items():
            if state is None:
                assert _refused(write), what
            else:
                with tenant_context(state):
                    assert _refused(write), what
    with transaction.atomic():
        tasks.delete()  # DELETE's policy hides the row: nothing goes
    assert tasks.exists()
    # Beat's bookkeeping needs no claim; the platform changes anything.
    assert not _refused(
        lambda: tasks.update(total_run_count=F("total_run_count") + 1, last_run_at=timezone.now())
    )
    with as_platform():
        assert not _refused(lambda: tasks.update(enabled=False))
        assert not _refused(lambda: PeriodicTask.objects.filter(name="evil").delete())


@pytest.mark.django_db
@postgres_only("what check_isolation reads from the catalog")
def test_check_isolation_knows_the_schedule_guards():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        role = settings.DB_RUNTIME_ROLE or cursor.fetchone()[0]
        assert rls_schedules.problems(cursor, role) == []
    assert {m._meta.db_table for m in rls_schedules.guarded_models()} >= {
        "django_celery_beat_periodictask",
        "django_celery_beat_crontabschedule",
        "django_celery_beat_intervalschedule",
    }
