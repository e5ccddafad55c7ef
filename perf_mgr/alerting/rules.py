"""Rules from the seed's YAML and their validation against the tenant's metrics.

    alerts:
      - name: high_session_creation_latency
        condition: session_creation_time_p95 > 100ms
        severity: warning
        for: 5m                 # pending this long before firing (default 0)
        keep_firing_for: 10m    # stays firing this long after the condition clears
        labels: {team: sessions}
        annotations: {summary: "Sessions are slow"}

**Known metrics.** A metric is known to a tenant when it has recorded it (a series of
that name exists) or when it is one the platform produces (`BUILTIN_METRICS`: the
collectors' and the seed's names). Anything else is refused (`unknown_metric`): a typo
would otherwise make a rule that silently never fires. `anomaly_score` is the AI
manager's: a rule on it is accepted and waits (health `waiting`) until a source is
registered with `register_source()`.

**Names.** A bare name is a known metric (read as its `last_avg`: the average of the
last minute of a 5-minute window), else the seed's shorthand `<metric>_<fn>` of a known
metric (`session_creation_time_p95` is `p95(session_creation_time[5m])`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import yaml

from perf_mgr.alerting import grammar
from perf_mgr.models import MetricSeries
from perf_mgr.models.alerting import Severity

DEFAULT_WINDOW_S = 300.0
SHORTHAND = ("p50", "p90", "p95", "p99", "avg", "min", "max", "sum", "count", "rate")
BUILTIN_METRICS = frozenset(
    {
        "http_request_duration_seconds",
        "http_request_db_queries",
        "http_request_cpu_seconds",
        "cache_hits",
        "cache_misses",
        "celery_task_duration_seconds",
        "celery_task_cpu_seconds",
        "celery_task_queue_wait_seconds",
        # The seed's examples: sessions and the security manager's threat level.
        "session_creation_time",
        "threat_level",
    }
)
WAITING_METRICS = {
    "anomaly_score": "the AI manager (anomaly score)"
}  # its source: perf_mgr/anomalies.py
_sources: dict[str, object] = {}
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)?\s*$")
MAX_DURATION_S = 7 * 86400


class RuleError(ValueError):
    """A refused rule: `field` names what, `line`/`column` where in the condition."""

    def __init__(self, code: str, message: str, field: str = "condition", line=None, column=None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field
        self.line, self.column = line, column

    def as_dict(self) -> dict:
        out = {"code": self.code, "message": self.message, "field": self.field}
        if self.line is not None:
            out.update(line=self.line, column=self.column)
        return out


def register_source(metric: str, source) -> None:
    """A higher layer (the AI manager) provides `metric` (e.g. anomaly_score): rules on
    it stop waiting. `source` is called in the tenant's context and returns {labels:
    value} like perf_mgr.query.evaluate."""
    _sources[metric] = source


def source_for(metric: str):
    return _sources.get(metric)


def parse_duration(value, field: str) -> float:
    """`5m`, `30s`, `1h`, `0`, or a number of seconds; 0 to 7 days."""
    if isinstance(value, bool):
        raise RuleError("invalid_duration", f"{field} must be a duration such as 5m.", field)
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value)) if value is not None else None
        if match is None:
            raise RuleError("invalid_duration", f"{field} must be a duration such as 5m.", field)
        seconds = float(match.group(1)) * grammar.DURATION_UNITS[match.group(2) or "s"]
    if not 0 <= seconds <= MAX_DURATION_S:
        raise RuleError("invalid_duration", f"{field} must be between 0 and 7d.", field)
    return seconds


def known_metrics() -> set[str]:
    """Names a rule of the tenant in context may use (see the module's docstring)."""
    recorded = set(MetricSeries.objects.values_list("name", flat=True).distinct())
    return recorded | BUILTIN_METRICS | set(WAITING_METRICS)


def resolve_name(node: grammar.Name, known: set[str]) -> grammar.Call:
    if node.name in known:
        return grammar.Call("last_avg", node.name, (), DEFAULT_WINDOW_S, "5m", ())
    base, _, suffix = node.name.rpartition("_")
    if suffix in SHORTHAND and base in known:
        return grammar.Call(suffix, base, (), DEFAULT_WINDOW_S, "5m", ())
    raise RuleError(
        "unknown_metric",
        f"Unknown metric {node.name!r}: this tenant has never recorded it, and it is not "
        "one the platform produces (nor <metric>_p95 and similar of one that is).",
        line=node.line or 1,
        column=node.column or 1,
    )


def resolve(node, known: set[str]):
    """The AST with every bare name resolved into a Call; unknown metrics refused."""
    if isinstance(node, grammar.Name):
        return resolve_name(node, known)
    if isinstance(node, grammar.Call):
        if node.metric not in known:
            raise RuleError(
                "unknown_metric",
                f"Unknown metric {node.metric!r}: this tenant has never recorded it, and "
                "it is not one the platform produces.",
            )
        return node
    if isinstance(node, grammar.Compare | grammar.BoolOp):
        return replace(node, left=resolve(node.left, known), right=resolve(node.right, known))
    if isinstance(node, grammar.Truthy):
        return replace(node, operand=resolve(node.operand, known))
    return node


def compile_condition(text, known: set[str] | None = None):
    """Parse and resolve a condition for the tenant in context; RuleError if refused."""
    try:
        ast = grammar.parse(text)
    except grammar.ConditionError as exc:
        raise RuleError(
            "invalid_condition", exc.message, line=exc.line, column=exc.column
        ) from None
    return resolve(ast, known_metrics() if known is None else known)


def waiting_for(ast) -> str | None:
    """What a rule waits for (a metric without its source yet), else None."""
    for node in grammar.walk(ast):
        if isinstance(node, grammar.Call) and node.metric in WAITING_METRICS:
            if source_for(node.metric) is None:
                return WAITING_METRICS[node.metric]
    return None


@dataclass
class RuleSpec:
    name: str
    condition: str
    severity: str
    for_s: float
    keep_firing_for_s: float
    labels: dict
    annotations: dict


def _string_map(value, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int | float) and not isinstance(v, bool)
        for k, v in value.items()
    ):
        raise RuleError("invalid_" + field, f"{field} must map names to strings.", field)
    if any(not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]{0,99}", k) for k in value):
        raise RuleError("invalid_" + field, f"{field} names are [a-zA-Z_][a-zA-Z0-9_]*.", field)
    return {k: str(v)[:500] for k, v in value.items()}


