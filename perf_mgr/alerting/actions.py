"""Writes of alerting configuration (the API and the admin go through these): every
rule is validated for the tenant in context before it is stored."""

from __future__ import annotations

import ipaddress
import re
import urllib.parse

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from perf_mgr.alerting import rules
from perf_mgr.models.alerting import AlertRule, ChannelKind
from tenancy import db as tenant_db

RULE_FIELDS = ("name", "condition", "severity", "for", "keep_firing_for", "labels", "annotations")


def rule_as_data(rule: AlertRule) -> dict:
    """A stored rule in the YAML's shape (durations in seconds)."""
    return {
        "name": rule.name,
        "condition": rule.condition,
        "severity": rule.severity,
        "for": rule.for_s,
        "keep_firing_for": rule.keep_firing_for_s,
        "labels": rule.labels,
        "annotations": rule.annotations,
    }


def check_rule_name_free(name: str, instance: AlertRule | None) -> None:
    taken = AlertRule.objects.filter(name=name)
    if instance is not None:
        taken = taken.exclude(pk=instance.pk)
    if taken.exists():
        raise rules.RuleError("duplicate_name", f"A rule named {name!r} exists.", "name")


def validated_rule(data: dict, instance: AlertRule | None = None) -> rules.RuleSpec:
    """`data` over `instance` (a partial update), validated; RuleError if refused."""
    merged = {**(rule_as_data(instance) if instance else {}), **data}
    spec = rules.validate_rule(merged)
    check_rule_name_free(spec.name, instance)
    return spec


@tenant_db.atomic_function
def do_save_rule(spec: rules.RuleSpec, instance: AlertRule | None = None, enabled=None):
    rule = instance or AlertRule()
    for field, value in vars(spec).items():
        setattr(rule, field, value)
    if enabled is not None:
        rule.enabled = bool(enabled)
    rule.save()
    return rule


@tenant_db.atomic_function
def do_import_rules(text: str) -> list[AlertRule]:
    """The seed's YAML: every rule created, or updated when its name exists; all or
    nothing (one refused rule refuses the document)."""
    saved = []
    for spec in rules.load_yaml(text):
        saved.append(do_save_rule(spec, AlertRule.objects.filter(name=spec.name).first()))
    return saved


def check_channel_target(kind: str, target: str) -> str:
    """An http(s) URL for a webhook, email addresses for email; ValueError with why."""
    target = (target or "").strip()
    if kind == ChannelKind.WEBHOOK:
        try:
            URLValidator(schemes=["http", "https"])(target)
        except ValidationError:
            raise ValueError("A webhook target is an http:// or https:// URL.") from None
        if not getattr(settings, "ALERTING_WEBHOOK_ALLOW_PRIVATE", False):
            host = urllib.parse.urlsplit(target).hostname or ""
            try:
                literal = ipaddress.ip_address(host.strip("[]"))
            except ValueError:
                literal = None  # a name: checked when it is resolved, at every send
            if (literal is not None and not literal.is_global) or host == "localhost":
                raise ValueError("A webhook target must be a public address.")
        return target
    addresses = [a.strip() for a in target.split(",") if a.strip()]
    if not addresses:
        raise ValueError("An email target is one or more addresses, comma-separated.")
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ValueError(f"{address!r} is not an email address.") from None
    return ", ".join(addresses)


def check_silence(matchers, starts_at, ends_at, now) -> dict:
    """Matchers: a non-empty {label: value} of strings; ends_at after now and after
    starts_at. Returns the matchers; ValueError((field, reason)) otherwise."""
    if (
        not isinstance(matchers, dict)
        or not matchers
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in matchers.items())
    ):
        raise ValueError("matchers", 'Matchers are a non-empty {"label": "value"} map.')
    if len(matchers) > 16 or any(len(k) > 100 or len(v) > 100 for k, v in matchers.items()):
        raise ValueError("matchers", "At most 16 matchers of at most 100 characters.")
    if ends_at is None or ends_at <= now:
        raise ValueError("ends_at", "A silence must end in the future.")
    if starts_at is not None and ends_at <= starts_at:
        raise ValueError("ends_at", "A silence must end after it starts.")
    return matchers


def check_route(group_by, wait, interval, repeat) -> None:
    """ValueError((field, reason)) for a route Alertmanager would refuse."""
    if not isinstance(group_by, list) or not all(
        isinstance(n, str) and (n == "..." or re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]{0,99}", n))
        for n in group_by
    ):
        raise ValueError("group_by", 'group_by is a list of label names (or ["..."]).')
    for field, value, low in (
        ("group_wait", wait, 0.0),
        ("group_interval", interval, 1.0),
        ("repeat_interval", repeat, 0.0),
    ):
        if value is None or not low <= value <= rules.MAX_DURATION_S:
            raise ValueError(field, f"{field} is between {low:g} s and 7d (0 repeat: never).")


@tenant_db.atomic_function
def do_save_route(group_by, wait, interval, repeat):
    from perf_mgr.models.alerting import AlertRoute

    route = AlertRoute.objects.select_for_update().first() or AlertRoute()
    route.group_by, route.group_wait_s = group_by, wait
    route.group_interval_s, route.repeat_interval_s = interval, repeat
    route.save()
    return route
