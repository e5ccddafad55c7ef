"""`SecurityManager`: the seed's facade over the security manager's actions and
selectors. Every method works in the current tenant context, or in `tenant=` when
given (a Tenant, TenantRef or id). Like every facade (managers/twins.py): the sync form
is `<name>_sync`, the async twin `<name>` (`await manager.encrypt(...)`)."""

from __future__ import annotations

import contextlib
import dataclasses
import functools

from managers.twins import async_twins


def _in_tenant(method):
    @functools.wraps(method)
    def wrapper(self, *args, tenant=None, **kwargs):
        from tenancy.context import tenant_context

        scope = tenant_context(tenant) if tenant is not None else contextlib.nullcontext()
        with scope:
            return method(self, *args, **kwargs)

    return wrapper


@async_twins
class SecurityManager:
    """Key rings, transit encryption, the audit log and threat analysis."""

    # --- keys and transit ---
    @_in_tenant
    def encrypt_sync(self, plaintext: str | bytes, *, context: str) -> str:
        from security_mgr import crypto, keyring
        from tenancy.context import require_tenant_id

        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        aad = crypto.associated_data(require_tenant_id(), "api.transit", "", context)
        return keyring.encrypt(data, aad)

    @_in_tenant
    def decrypt_sync(self, ciphertext: str, *, context: str) -> bytes:
        from security_mgr import crypto, keyring
        from tenancy.context import require_tenant_id

        aad = crypto.associated_data(require_tenant_id(), "api.transit", "", context)
        return keyring.decrypt(ciphertext, aad)

    @_in_tenant
    def rotate_key_sync(self, *, subject: str = "", actor: str = "", reason: str = "") -> int:
        from security_mgr import actions

        return actions.rotate_key(subject=subject, actor=actor, reason=reason).current_version

    @_in_tenant
    def set_min_decryption_version_sync(self, version: int, *, subject: str = "", actor: str = ""):
        from security_mgr import actions

        actions.set_min_decryption_version(version, subject=subject, actor=actor)

    @_in_tenant
    def trim_key_sync(self, min_available_version: int, *, subject: str = "", actor: str = ""):
        from security_mgr import actions

        actions.trim_key(min_available_version, subject=subject, actor=actor)

    @_in_tenant
    def shred_sync(self, *, subject: str | None = None, actor: str = "", reason: str = "") -> dict:
        from security_mgr import actions

        return actions.shred_keys(subject=subject, actor=actor, reason=reason)

    @_in_tenant
    def start_rewrap_sync(self, *, target_version: int | None = None) -> int:
        from security_mgr import rewrap

        # Queued; a worker starts it once the current transaction (if any) commits.
        return rewrap.do_start_rewrap(target_version=target_version).pk

    @_in_tenant
    def key_rings_sync(self) -> list[dict]:
        from security_mgr import selectors

        return selectors.key_rings()

    @_in_tenant
    def public_keys_sync(self) -> dict:
        from security_mgr import selectors
        from tenancy.context import require_tenant_id

        return selectors.public_keys(require_tenant_id())

    # --- audit log ---
    @_in_tenant
    def record_event_sync(self, event: str, payload: dict | None = None, *, actor: str = "") -> int:
        import audit_mgr as audit
        from audit_mgr import actions as audit_actions

        return audit.entry_of(audit_actions.record_event(event, payload, actor=actor)).seq

    @_in_tenant
    def sign_tree_head_sync(self) -> dict:
        from audit_mgr import actions as audit_actions

        head = audit_actions.sign_tree_head()
        return {"tree_size": head.tree_size, "root_hash": bytes(head.root_hash).hex()}

    @_in_tenant
    def inclusion_proof_sync(self, index: int, tree_size: int | None = None) -> dict:
        import audit_mgr as audit

        return audit.prove_inclusion(audit.tenant_log(), index, tree_size)

    @_in_tenant
    def consistency_proof_sync(self, first: int, second: int | None = None) -> dict:
        import audit_mgr as audit

        return audit.prove_consistency(audit.tenant_log(), first, second)

    @_in_tenant
    def verify_audit_sync(self) -> dict:
        import audit_mgr as audit

        report = audit.verify_log(audit.tenant_log())
        return {
            "ok": report.ok,
            "entries": report.entries,
            "first_bad_seq": report.first_bad_seq,
            "problems": report.problems,
        }

    # --- threats ---
    @_in_tenant
    def analyze_threat_sync(self, kind: str, **observation) -> dict:
        from security_mgr.threats import analyze_threat

        return dataclasses.asdict(analyze_threat(kind, **observation))

    @_in_tenant
    def login_allowed_sync(self, username: str, ip: str) -> dict:
        from security_mgr.threats import login_allowed

        return dataclasses.asdict(login_allowed(username, ip))
