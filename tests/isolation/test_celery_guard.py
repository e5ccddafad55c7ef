"""Issue 9, class 5: one guarded way in for Celery.

Each attack tries to run a task in tenant B: from A's context with a header naming B
(apply_async, send_task, apply, a nested header, canvas options, link/link_error), from
no context at all (also through beat), or with a hand-made message the worker receives
without our publish path (no proof, a forged one, one replayed from another task). The
attacks are plain functions raising AssertionError, so that the self-test at the end
can switch the guard off and show that each of them then fails.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import pytest
from celery import Task, chain, chord, group
from celery.beat import ScheduleEntry, Scheduler, SchedulingError
from celery.utils import uuid

from config.celery import app
from tenancy import celery_guard, context, resettable
from tenancy.celery_guard import PROOF_HEADER, TENANT_HEADER, tenant_proof
from tenancy.celery_support import fan_out
from tenancy.context import TenantRef, get_current_tenant_id, platform_access, tenant_context
from tenancy.exceptions import TenantContextMissing, TenantMismatch
from tests.celery_worker import tasks_to_memory_broker
from tests.personas import audit_entries

#: The tenant every run of `record_tenant_task` found in its context.
RAN: list = []
resettable.register(RAN.clear, name="tests.isolation.test_celery_guard.RAN")


@app.task(name="tests.isolation.record_tenant")
def record_tenant_task(previous=None):
    RAN.append(get_current_tenant_id())
    return get_current_tenant_id()


@app.task(name="tests.isolation.fail")
def fail_task():
    raise RuntimeError("this task fails, so that its link_error runs")


@dataclass
class Pair:
    a: object  # Tenant or TenantRef
    b: object


@pytest.fixture
def pair(tenant_alpha, tenant_beta):
    return Pair(tenant_alpha, tenant_beta)


def _id(tenant) -> int:
    return tenant.pk if hasattr(tenant, "pk") else tenant.id


def _b_header(pair) -> dict:
    return {TENANT_HEADER: _id(pair.b)}


def expect_refused(action, pair, errors=(TenantMismatch, TenantContextMissing)):
    """`action` must raise one of `errors` and the task body must never run in B."""
    refusal = None
    try:
        action()
    except errors as exc:
        refusal = exc
    except RuntimeError:  # fail_task's own error: not a refusal
        pass
    assert _id(pair.b) not in RAN, f"a task body ran in tenant {_id(pair.b)}: {RAN}"
    assert refusal is not None, "the attack was not refused"
    return refusal


# --- the attacks -----------------------------------------------------------------------


def attack_apply_async_header(pair):
    with tenant_context(pair.a):
        exc = expect_refused(lambda: record_tenant_task.apply_async(headers=_b_header(pair)), pair)
    assert isinstance(exc, TenantMismatch)
    message = str(exc)
    assert record_tenant_task.name in message
    assert f"tenant {_id(pair.a)}" in message and f"tenant {_id(pair.b)}" in message


def attack_apply_header(pair):
    with tenant_context(pair.a):
        expect_refused(lambda: record_tenant_task.apply(headers=_b_header(pair)), pair)


def attack_nested_header(pair):
    with tenant_context(pair.a):
        expect_refused(
            lambda: record_tenant_task.apply_async(headers={"headers": _b_header(pair)}), pair
        )


def attack_send_task_header(pair):
    with tasks_to_memory_broker(), tenant_context(pair.a):
        expect_refused(
            lambda: app.send_task(record_tenant_task.name, headers=_b_header(pair)), pair
        )


def attack_chain_step(pair):
    steps = chain(record_tenant_task.si(), record_tenant_task.si().set(headers=_b_header(pair)))
    with tenant_context(pair.a):
        expect_refused(lambda: steps.apply_async(), pair)


def attack_group_member(pair):
    members = group(record_tenant_task.si(), record_tenant_task.si().set(headers=_b_header(pair)))
    with tenant_context(pair.a):
        expect_refused(lambda: members.apply_async(), pair)


def attack_chord_body(pair):
    body = record_tenant_task.s().set(headers=_b_header(pair))
    with tenant_context(pair.a):
        expect_refused(lambda: chord([record_tenant_task.si()], body).apply_async(), pair)


def attack_link(pair):
    callback = record_tenant_task.s().set(headers=_b_header(pair))
    with tenant_context(pair.a):
        expect_refused(lambda: record_tenant_task.apply_async(link=callback), pair)


def attack_link_error(pair):
    errback = record_tenant_task.s().set(headers=_b_header(pair))
    with tenant_context(pair.a):
        # throw=False: eager errbacks run only when the failure is not re-raised.
        expect_refused(lambda: fail_task.apply_async(link_error=errback, throw=False), pair)


def attack_no_context_header(pair):
    exc = expect_refused(lambda: record_tenant_task.apply_async(headers=_b_header(pair)), pair)
    assert isinstance(exc, TenantContextMissing)
    assert "fan_out() or platform_access(reason)" in str(exc)


def attack_no_context_send_task(pair):
    with tasks_to_memory_broker():
        expect_refused(
            lambda: app.send_task(record_tenant_task.name, headers=_b_header(pair)), pair
        )


def attack_beat_entry(pair):
    entry = ScheduleEntry(
        name="attack",
        task=record_tenant_task.name,
        schedule=60.0,
        options={"headers": _b_header(pair)},
        app=app,
    )
    exc = expect_refused(
        lambda: Scheduler(app, lazy=True).apply_async(entry, advance=False),
        pair,
        errors=(SchedulingError,),
    )
    assert "platform_access(reason)" in str(exc)


def _bypassing_stamping(pair, headers, task_id=None):
    """What a worker receives from a hand-made message: Celery's own `apply`, with
    none of our publish path in front of it."""
    return lambda: Task.apply(record_tenant_task, task_id=task_id or uuid(), headers=headers)


def attack_header_without_proof(pair):
    expect_refused(_bypassing_stamping(pair, _b_header(pair)), pair)


def attack_forged_proof(pair):
    headers = {**_b_header(pair), PROOF_HEADER: "0" * 64}
    expect_refused(_bypassing_stamping(pair, headers), pair)


def attack_replayed_proof(pair):
    # A genuine proof, but stamped for another task id: refused for this one.
    proof = tenant_proof(record_tenant_task.name, uuid(), _id(pair.b))
    expect_refused(_bypassing_stamping(pair, {**_b_header(pair), PROOF_HEADER: proof}), pair)


def published(attack):
    """The same attack with tasks really published (to an in-memory broker, no worker):
    the refusal comes from the guard around Celery's sender, before anything is sent."""

    def run(pair):
        with tasks_to_memory_broker():
            attack(pair)

    run.__name__ = f"{attack.__name__}_published"
    return run


