"""The messages of the session channel (`fastpath.CHANNEL`), one type for every
publisher and the listener, so the wire format is written down here only.

    r|<session id>|<expires at, epoch s>   the session is revoked (forget it after expiry)
    g|<session id>|<generation>            tokens of older generations are dead
    t|<tenant id>|<cutoff, epoch ms>       tokens of the tenant issued before are dead
    d|<session id>                         drop the cached entry (reload from the database)
    k|<tenant id>                          the tenant's key versions changed
    p|<tenant id>                          the tenant's session policy changed

`from_wire` is strict: an unknown kind, a missing or extra field or a field that does
not parse raises `MalformedMessage`; the listener logs it and applies nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenancy.pubsub import MalformedMessage, decode, encode, finite, identifier, integer

__all__ = ["MalformedMessage", "SessionMessage"]

REVOKED, REFRESHED, TENANT_CUTOFF, DROP, KEYS_CHANGED, POLICY_CHANGED = "rgtdkp"

_SESSION, _TENANT = ("session id", identifier), ("tenant id", integer)
_LAYOUTS = {
    REVOKED: (_SESSION, ("expires at", finite)),
    REFRESHED: (_SESSION, ("generation", integer)),
    TENANT_CUTOFF: (_TENANT, ("cutoff ms", finite)),
    DROP: (_SESSION,),
    KEYS_CHANGED: (_TENANT,),
    POLICY_CHANGED: (_TENANT,),
}


@dataclass(frozen=True, slots=True)
class SessionMessage:
    """`subject` is a session id (r, g, d) or a tenant id (t, k, p); `value` the
    expiry, generation or cutoff (None for d, k, p). Build with the constructors."""

    kind: str
    subject: str | int
    value: float | int | None = None

    def __post_init__(self):
        # A message this process could not read back is refused before it is sent.
        decode(self.to_wire(), _LAYOUTS, channel="session event")

    @classmethod
    def revoked(cls, session_id: str, expires_at: float) -> SessionMessage:
        return cls(REVOKED, session_id, expires_at)

    @classmethod
    def refreshed(cls, session_id: str, generation: int) -> SessionMessage:
        return cls(REFRESHED, session_id, int(generation))

    @classmethod
    def tenant_cutoff(cls, tenant_id: int, cutoff_ms: float) -> SessionMessage:
        return cls(TENANT_CUTOFF, int(tenant_id), cutoff_ms)

    @classmethod
    def drop(cls, session_id: str) -> SessionMessage:
        return cls(DROP, session_id)

    @classmethod
    def keys_changed(cls, tenant_id: int) -> SessionMessage:
        return cls(KEYS_CHANGED, int(tenant_id))

    @classmethod
    def policy_changed(cls, tenant_id: int) -> SessionMessage:
        return cls(POLICY_CHANGED, int(tenant_id))

    def to_wire(self) -> str:
        if self.value is None:
            return encode(self.kind, self.subject)
        return encode(self.kind, self.subject, self.value)

    @classmethod
    def from_wire(cls, text: str) -> SessionMessage:
        kind, fields = decode(text, _LAYOUTS, channel="session event")
        return cls(kind, *fields)
