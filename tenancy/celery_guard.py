"""The one guarded way in for Celery: every message takes its tenant from its sender.

A task runs in the tenant named by its `dim_tenant_id` header, so whoever writes that
header chooses the tenant. Before this guard only `apply_async` stamped it, and
`send_task`, `apply`, canvas options (`.set(headers=…)`, `link`, `link_error`) and beat
carried whatever header the caller wrote. Now:

- `guard_message()` decides the tenant of every message from the *sender's* context: a
  header naming another tenant raises `TenantMismatch`; a header naming a tenant with no
  tenant in context raises `TenantContextMissing` unless the sender is inside
  `platform_access(reason)`, where it is allowed and recorded (logger `dim.audit`, event
  `task_addressed_tenant`, and every `task_addressing_listeners` callable; the security
  manager appends it to the platform audit log). Embedded follow-ups (callbacks,
  errbacks, chain steps, chord bodies) are checked too, so the sender hears the refusal.
- It then stamps `dim_tenant_proof`, an HMAC over task name, task id and tenant keyed
  from `SECRET_KEY`; the worker (`TenantAwareTask.__call__`) runs a message that names
  a tenant only with a valid proof. A header written by hand, a raw broker publish or a
  proof copied from another task is refused there, and the task body never runs.

Where it hooks in: every real publish ends in `app.amqp.send_task_message` (apply_async,
delay, send_task, canvas, callbacks a worker sends, retries, beat), the function that
also emits `before_task_publish`. The guard wraps that function
(`install_publish_guard`), because Celery's signal dispatcher catches and only logs
what a receiver raises (`celery.utils.dispatch.signal.Signal.send`): a refusal raised
in the signal would still publish. The `before_task_publish` receiver below is a
backstop for a sender that is not wrapped yet (an app used before any task was bound):
it stamps the same way, and on refusal removes the proof so that no worker runs the
message. `Task.apply` (eager mode) publishes nothing and
calls `guard_message()` itself.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from celery.signals import before_task_publish
from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from tenancy import context
from tenancy.exceptions import TenantContextMissing, TenantMismatch

TENANT_HEADER = "dim_tenant_id"
PROOF_HEADER = "dim_tenant_proof"
_PROOF_SALT = "dim.celery.tenant-proof"

audit_log = logging.getLogger("dim.audit")

#: Callables `(task_name, tenant_id, reason)` run when a sender under platform access
#: addresses a tenant, before the message is published. The security manager registers
#: its platform audit log here; a listener that raises refuses the publish.
task_addressing_listeners: list = []

# Set while a wrapped sender publishes, so that the backstop receiver stands aside.
_guarded: ContextVar[bool] = ContextVar("dim_task_guarded", default=False)


def tenant_proof(task_name: str, task_id: str, tenant_id: int, *, secret=None) -> str:
    value = f"{task_name}\x1f{task_id}\x1f{tenant_id}"
    return salted_hmac(_PROOF_SALT, value, secret=secret, algorithm="sha256").hexdigest()


def proof_is_valid(task_name: str, task_id, tenant_id: int, proof) -> bool:
    """True when `proof` was stamped by our publish path for exactly this task and
    tenant (also under a key in SECRET_KEY_FALLBACKS, for messages sent before a key
    rotation)."""
    if not isinstance(proof, str) or not task_id:
        return False
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())]
    return any(
        constant_time_compare(proof, tenant_proof(task_name, task_id, tenant_id, secret=s))
        for s in secrets
    )


def parse_tenant(value, task_name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > 0:
        return int(value)
    raise TenantContextMissing(f"task {task_name}: malformed {TENANT_HEADER} header: {value!r}")


def header_tenants(headers, task_name: str) -> set[int]:
    """Every tenant a header mapping names: at the top (where the worker reads it) and
    inside a nested `headers` mapping (what `Task.apply` and Celery's request expose)."""
    found = set()
    for mapping in (headers, (headers or {}).get("headers")):
        if isinstance(mapping, dict) and mapping.get(TENANT_HEADER) is not None:
            found.add(parse_tenant(mapping[TENANT_HEADER], task_name))
    return found


def _embedded_tenants(obj, task_name: str, depth: int = 0):
    """Tenants named by follow-up signatures (dicts) a message carries."""
    if depth > 16:
        return
    if isinstance(obj, list | tuple):
        for item in obj:
            yield from _embedded_tenants(item, task_name, depth + 1)
    elif isinstance(obj, dict):
        options = obj.get("options")
        if isinstance(options, dict):
            yield from header_tenants(options.get("headers"), task_name)
            for key in ("link", "link_error", "chain", "chord"):
                yield from _embedded_tenants(options.get(key), task_name, depth + 1)
        kwargs = obj.get("kwargs")
        if isinstance(kwargs, dict) and obj.get("subtask_type"):  # group, chain, chord
            for key in ("tasks", "header", "body"):
                yield from _embedded_tenants(kwargs.get(key), task_name, depth + 1)


def request_tenant(task_name: str, request) -> int | None:
    """The tenant a task's request names, once its proof checks out; raises
    `TenantMismatch` for a missing, forged or replayed proof. A real worker finds the
    headers on the request itself, `Task.apply` (eager mode) in `request.headers`."""
    source = vars(request)
    if source.get(TENANT_HEADER) is None:
        source = getattr(request, "headers", None) or {}
    tenant_id = parse_tenant(source.get(TENANT_HEADER), task_name)
    if tenant_id is None:
        return None
    if not proof_is_valid(task_name, request.id, tenant_id, source.get(PROOF_HEADER)):
        audit_log.warning(
            "task_refused",
            extra={"event": "task_refused", "task": task_name, "tenant_id": tenant_id},
        )
        raise TenantMismatch(
            f"task {task_name} [{request.id}] names tenant {tenant_id} without a valid "
            f"{PROOF_HEADER} (missing, forged, or made for another task): refused. Send "
            "tasks through apply_async()/send_task() inside tenant_context() or "
            "platform_access(), never with hand-made headers"
        )
    return tenant_id


def sender_state():
    """The sender's context: a TenantRef or PlatformAccess; else, while Celery publishes
    the follow-ups of a task it ran (callbacks, errbacks and chain steps are sent after
    the body returned, outside its tenant context), that task's verified tenant id."""
    state = context.current_state()
    if state is not None:
        return state
    from celery._state import get_current_worker_task

    task = get_current_worker_task()
    return request_tenant(task.name, task.request) if task is not None else None


def _refuse(exc: Exception, task_name: str) -> Exception:
    audit_log.warning(
        "task_publish_refused",
        extra={"event": "task_publish_refused", "task": task_name, "error": str(exc)},
    )
    return exc


def reaches_every_tenant(task_name: str) -> bool:
    """Tasks that enter every tenant's context themselves (`fan_out_task`, the audit
    sweep) declare `reaches_every_tenant=True`: sent from one tenant's context they
    would carry that tenant's work into all the others."""
    from celery import current_app

    task = current_app.tasks.get(task_name)
    return bool(getattr(task, "reaches_every_tenant", False))


def approve(task_name: str, named: set[int]) -> int | None:
    """The tenant a message may carry, or raise. `named`: tenants its headers name."""
    state = sender_state()
    sender = state if isinstance(state, int) else getattr(state, "id", None)
    if sender is not None and reaches_every_tenant(task_name):
        raise TenantMismatch(
            f"task {task_name} reaches every tenant: it is sent with no tenant in context "
            f"(beat, platform code), never from tenant {sender}'s"
        )
    if len(named) > 1:
        raise TenantMismatch(
            f"task {task_name} names several tenants {sorted(named)}: a message runs in one"
        )
    target = next(iter(named), None)
    if sender is not None:
        if target is not None and target != sender:
            raise TenantMismatch(
                f"task {task_name} sent in tenant {sender}'s context names tenant {target}: "
                "a task runs in its sender's tenant; drop the header, or reach other "
                "tenants with fan_out() or platform_access(reason) outside any tenant"
            )
        return sender
    if target is None:
        return None
    if not context.in_platform_access():
        raise TenantContextMissing(
            f"task {task_name} names tenant {target} but was sent with no tenant in "
            "context: use fan_out() or platform_access(reason) to address a tenant"
        )
    reason = context.current_state().reason
    audit_log.warning(
        "task_addressed_tenant",
        extra={
            "event": "task_addressed_tenant",
            "task": task_name,
            "tenant_id": target,
            "reason": reason,
        },
    )
    for listener in task_addressing_listeners:
        listener(task_name, target, reason)
    return target


def guard_message(task_name: str, task_id, headers: dict, follow_ups=()) -> int | None:
    """Decide the tenant of one message, check its follow-ups, and stamp `headers` in
    place (tenant and proof, or neither). Raises instead of stamping a tenant the
    sender may not address."""
    try:
        tenant_id = approve(task_name, header_tenants(headers, task_name))
        for named in _embedded_tenants(list(follow_ups), task_name):
            if named != tenant_id:
                raise TenantMismatch(
                    f"task {task_name}: a callback or chain step names tenant {named}, "
                    f"but follow-ups are sent from the task's own tenant ({tenant_id}); "
                    "drop the header from the signature"
                )
    except (TenantMismatch, TenantContextMissing) as exc:
        raise _refuse(exc, task_name) from None
    nested = headers.get("headers")
    if isinstance(nested, dict):
        nested.pop(TENANT_HEADER, None)
        nested.pop(PROOF_HEADER, None)
    headers.pop(PROOF_HEADER, None)
    if tenant_id is None:
        headers.pop(TENANT_HEADER, None)
    else:
        headers[TENANT_HEADER] = tenant_id
        headers[PROOF_HEADER] = tenant_proof(task_name, task_id, tenant_id)
    return tenant_id


def _follow_ups(body) -> list:
    # Message protocol 2: body = (args, kwargs, {callbacks, errbacks, chain, chord}).
    embed = body[2] if isinstance(body, list | tuple) and len(body) == 3 else None
    if not isinstance(embed, dict):
        return []
    return [embed.get(key) for key in ("callbacks", "errbacks", "chain", "chord")]


def _guarded_sender(send):
    def send_task_message(producer, name, message, headers=None, **options):
        message.headers.update(headers or {})
        guard_message(name, message.headers.get("id"), message.headers, _follow_ups(message.body))
        token = _guarded.set(True)
        try:
            return send(producer, name, message, **options)
        finally:
            _guarded.reset(token)

    return send_task_message


def install_publish_guard(app) -> None:
    """Route every publish of `app` through `guard_message` (idempotent). Called when a
    TenantAwareTask is bound to the app, i.e. before any of its tasks is sent."""
    amqp = app.amqp
    if getattr(amqp, "dim_publish_guard", False):
        return
    plain = type(amqp)._create_task_sender
    amqp._create_task_sender = lambda: _guarded_sender(plain(amqp))
    amqp.__dict__.pop("send_task_message", None)  # built before the guard: rebuild
    amqp.dim_publish_guard = True


@before_task_publish.connect(dispatch_uid="dim-tenant-publish-backstop")
def _publish_backstop(sender=None, headers=None, body=None, **kwargs):
    """A message from a sender that is not wrapped: stamp it, or make sure no worker
    runs it in a tenant (raising here would only be logged by Celery)."""
    if _guarded.get() or headers is None:
        return
    try:
        guard_message(sender, headers.get("id"), headers, _follow_ups(body))
    except Exception:
        # Without a proof, a worker refuses whatever tenant the headers name.
        for mapping in (headers, headers.get("headers")):
            if isinstance(mapping, dict):
                mapping.pop(PROOF_HEADER, None)
        raise
