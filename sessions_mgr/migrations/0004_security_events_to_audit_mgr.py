"""The session manager's SecurityEvent goes: its rows join the one security-event model
(audit_mgr.SecurityEvent, issue 11), and its table is dropped.

Kinds become types: `wrong_tenant` stays `wrong_tenant`, `binding` becomes
`device_binding`, `anomaly` becomes `session_anomaly`. An anomaly used to be written
twice, here and by threat detection (a `session_anomaly` event naming the session in
its details): when that twin exists (same session, within a minute) it takes this
row's references, score and model version instead of getting a second row, so the
history holds one event per anomaly as new anomalies do. The rows keep their tenant,
time, details and action (the session manager's `revoke` is threat detection's
`revoke_sessions`). No audit entry is written for them: the log records what happened
when it happened, and these events had none.

Runs as the owner, whom FORCEd row-level security fences too: each tenant's rows are
read and written inside that tenant's context. Reversible: the events about a session
go back to a recreated table (anomalies stay in audit_mgr too, as they were before)."""

import datetime as dt

from django.db import migrations, models


TYPES = {"wrong_tenant": "wrong_tenant", "binding": "device_binding", "anomaly": "session_anomaly"}
KINDS = {new: old for old, new in TYPES.items()}
ACTIONS = {"revoke": "revoke_sessions"}
OLD_ACTIONS = {new: old for old, new in ACTIONS.items()}
TWIN_WITHIN = dt.timedelta(minutes=1)


def _severity(kind: str, action: str) -> str:
    if kind == "anomaly":  # as sessions_mgr/analytics.py reports it to threat detection
        return "high" if action == "revoke" else "medium" if action == "step_up" else "low"
    return "high" if kind == "wrong_tenant" else "medium"


def _twin(Event, old, taken: set):
    """Threat detection's record of the same anomaly, if any."""
    candidates = Event.objects.filter(
        tenant_id=old.tenant_id,
        type="session_anomaly",
        session_id_ref="",
        created_at__gte=old.created_at - TWIN_WITHIN,
        created_at__lte=old.created_at + TWIN_WITHIN,
    ).exclude(pk__in=taken)
    found = [e for e in candidates if str(e.details.get("session", "")) == old.session_id_ref]
    return min(found, key=lambda e: abs(e.created_at - old.created_at), default=None)


def _copy(Old, Event, tenant_id):
    taken, new = set(), []
    for old in Old.objects.filter(tenant_id=tenant_id).order_by("id"):
        twin = _twin(Event, old, taken) if old.kind == "anomaly" and old.session_id_ref else None
        if twin is not None:
            taken.add(twin.pk)
            kept = {k: v for k, v in twin.details.items() if k not in ("session", "score")}
            Event.objects.filter(pk=twin.pk).update(
                session_id_ref=old.session_id_ref,
                user_id_ref=old.user_id_ref,
                score=old.score,
                details={**(old.details or {}), **kept},
            )
            continue
        details = old.details or {}
        new.append(
            Event(
                tenant_id=tenant_id,
                type=TYPES.get(old.kind, old.kind),
                severity=_severity(old.kind, old.action),
                source=str(details.get("ip") or "")[:64],
                session_id_ref=old.session_id_ref,
                user_id_ref=old.user_id_ref,
                score=old.score,
                details=details,
                action=ACTIONS.get(old.action, old.action),
                created_at=old.created_at,
            )
        )
    Event.objects.bulk_create(new, batch_size=1000)


def _copy_back(Old, Event, tenant_id):
    events = Event.objects.filter(tenant_id=tenant_id).filter(
        models.Q(type__in=["wrong_tenant", "device_binding"]) | ~models.Q(session_id_ref="")
    )
    for event in events.order_by("id"):
        old = Old.objects.create(
            tenant_id=tenant_id,
            kind=KINDS.get(event.type, event.type)[:20],
            session_id_ref=event.session_id_ref,
            user_id_ref=event.user_id_ref,
            score=event.score,
            action=OLD_ACTIONS.get(event.action, event.action)[:20],
            details=event.details,
        )
        Old.objects.filter(pk=old.pk).update(created_at=event.created_at)  # auto_now_add
    events.filter(type__in=["wrong_tenant", "device_binding"]).delete()


def _each_tenant(apps, step):
    from tenancy.context import TenantRef, tenant_context

    Tenant = apps.get_model("tenancy", "Tenant")
    Old = apps.get_model("sessions_mgr", "SecurityEvent")
    Event = apps.get_model("audit_mgr", "SecurityEvent")
    for tenant_id in Tenant.objects.values_list("id", flat=True):
        with tenant_context(TenantRef(tenant_id, "")):
            step(Old, Event, tenant_id)


def copy_events(apps, schema_editor):
    _each_tenant(apps, _copy)


def copy_events_back(apps, schema_editor):
    _each_tenant(apps, _copy_back)


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_mgr", "0003_internal_session_state"),
        ("audit_mgr", "0002_securityevent"),
        ("tenancy", "0002_adminlogentry"),
    ]

    operations = [
        migrations.RunPython(copy_events, copy_events_back),
        migrations.DeleteModel(name="SecurityEvent"),
    ]
