"""Evaluates a tenant's rules and moves each (rule, label set) through the states

    inactive → pending (condition true, for `for`) → firing → resolved

persisted in AlertState, one transaction per rule holding the rule's state rows, so a
restarted evaluator (another process, no memory of the last) continues exactly where
the last one committed: a firing alert stays firing without a second notification,
and the resolution of an alert that fired before the restart is still sent. Firing and
resolution write their notifications into the outbox (delivery.py) in that same
transaction, so a transition and its notification commit together or not at all.

`keep_firing_for`: a firing alert whose condition clears stays firing until the
condition has been false for that long (counted from the last true evaluation, which is
persisted, so a restart does not shorten or lose it).
"""

from __future__ import annotations

import hashlib
import json
import operator
from dataclasses import dataclass

from django.utils import timezone

from perf_mgr import query
from perf_mgr.alerting import grammar, outbox, rules
from perf_mgr.models.alerting import (
    SEVERITY_RANK,
    AlertRule,
    AlertState,
    AlertStatus,
    RuleHealth,
    Transition,
)
from tenancy import db as tenant_db

OPS = {
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


def fingerprint(rule_id: int, labels: dict) -> str:
    text = json.dumps([rule_id, sorted(labels.items())], separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _lookup(vector: dict, key: tuple):
    """The vector's value for a label set: the same set, else a group whose labels are
    all in it (a rule without `by` is the group `()` and matches every set)."""
    if key in vector:
        return vector[key]
    wanted = set(key)
    for other, value in vector.items():
        if set(other) <= wanted:
            return value
    return None


class Evaluation:
    """Evaluates one condition AST at `now_us` (metric values read once per call)."""

    def __init__(self, now_us: int):
        self.now_us = now_us

    def vector(self, node) -> dict:
        if isinstance(node, grammar.Number | grammar.Level):
            return {(): node.value}
        source = rules.source_for(node.metric)
        if source is not None:
            return source(node)
        return query.evaluate(
            node.metric,
            node.function,
            node.window_s,
            labels=dict(node.labels) or None,
            by=list(node.by) or None,
            now_us=self.now_us,
        )

    def truth(self, node) -> dict:
        """{label set: (true?, value)}; value is the metric's (the left side's)."""
        if isinstance(node, grammar.Truthy):
            return {k: (v is not None and v != 0, v) for k, v in self.vector(node.operand).items()}
        if isinstance(node, grammar.Compare):
            left, right = self.vector(node.left), self.vector(node.right)
            keys = _keys(left, right)
            out = {}
            for key in keys:
                lv, rv = _lookup(left, key), _lookup(right, key)
                ok = lv is not None and rv is not None and OPS[node.op](lv, rv)
                metric_side = lv if not isinstance(node.left, grammar.Number) else rv
                out[key] = (bool(ok), metric_side)
            return out
        left, right = self.truth(node.left), self.truth(node.right)
        combine = all if node.op == "and" else any
        out = {}
        for key in _keys(left, right):
            lv, rv = _lookup(left, key) or (False, None), _lookup(right, key) or (False, None)
            out[key] = (combine((lv[0], rv[0])), lv[1] if lv[1] is not None else rv[1])
        return out


def _keys(left: dict, right: dict) -> list:
    """The label sets of a binary operation: the finer side's, both when equally fine."""
    if set(left) == {()}:
        return list(right) or [()]
    if set(right) == {()}:
        return list(left)
    return list(dict.fromkeys([*left, *right]))


@dataclass
class Outcome:
    evaluated: int = 0
    waiting: int = 0
    errors: int = 0
    notifications: int = 0


def _group_labels(rule: AlertRule, key: tuple) -> dict:
    return {**rule.labels, **dict(key), "alertname": rule.name, "severity": rule.severity}


def _step(state: AlertState, true: bool, now, rule: AlertRule) -> str | None:
    """Move one state; returns the transition to notify (firing/resolved) or None."""
    transition = _move(state, true, now, rule)
    if transition == Transition.FIRING:
        state.notified_at = now
    return transition


def _move(state: AlertState, true: bool, now, rule: AlertRule) -> str | None:
    status = state.status
    if true:
        state.last_true_at = now
        if status in (AlertStatus.INACTIVE, AlertStatus.RESOLVED):
            state.active_since = now
            status = AlertStatus.PENDING
        if (
            status == AlertStatus.PENDING
            and (now - state.active_since).total_seconds() >= rule.for_s
        ):
            state.status = AlertStatus.FIRING
            state.fired_at, state.resolved_at = now, None
            state.incident += 1
            return Transition.FIRING
        state.status = status
        return None
    if status == AlertStatus.PENDING:
        state.status, state.active_since = AlertStatus.INACTIVE, None
    elif status == AlertStatus.FIRING:
        quiet = (now - (state.last_true_at or now)).total_seconds()
        if quiet >= rule.keep_firing_for_s or state.last_true_at is None:
            state.status, state.resolved_at, state.active_since = AlertStatus.RESOLVED, now, None
            return Transition.RESOLVED
    return None


def _mark(rule: AlertRule, health: str, detail: str, now) -> None:
    AlertRule.objects.filter(pk=rule.pk).update(
        health=health, health_detail=detail[:300], last_evaluated_at=now
    )


def evaluate_rule(rule: AlertRule, now=None, known=None, current=None) -> int:
    """Evaluate one rule and commit its transitions; returns notifications written."""
    now = now or timezone.now()
    current = current or outbox.route()
    try:
        ast = rules.compile_condition(rule.condition, known)
    except rules.RuleError as exc:
        _mark(rule, RuleHealth.ERROR, exc.message, now)
        return 0
    waiting = rules.waiting_for(ast)
    if waiting is not None:
        _mark(rule, RuleHealth.WAITING, f"Waiting for {waiting}; never fires until then.", now)
        return 0
    try:
        results = Evaluation(int(now.timestamp() * 1e6)).truth(ast)
    except query.QueryError as exc:  # one rule's bad read never stops the others
        _mark(rule, RuleHealth.ERROR, exc.message, now)
        return 0
    written = 0
    with tenant_db.atomic():
        states = {
            s.fingerprint: s for s in AlertState.objects.select_for_update().filter(rule=rule)
        }
        seen = set()
        for key, (true, value) in results.items():
            labels = _group_labels(rule, key)
            fp = fingerprint(rule.pk, labels)
            seen.add(fp)
            state = states.get(fp)
            if state is None:
                if not true:
                    continue  # a group that never was true needs no row
                state = AlertState(rule=rule, fingerprint=fp, labels=labels)
            state.value = value
            written += _apply(state, true, now, rule, current)
        for fp, state in states.items():
            if fp not in seen:  # the group disappeared: its condition is not true
                written += _apply(state, False, now, rule, current)
        _mark(rule, RuleHealth.OK, "", now)
    return written


def _repeat(state: AlertState, now, current) -> int | None:
    """The number of a repeat_interval re-send due now for a firing alert, else None."""
    every = current.repeat_interval_s
    if state.status != AlertStatus.FIRING or not every or state.notified_at is None:
        return None
    if (now - state.notified_at).total_seconds() < every:
        return None
    return int((now - state.fired_at).total_seconds() // every)


def _apply(state: AlertState, true: bool, now, rule: AlertRule, current) -> int:
    transition = _step(state, true, now, rule)
    repeat = _repeat(state, now, current) if transition is None else None
    if repeat is not None:
        state.notified_at = now
    state.last_evaluated_at = now
    state.save()
    if transition is not None:
        return outbox.enqueue(rule, state, transition, now, current)
    if repeat is not None:
        return outbox.enqueue(rule, state, Transition.FIRING, now, current, repeat=repeat)
    return 0


def evaluate_tenant(now=None) -> Outcome:
    """Every enabled rule of the tenant in context (beat's task, per tenant)."""
    now = now or timezone.now()
    outcome = Outcome()
    known = rules.known_metrics()
    current = outbox.route()
    # Critical rules first: a critical alert firing in this cycle inhibits the warnings
    # written after it (outbox.py).
    enabled = sorted(
        AlertRule.objects.filter(enabled=True), key=lambda r: -SEVERITY_RANK[r.severity]
    )
    for rule in enabled:
        outcome.notifications += evaluate_rule(rule, now, known, current)
        rule.refresh_from_db(fields=["health"])
        outcome.evaluated += 1
        outcome.waiting += rule.health == RuleHealth.WAITING
        outcome.errors += rule.health == RuleHealth.ERROR
    return outcome