ATTACKS = [
    attack_apply_async_header,
    published(attack_apply_async_header),
    attack_apply_header,
    attack_nested_header,
    attack_send_task_header,
    attack_chain_step,
    published(attack_chain_step),
    attack_group_member,
    published(attack_group_member),
    attack_chord_body,
    published(attack_chord_body),
    attack_link,
    published(attack_link),
    attack_link_error,
    published(attack_link_error),
    attack_no_context_header,
    attack_no_context_send_task,
    attack_beat_entry,
    attack_header_without_proof,
    attack_forged_proof,
    attack_replayed_proof,
]


@pytest.mark.django_db
@pytest.mark.parametrize("attack", ATTACKS, ids=[a.__name__[7:] for a in ATTACKS])
def test_attack_is_refused(attack, pair):
    attack(pair)


# --- positive controls -----------------------------------------------------------------


@pytest.mark.django_db
def test_same_tenant_explicit_header_runs_there(pair):
    with tenant_context(pair.a):
        own = {TENANT_HEADER: _id(pair.a)}
        assert record_tenant_task.apply_async(headers=own).get() == _id(pair.a)
        assert record_tenant_task.apply(headers=own).get() == _id(pair.a)
        assert record_tenant_task.delay().get() == _id(pair.a)
    assert RAN == [_id(pair.a)] * 3


@pytest.mark.django_db
def test_follow_ups_without_header_run_in_the_senders_tenant(pair):
    with tenant_context(pair.a):
        chain(record_tenant_task.si(), record_tenant_task.si()).apply_async()
        record_tenant_task.apply_async(link=record_tenant_task.s())
        group(record_tenant_task.si(), record_tenant_task.si()).apply_async()
        fail_task.apply_async(link_error=record_tenant_task.s(), throw=False)
    assert RAN == [_id(pair.a)] * 7


