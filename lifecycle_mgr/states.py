"""The tenant lifecycle's state machine (issue 16): which transition leads from which
states to which, and what the tenant's own `state` (the one tenant resolution reads)
becomes. Pure data and checks: no query, so the API, the console and the workflow's
steps all ask the same table.

    requested → provisioning → active ⇄ suspended → offboarding → archived → purged

Offboarding starts from active or suspended; purge only from archived (and never under
legal hold: lifecycle_mgr.holds)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lifecycle_mgr.models import LifecycleState as S


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]
    target: str
    label: object


TRANSITIONS = {
    t.name: t
    for t in (
        Transition("provision", (S.REQUESTED,), S.PROVISIONING, gettext_lazy("Provision")),
        Transition("activate", (S.PROVISIONING,), S.ACTIVE, gettext_lazy("Activate")),
        Transition("suspend", (S.ACTIVE,), S.SUSPENDED, gettext_lazy("Suspend")),
        Transition("resume", (S.SUSPENDED,), S.ACTIVE, gettext_lazy("Resume")),
        Transition("offboard", (S.ACTIVE, S.SUSPENDED), S.OFFBOARDING, gettext_lazy("Offboard")),
        Transition("archive", (S.OFFBOARDING,), S.ARCHIVED, gettext_lazy("Archive")),
        Transition("purge", (S.ARCHIVED,), S.PURGED, gettext_lazy("Purge")),
    )
}

# What tenancy's own state says in each lifecycle state: only an active tenant is
# served (tenant resolution refuses the others).
TENANT_STATE = {
    S.REQUESTED: "pending",
    S.PROVISIONING: "pending",
    S.ACTIVE: "active",
    S.SUSPENDED: "suspended",
    S.OFFBOARDING: "suspended",
    S.ARCHIVED: "archived",
    S.PURGED: "archived",
}


# Where a tenant that exists before it is enrolled starts, by its own state.
INITIAL_STATE = {
    "pending": S.REQUESTED,
    "active": S.ACTIVE,
    "suspended": S.SUSPENDED,
    "archived": S.ARCHIVED,
}


class IllegalTransition(Exception):
    """The transition does not exist, or does not start from the tenant's state, or a
    transition of the tenant is already running: the API's 409 (400 for an unknown name),
    nothing changed."""

    def __init__(self, message: str, *, code: str = "illegal_transition", status: int = 409):
        super().__init__(message)
        self.code = code
        self.status = status


def transition(name: str) -> Transition:
    found = TRANSITIONS.get(name)
    if found is None:
        raise IllegalTransition(
            _("Unknown transition %(name)r; one of: %(names)s.")
            % {"name": name, "names": ", ".join(TRANSITIONS)},
            code="unknown_transition",
            status=400,
        )
    return found


def check(name: str, state: str) -> Transition:
    """The transition `name` from `state`, or IllegalTransition saying why not."""
    found = transition(name)
    if state not in found.sources:
        raise IllegalTransition(
            _("A tenant in state %(state)s cannot %(name)s (only from %(sources)s).")
            % {"state": state, "name": name, "sources": ", ".join(found.sources)}
        )
    return found


def allowed_from(state: str) -> list[str]:
    return [t.name for t in TRANSITIONS.values() if state in t.sources]
