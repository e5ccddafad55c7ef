"""Reads of the security domain (API, console, facade)."""

from __future__ import annotations

import base64

import audit_mgr as audit
from kms import get_master_key_provider
from kms.signing import signing_keys
from security_mgr import crypto, keyring
from security_mgr.models import KeyRing


def public_keys(tenant_id: int) -> dict:
    provider = get_master_key_provider()
    x_pub, k_pub = crypto.hybrid_keypair(provider, keyring.kem_owner(tenant_id)).public_bytes()
    return {
        "wrapping": {
            "algorithm": crypto.WRAP_HYBRID,
            "x25519": base64.b64encode(x_pub).decode(),
            "ml_kem_768": base64.b64encode(k_pub).decode(),
        },
        "tree_head_signing": signing_keys(provider).public(),
    }


def key_rings() -> list[dict]:
    return [
        {
            "subject": ring.subject,
            "current_version": ring.current_version,
            "min_decryption_version": ring.min_decryption_version,
            "min_available_version": ring.min_available_version,
            "shredded": ring.shredded_at is not None,
            "rotated_at": ring.rotated_at,
        }
        for ring in KeyRing.objects.order_by("subject")
    ]


def audit_status(log: audit.Log | None = None) -> dict:
    log = log or audit.tenant_log()
    head = log.heads().order_by("-tree_size", "-id").first()
    return {
        "size": audit.current_size(log),
        "pending": audit.pending_status(log),
        "last_signed_head": None
        if head is None
        else {"tree_size": head.tree_size, "signed_at": head.signed_at},
    }
