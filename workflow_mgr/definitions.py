"""Workflow definitions: validated, JSON-shaped, registered in code by features or given
whole (a dict, JSON or YAML) to `create_workflow`.

    {"name": "provision", "steps": [
        {"name": "reserve", "action": "billing.reserve", "compensation": "billing.release",
         "timeout": 30, "retry": {"max_attempts": 5, "initial_delay": 1, "backoff": 2,
         "max_delay": 60, "jitter": 0.2, "non_retryable": ["ValueError"]}},
        {"name": "approve", "signal": "approved"},             # waits for a signal
        {"name": "cool_off", "sleep": 3600},                    # a durable timer
        {"name": "mail", "action": "mail.send", "read_only": true,
         "after": ["approve"], "when": {"step": "reserve", "key": "ok", "equals": true}},
    ]}

A step runs once all the steps it comes `after` are done (by default the step before
it, so a plain list runs in sequence; two steps after the same one run in parallel). A
`when` condition on an earlier step's output skips the step when it does not hold.
Actions and compensations are names in the action registry (`action()`): callables
taking a `StepContext` and returning a JSON-able dict (the step's output).

Under the "automatic" compensation strategy every step with an action needs a
compensation, unless it declares `"read_only": true` (it changes nothing to undo).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.text import slugify

MAX_STEPS = 100
MAX_TIMEOUT = 86_400.0
NAME_LIMIT = 80

_actions: dict[str, Callable] = {}
_workflows: dict[str, Registered] = {}
_platform_actions: set[str] = set()


class DefinitionError(ValueError):
    """The definition does not validate; `reasons` lists every problem found."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class UnknownWorkflow(LookupError):
    pass


def action(name: str, fn: Callable | None = None, *, platform: bool = False):
    """Register `fn` as the action (or compensation) called `name`; a decorator too.
    `platform`: the action does the platform's work on the tenant it is given (a tenant
    move, a lifecycle transition, an erasure): only the platform's own code may start a
    run that uses it, never a definition a tenant's member sends (`create_run`)."""

    def register(target: Callable) -> Callable:
        _actions[name] = target
        if platform:
            _platform_actions.add(name)
        return target

    return register(fn) if fn is not None else register


def get_action(name: str) -> Callable:
    try:
        return _actions[name]
    except KeyError:
        raise LookupError(f"no workflow action {name!r} is registered") from None


@dataclass(frozen=True)
class Retry:
    max_attempts: int = 3
    initial_delay: float = 1.0
    backoff: float = 2.0
    max_delay: float = 300.0
    jitter: float = 0.2  # a fraction of the delay, either way
    non_retryable: tuple[str, ...] = ()  # exception class names that fail at once

    def delay(self, attempt: int) -> float:
        """Seconds before attempt `attempt + 1`, exponential with jitter."""
        base = min(self.max_delay, self.initial_delay * self.backoff ** max(0, attempt - 1))
        return max(0.0, base * (1 + random.uniform(-self.jitter, self.jitter)))

    @classmethod
    def of(cls, spec: dict | None) -> Retry:
        spec = dict(spec or {})
        spec["non_retryable"] = tuple(spec.get("non_retryable") or ())
        return cls(**spec)


@dataclass(frozen=True)
class Step:
    """A step declared in Python: `action`/`compensation` are callables or registered
    names; callables are registered as `<workflow>.<step>` (and `.compensation`)."""

    name: str
    action: Callable | str | None = None
    compensation: Callable | str | None = None
    timeout: float = 60.0
    retry: Retry = field(default_factory=Retry)
    after: tuple[str, ...] | None = None
    when: dict | None = None
    signal: str = ""
    sleep: float | None = None
    read_only: bool = False


@dataclass(frozen=True)
class Registered:
    name: str
    spec: dict
    title: str
    strategy: str


