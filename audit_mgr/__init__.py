"""The tamper-evident audit log (a service every app appends to): appends, sequencing,
signed tree heads, proofs and verification.

Each tenant has its own RFC 6962 log (hashing in `audit_mgr.merkle`); the platform log
holds events that happen with no tenant, such as uses of `platform_access()`.
`append()` queues an entry in the caller's transaction; the sequencer numbers queued
entries after commit (see `sequencer`). A hot path that writes its own row in one
statement queues its entry in that statement (`queued`). Security events
(`security_events.SecurityEvent`) are recorded with their entry by
`record_security_event` (`event_store`). Entries, stored subtree nodes
and signed heads are verified from the entries' data alone (see `verify`).

The names below are the app's API: `import audit_mgr` (or `from audit_mgr import
append`) and call them. They are loaded on first use, because Django imports this
package before the model registry is ready and the log's modules need the models.

Layering (a service): imports tenancy and kms only. Nothing here imports a feature, the
facades or config; features call it, and the Celery beat schedule names its tasks.
"""

from __future__ import annotations

import importlib

_API = {
    "audit_mgr.event_store": ("record_security_event",),
    "audit_mgr.heads": (
        "sign_receipt",
        "sign_tree_head",
        "tree_head_message",
        "verify_receipt",
        "verify_tree_head_signature",
    ),
    "audit_mgr.logs": (
        "EPOCH",
        "Log",
        "canonical_data",
        "canonical_payload",
        "data_from_parts",
        "log_of",
        "micros",
        "platform_log",
        "tenant_log",
    ),
    "audit_mgr.proofs": ("current_size", "prove_consistency", "prove_inclusion"),
    "audit_mgr.queued": ("QUEUE_COLUMNS", "queue_insert_sql", "queued_values"),
    "audit_mgr.sequencer": (
        "SEQUENCE_BATCH",
        "append",
        "append_many",
        "entry_of",
        "flush",
        "pending_status",
        "sequence_pending",
        "sequence_soon",
    ),
    "audit_mgr.verify": ("Verification", "verify_log"),
    "audit_mgr.merkle": (
        "consistency_proof",
        "inclusion_proof",
        "leaf_hash",
        "node_hash",
        "verify_consistency",
        "verify_inclusion",
    ),
}
_MODULE_OF = {name: module for module, names in _API.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'audit_mgr' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups are plain module attributes
    return value


def __dir__():
    return sorted({*globals(), *__all__})
