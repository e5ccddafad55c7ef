"""The tamper-evident audit log: appends, sequencing, signed tree heads, proofs and
verification.

Each tenant has its own RFC 6962 log (hashing in `security_mgr.merkle`); the platform
log holds events that happen with no tenant, such as uses of `platform_access()`.
`append()` queues an entry in the caller's transaction; the sequencer numbers queued
entries after commit (see `sequencer`). Entries, stored subtree nodes and signed heads
are verified from the entries' data alone (see `verify`).
"""

from security_mgr.audit.heads import (
    sign_receipt,
    sign_tree_head,
    tree_head_message,
    verify_receipt,
    verify_tree_head_signature,
)
from security_mgr.audit.logs import (
    EPOCH,
    Log,
    canonical_data,
    canonical_payload,
    data_from_parts,
    log_of,
    micros,
    platform_log,
    tenant_log,
)
from security_mgr.audit.proofs import current_size, prove_consistency, prove_inclusion
from security_mgr.audit.sequencer import (
    SEQUENCE_BATCH,
    append,
    append_many,
    entry_of,
    flush,
    pending_status,
    sequence_pending,
    sequence_soon,
)
from security_mgr.audit.verify import Verification, verify_log
from security_mgr.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "EPOCH",
    "SEQUENCE_BATCH",
    "Log",
    "Verification",
    "append",
    "append_many",
    "canonical_data",
    "canonical_payload",
    "consistency_proof",
    "current_size",
    "data_from_parts",
    "entry_of",
    "flush",
    "inclusion_proof",
    "leaf_hash",
    "log_of",
    "node_hash",
    "pending_status",
    "platform_log",
    "prove_consistency",
    "prove_inclusion",
    "sequence_pending",
    "sequence_soon",
    "micros",
    "sign_receipt",
    "sign_tree_head",
    "tenant_log",
    "tree_head_message",
    "verify_consistency",
    "verify_inclusion",
    "verify_log",
    "verify_receipt",
    "verify_tree_head_signature",
]