def _callable_name(value, default_name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    action(default_name, value)
    return default_name


def step_spec(workflow: str, step: Step) -> dict:
    spec = {
        "name": step.name,
        "action": _callable_name(step.action, f"{workflow}.{step.name}"),
        "compensation": _callable_name(step.compensation, f"{workflow}.{step.name}.compensation"),
        "timeout": step.timeout,
        "retry": {
            "max_attempts": step.retry.max_attempts,
            "initial_delay": step.retry.initial_delay,
            "backoff": step.retry.backoff,
            "max_delay": step.retry.max_delay,
            "jitter": step.retry.jitter,
            "non_retryable": list(step.retry.non_retryable),
        },
        "signal": step.signal,
        "sleep": step.sleep,
        "read_only": step.read_only,
        "when": step.when,
    }
    if step.after is not None:
        spec["after"] = list(step.after)
    return spec


def register(
    name: str, steps: list, *, title: str = "", strategy: str = "automatic", platform: bool = False
) -> dict:
    """Register a workflow (Python `Step`s or JSON-shaped dicts); validated now, so a
    broken definition fails when the app loads, not in a worker. `platform`: every
    action and compensation of its steps is a platform action (see `action()`)."""
    raw = [step_spec(name, s) if isinstance(s, Step) else dict(s) for s in steps]
    spec = validate({"name": name, "title": title or name, "steps": raw}, strategy)
    _workflows[name] = Registered(name, spec, title or name, strategy)
    if platform:
        for step in spec["steps"]:
            _platform_actions.update(a for a in (step.get("action"), step.get("compensation")) if a)
    return spec


def platform_actions_in(spec: dict) -> list[str]:
    """The platform actions a (validated) definition would run, sorted."""
    used = set()
    for step in spec.get("steps") or []:
        used.update(a for a in (step.get("action"), step.get("compensation")) if a)
    return sorted(used & _platform_actions)


def get(name: str) -> Registered:
    try:
        return _workflows[name]
    except KeyError:
        raise UnknownWorkflow(f"no workflow {name!r} is registered") from None


def names() -> list[str]:
    return sorted(_workflows)


def parse(definition) -> dict:
    """A registered name, a dict, or JSON / YAML text, as a dict (not yet validated)."""
    if isinstance(definition, dict):
        return definition
    if not isinstance(definition, str) or not definition.strip():
        raise DefinitionError(["the definition is a workflow name, a mapping, JSON or YAML"])
    text = definition.strip()
    if text in _workflows:
        return _workflows[text].spec
    try:
        if text[0] in "{[":
            loaded = json.loads(text)
        else:
            import yaml

            loaded = yaml.safe_load(text)
    except Exception as exc:  # noqa: BLE001  (json's ValueError, yaml's YAMLError)
        raise DefinitionError([f"the definition is not valid JSON or YAML: {exc}"]) from None
    if isinstance(loaded, str) and "\n" not in text:
        raise DefinitionError([f"no workflow {text!r} is registered"])
    if not isinstance(loaded, dict):
        raise DefinitionError(["the definition must be a mapping with a name and steps"])
    return loaded


def _number(value, what: str, low: float, high: float, reasons: list) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        reasons.append(f"{what} must be a number")
        return None
    if not low <= value <= high:
        reasons.append(f"{what} must be between {low:g} and {high:g}")
        return None
    return float(value)


def _retry(spec, where: str, reasons: list) -> dict:
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        reasons.append(f"{where}: retry must be a mapping")
        return {}
    unknown = set(spec) - set(Retry.__dataclass_fields__)
    if unknown:
        reasons.append(f"{where}: unknown retry settings {sorted(unknown)}")
    out = {}
    attempts = spec.get("max_attempts", 3)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 100:
        reasons.append(f"{where}: retry.max_attempts must be a whole number from 1 to 100")
    out["max_attempts"] = attempts
    for key, default, high in (
        ("initial_delay", 1.0, 3600),
        ("backoff", 2.0, 10),
        ("max_delay", 300.0, 86400),
        ("jitter", 0.2, 1),
    ):
        value = _number(spec.get(key, default), f"{where}: retry.{key}", 0, high, reasons)
        out[key] = default if value is None else value
    names_ = spec.get("non_retryable") or []
    if not isinstance(names_, (list, tuple)) or not all(isinstance(n, str) for n in names_):
        reasons.append(f"{where}: retry.non_retryable must be a list of exception names")
        names_ = []
    out["non_retryable"] = list(names_)
    return out


def _step(raw, index: int, previous: str | None, strategy: str, reasons: list) -> dict | None:
    if not isinstance(raw, dict):
        reasons.append(f"step {index + 1}: must be a mapping")
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not name or len(name) > NAME_LIMIT:
        reasons.append(f"step {index + 1}: needs a name of 1 to {NAME_LIMIT} characters")
        return None
    if slugify(name).replace("-", "_") != name.replace("-", "_").lower():
        reasons.append(f"step {name!r}: use letters, digits, '-' and '_' only")
    where = f"step {name!r}"
    act, comp = raw.get("action"), raw.get("compensation")
    signal, sleep = raw.get("signal") or "", raw.get("sleep")
    kinds = [bool(act), bool(signal), sleep is not None]
    if sum(kinds) != 1:
        reasons.append(f"{where}: give exactly one of action, signal or sleep")
    for label, value in (("action", act), ("compensation", comp)):
        if value and (not isinstance(value, str) or value not in _actions):
            reasons.append(f"{where}: unknown {label} {value!r}")
    if signal and (not isinstance(signal, str) or len(signal) > NAME_LIMIT):
        reasons.append(f"{where}: signal must be a name of at most {NAME_LIMIT} characters")
    sleep = _number(sleep, f"{where}: sleep", 0, MAX_TIMEOUT, reasons)
    read_only = bool(raw.get("read_only", False))
    if strategy == "automatic" and act and not comp and not read_only:
        reasons.append(
            f"{where}: has no compensation, which the automatic strategy needs "
            "(or mark it read_only)"
        )
    timeout = _number(raw.get("timeout", 60.0), f"{where}: timeout", 0.001, MAX_TIMEOUT, reasons)
    after = raw.get("after", [previous] if previous else [])
    if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
        reasons.append(f"{where}: after must be a list of step names")
        after = []
    when = raw.get("when")
    if when is not None and (
        not isinstance(when, dict) or not isinstance(when.get("step"), str) or "key" not in when
    ):
        reasons.append(f"{where}: when needs a step, a key and equals")
        when = None
    unknown = set(raw) - {
        "name", "action", "compensation", "timeout", "retry", "after", "when", "signal",
        "sleep", "read_only", "title",
    }  # fmt: skip
    if unknown:
        reasons.append(f"{where}: unknown settings {sorted(unknown)}")
    return {
        "name": name,
        "action": act or None,
        "compensation": comp or None,
        "timeout": timeout or 60.0,
        "retry": _retry(raw.get("retry"), where, reasons),
        "after": after,
        "when": when,
        "signal": signal,
        "sleep": sleep,
        "read_only": read_only,
    }


def _ancestors(steps: dict, reasons: list) -> dict[str, set]:
    """Each step's transitive `after` set; a cycle is a reason, not a loop forever."""
    done: dict[str, set] = {}
    visiting: set[str] = set()

    def visit(name: str) -> set:
        if name in done:
            return done[name]
        if name in visiting:
            raise DefinitionError([f"the steps form a cycle through {name!r}"])
        visiting.add(name)
        found: set = set()
        for parent in steps[name]["after"]:
            if parent in steps:
                found |= {parent} | visit(parent)
        visiting.discard(name)
        done[name] = found
        return found

    try:
        for name in steps:
            visit(name)
    except DefinitionError as exc:
        reasons.extend(exc.reasons)
    return done


def validate(spec, strategy: str = "automatic") -> dict:
    """The definition, normalised; DefinitionError listing every problem otherwise."""
    reasons: list[str] = []
    if strategy not in ("automatic", "manual"):
        raise DefinitionError(["compensation_strategy is 'automatic' or 'manual'"])
    if not isinstance(spec, dict):
        raise DefinitionError(["the definition must be a mapping with a name and steps"])
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        reasons.append("the workflow needs a name of 1 to 120 characters")
    raw_steps = spec.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise DefinitionError([*reasons, "the workflow needs a non-empty list of steps"])
    if len(raw_steps) > MAX_STEPS:
        raise DefinitionError([*reasons, f"at most {MAX_STEPS} steps"])
    steps: dict[str, dict] = {}
    previous = None
    for index, raw in enumerate(raw_steps):
        step = _step(raw, index, previous, strategy, reasons)
        if step is None:
            continue
        if step["name"] in steps:
            reasons.append(f"step {step['name']!r} is defined twice")
        steps[step["name"]] = step
        previous = step["name"]
    for step in steps.values():
        for parent in step["after"]:
            if parent not in steps:
                reasons.append(f"step {step['name']!r}: comes after unknown step {parent!r}")
    ancestors = _ancestors(steps, reasons)
    for step in steps.values():
        when = step["when"]
        if when and when["step"] not in ancestors.get(step["name"], set()):
            reasons.append(
                f"step {step['name']!r}: its condition reads {when['step']!r}, "
                "which does not run before it"
            )
    if reasons:
        raise DefinitionError(reasons)
    return {"name": name, "title": spec.get("title") or name, "steps": list(steps.values())}
