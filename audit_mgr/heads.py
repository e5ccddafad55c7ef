"""Signed tree heads (Ed25519 and ML-DSA-65) and signed receipts."""

from __future__ import annotations

import datetime as dt
import json
import struct

from django.db import transaction
from django.utils import timezone

from audit_mgr import merkle, store
from audit_mgr.logs import Log, micros, tenant_log
from audit_mgr.sequencer import drain_locked
from kms import get_master_key_provider
from kms.signing import signing_keys


def tree_head_message(log_label: str, size: int, root: bytes, signed_at: dt.datetime) -> bytes:
    return (
        b"dim/sth/v1\0"
        + log_label.encode()
        + b"\0"
        + struct.pack(">QQ", size, micros(signed_at))
        + root
    )


def sign_tree_head(log: Log | None = None, *, only_if_moved: bool = False):
    """Sequence what is pending, then sign the log's root (Ed25519 and ML-DSA-65) and
    store the head, under one hold of the log's sequencing lock. The head row must carry
    the sequencer's seal (`store.read_head` refuses it otherwise), so a row appended by
    hand is never signed. `only_if_moved` (beat, every minute): when the latest signed
    head already covers the log, return it instead of signing the same size again."""
    log = log or tenant_log()
    keys = signing_keys(get_master_key_provider())
    store.check_scope(log)
    with transaction.atomic(using=store.connection_for(log).alias):
        store.lock(log)
        drain_locked(log)
        size, frontier = store.read_head(log)
        root = merkle.frontier_root(frontier)
        if only_if_moved:
            latest = log.heads().order_by("-tree_size", "-id").first()
            if latest is not None and latest.tree_size == size:
                return latest
        now = timezone.now()
        sig_ed, sig_ml = keys.sign(tree_head_message(log.label, size, root, now))
        return log.sth_model.objects.create(
            tree_size=size,
            root_hash=root,
            signed_at=now,
            key_id=keys.key_id,
            sig_ed25519=sig_ed,
            sig_mldsa65=sig_ml,
        )


def verify_tree_head_signature(log: Log, sth) -> bool:
    keys = signing_keys(get_master_key_provider())
    message = tree_head_message(log.label, sth.tree_size, bytes(sth.root_hash), sth.signed_at)
    return sth.key_id == keys.key_id and keys.verify(
        message, bytes(sth.sig_ed25519), bytes(sth.sig_mldsa65)
    )


def sign_receipt(payload: dict) -> dict:
    """Signatures over a receipt's canonical JSON (crypto-shredding receipts)."""
    keys = signing_keys(get_master_key_provider())
    message = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    sig_ed, sig_ml = keys.sign(message)
    return {"key_id": keys.key_id, "ed25519": sig_ed.hex(), "ml_dsa_65": sig_ml.hex()}


def verify_receipt(payload: dict, signature: dict) -> bool:
    keys = signing_keys(get_master_key_provider())
    message = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    try:
        return signature["key_id"] == keys.key_id and keys.verify(
            message, bytes.fromhex(signature["ed25519"]), bytes.fromhex(signature["ml_dsa_65"])
        )
    except (KeyError, TypeError, ValueError):
        return False