@pytest.mark.django_db
def test_fan_out_reaches_each_tenant(pair):
    assert fan_out(record_tenant_task) == 2
    assert sorted(RAN) == sorted([_id(pair.a), _id(pair.b)])


@pytest.mark.django_db
def test_platform_access_may_address_a_tenant_and_is_recorded(pair, caplog, monkeypatch):
    heard = []
    listeners = [*celery_guard.task_addressing_listeners, lambda *args: heard.append(args)]
    monkeypatch.setattr(celery_guard, "task_addressing_listeners", listeners)
    reason = "support ticket 4711: rebuild B's index"
    with caplog.at_level(logging.WARNING, logger="dim.audit"):
        with platform_access(reason):
            result = record_tenant_task.apply_async(headers=_b_header(pair))
    assert result.get() == _id(pair.b) and RAN == [_id(pair.b)]
    record = next(r for r in caplog.records if r.getMessage() == "task_addressed_tenant")
    assert record.name == "dim.audit" and record.event == "task_addressed_tenant"
    assert (record.task, record.tenant_id, record.reason) == (
        record_tenant_task.name,
        _id(pair.b),
        reason,
    )
    assert heard == [(record_tenant_task.name, _id(pair.b), reason)]
    # The security manager's listener: an entry in the platform audit log.
    [entry] = audit_entries(None, "platform.task_addressed_tenant")
    assert record_tenant_task.name in entry.data and reason in entry.data


@pytest.mark.django_db
def test_an_addressing_listener_that_raises_refuses_the_publish(pair, monkeypatch):
    def refuse(*args):
        raise PermissionError("cannot record: refuse")

    monkeypatch.setattr(celery_guard, "task_addressing_listeners", [refuse])
    with platform_access("audit store down, must refuse"), pytest.raises(PermissionError):
        record_tenant_task.apply_async(headers=_b_header(pair))
    assert RAN == []


@pytest.mark.django_db
def test_platform_addressing_follow_ups_stay_in_that_tenant(pair):
    with platform_access("support: replay B's pipeline"):
        record_tenant_task.apply_async(headers=_b_header(pair), link=record_tenant_task.s())
    assert RAN == [_id(pair.b)] * 2


@pytest.mark.django_db
def test_malformed_and_several_tenants_are_refused():
    with pytest.raises(TenantContextMissing, match="malformed"):
        celery_guard.guard_message("t", "id", {TENANT_HEADER: "1; drop"})
    with pytest.raises(TenantContextMissing, match="malformed"):
        celery_guard.guard_message("t", "id", {TENANT_HEADER: True})
    with (
        platform_access("test: two tenants in one message"),
        pytest.raises(TenantMismatch, match="several tenants"),
    ):
        celery_guard.guard_message("t", "id", {TENANT_HEADER: 1, "headers": {TENANT_HEADER: 2}})


def test_stamp_binds_task_tenant_and_id():
    headers = {TENANT_HEADER: 7, PROOF_HEADER: "caller-supplied"}
    with tenant_context(TenantRef(7, "seven")):
        assert celery_guard.guard_message("t.name", "id-1", headers) == 7
    assert headers[PROOF_HEADER] == tenant_proof("t.name", "id-1", 7)
    assert celery_guard.proof_is_valid("t.name", "id-1", 7, headers[PROOF_HEADER])
    for other in (("t.other", "id-1", 7), ("t.name", "id-2", 7), ("t.name", "id-1", 8)):
        assert not celery_guard.proof_is_valid(*other, headers[PROOF_HEADER])
    no_tenant = {PROOF_HEADER: "x"}
    assert celery_guard.guard_message("t.name", "id-1", no_tenant) is None
    assert no_tenant == {}


# --- a real worker over the real broker --------------------------------------------------


@pytest.fixture
def committed_pair(django_db_setup, django_db_blocker):
    """Two tenants the worker thread (its own database connection) can see."""
    from tenancy.models import Tenant
    from tests.committed import delete_committed_tenant

    suffix = uuid()[:8]
    with django_db_blocker.unblock():
        a = Tenant.objects.create(slug=f"guard-a-{suffix}", name="Guard alpha")
        b = Tenant.objects.create(slug=f"guard-b-{suffix}", name="Guard beta")
        yield Pair(TenantRef(a.pk, a.slug), TenantRef(b.pk, b.slug))
        for tenant in (a, b):  # with the key rings they were created with
            delete_committed_tenant(tenant.pk)