def validate_rule(data: dict, known: set[str] | None = None) -> RuleSpec:
    """One rule of the YAML (a dict), checked for the tenant in context."""
    if not isinstance(data, dict):
        raise RuleError("invalid_rule", "A rule is a mapping (name, condition, severity).", "rule")
    name = data.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-zA-Z0-9_.:-]{1,100}", name):
        raise RuleError("invalid_name", "name: 1-100 letters, digits, _ . : -", "name")
    severity = data.get("severity", Severity.WARNING)
    if severity not in Severity.values:
        raise RuleError(
            "invalid_severity", f"severity: one of {', '.join(Severity.values)}.", "severity"
        )
    condition = data.get("condition")
    compile_condition(condition, known)
    return RuleSpec(
        name=name,
        condition=condition.strip(),
        severity=severity,
        for_s=parse_duration(data.get("for", 0), "for"),
        keep_firing_for_s=parse_duration(data.get("keep_firing_for", 0), "keep_firing_for"),
        labels=_string_map(data.get("labels"), "labels"),
        annotations=_string_map(data.get("annotations"), "annotations"),
    )


def load_yaml(text: str) -> list[RuleSpec]:
    """The `alerts:` list of the seed's YAML, every rule validated (RuleError names the
    rule's index in its message)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RuleError(
            "invalid_yaml",
            f"Not valid YAML: {getattr(exc, 'problem', exc)}",
            "yaml",
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    items = document.get("alerts") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise RuleError("invalid_yaml", "The YAML must hold `alerts:`, a list of rules.", "yaml")
    known = known_metrics()
    specs = []
    for index, item in enumerate(items):
        try:
            specs.append(validate_rule(item, known))
        except RuleError as exc:
            exc.message = f"alerts[{index}]: {exc.message}"
            raise
    return specs