def publish_raw(headers: dict, task_id: str):
    """Publish straight through kombu, past every part of our publish path."""
    message = app.amqp.create_task_message(task_id, record_tenant_task.name, (), {})
    message.headers.update(headers)
    queue = app.amqp.queues[app.conf.task_default_queue]
    with app.producer_or_acquire() as producer:
        producer.publish(
            message.body,
            exchange="",
            routing_key=queue.name,
            headers=message.headers,
            serializer="json",
            declare=[queue],
            **message.properties,
        )
    return app.AsyncResult(task_id)


def attack_real_worker_raw_publish(pair):
    """A forged header (no proof, then a proof replayed from another task) published
    straight to the broker: the real worker refuses both and never runs the body."""
    for proof in (None, tenant_proof(record_tenant_task.name, uuid(), _id(pair.b))):
        headers = _b_header(pair) | ({PROOF_HEADER: proof} if proof else {})
        result = publish_raw(headers, uuid())
        expect_refused(lambda result=result: result.get(timeout=10), pair)


def test_real_worker_refuses_hand_made_messages(real_worker, committed_pair):
    attack_real_worker_raw_publish(committed_pair)
    # Celery's plain sender (not wrapped by the guard) from A's context: the
    # before_task_publish backstop cannot stop the publish, but removes the proof.
    pair = committed_pair
    plain = type(app.amqp)._create_task_sender(app.amqp)
    task_id = uuid()
    message = app.amqp.create_task_message(task_id, record_tenant_task.name, (), {})
    with tenant_context(pair.a), app.producer_or_acquire() as producer:
        plain(producer, record_tenant_task.name, message, headers=_b_header(pair))
    assert PROOF_HEADER not in message.headers
    expect_refused(lambda: app.AsyncResult(task_id).get(timeout=10), pair)


def test_real_worker_send_task_and_follow_ups(real_worker, committed_pair, monkeypatch):
    pair = committed_pair
    # Committed data: keep platform access out of the (committed) platform audit log.
    monkeypatch.setattr(context, "platform_access_listeners", [])
    monkeypatch.setattr(celery_guard, "task_addressing_listeners", [])
    with tenant_context(pair.a):
        with pytest.raises(TenantMismatch):
            app.send_task(record_tenant_task.name, headers=_b_header(pair))
        own = app.send_task(record_tenant_task.name, headers={TENANT_HEADER: _id(pair.a)})
        assert own.get(timeout=10) == _id(pair.a)
        # Follow-ups are published by the worker, outside the task's tenant context:
        # they are sent from the tenant the task was verified for.
        last = chain(record_tenant_task.si(), record_tenant_task.s()).apply_async()
        assert last.get(timeout=10) == _id(pair.a)
    with platform_access("test: the platform addresses B through a real worker"):
        assert record_tenant_task.apply_async(headers=_b_header(pair)).get(timeout=10) == (
            _id(pair.b)
        )
    assert RAN == [_id(pair.a)] * 3 + [_id(pair.b)]


# --- self-test: the checks above fail when the guard is off --------------------------------


@contextlib.contextmanager
def guard_switched_off(monkeypatch):
    """Trust whatever tenant a header names (as before the guard), check no follow-up,
    and accept any proof."""

    def trusting(task_name, named):
        return next(iter(named), None) or get_current_tenant_id()

    with monkeypatch.context() as patch:
        patch.setattr(celery_guard, "approve", trusting)
        patch.setattr(celery_guard, "_embedded_tenants", lambda *args: iter(()))
        patch.setattr(celery_guard, "proof_is_valid", lambda *args: True)
        yield


@pytest.mark.django_db
@pytest.mark.parametrize("attack", ATTACKS, ids=[a.__name__[7:] for a in ATTACKS])
def test_selftest_attack_check_fails_when_guard_is_off(attack, pair, monkeypatch):
    attack(pair)  # passes with the guard on
    RAN.clear()
    with guard_switched_off(monkeypatch), pytest.raises(AssertionError):
        attack(pair)


def test_selftest_real_worker_check_fails_when_guard_is_off(
    real_worker, committed_pair, monkeypatch
):
    attack_real_worker_raw_publish(committed_pair)
    with guard_switched_off(monkeypatch), pytest.raises(AssertionError):
        attack_real_worker_raw_publish(committed_pair)
