"""The tamper-evident audit log: appends, signed tree heads, proofs and verification.

Each tenant has its own RFC 6962 log (hashing in `security_mgr.merkle`); the platform
log holds events that happen with no tenant, such as uses of `platform_access()`.
An entry's leaf is SHA-256(0x00 || data), where `data` is the canonical JSON of the
entry (log, seq, event, actor, time, payload); the entry also stores the root of the
tree after it. Verification recomputes everything from `data` alone and checks every
signed tree head, so an edit made with database access is caught even when the editor
recomputed the stored hashes: the signatures need the master key.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from security_mgr import merkle
from security_mgr.crypto import signing_keys
from security_mgr.exceptions import AuditError
from security_mgr.keys import get_master_key_provider
from security_mgr.merkle import (  # noqa: F401  (the audit API in one place)
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from tenancy.context import require_tenant_id

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Log:
    label: str  # "tenant:<id>" or "platform"
    tenant_id: int | None
    entry_model: type
    head_model: type
    sth_model: type

    def entries(self):
        return self.entry_model.objects.all()

    def heads(self):
        return self.sth_model.objects.all()


def tenant_log(tenant_id: int | None = None) -> Log:
    from security_mgr.models import AuditEntry, AuditLogHead, SignedTreeHead

    tenant_id = tenant_id or require_tenant_id("the tenant audit log")
    return Log(f"tenant:{tenant_id}", tenant_id, AuditEntry, AuditLogHead, SignedTreeHead)


def platform_log() -> Log:
    from security_mgr.models import PlatformAuditEntry, PlatformLogHead, PlatformTreeHead

    return Log("platform", None, PlatformAuditEntry, PlatformLogHead, PlatformTreeHead)


def _micros(moment: dt.datetime) -> int:
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


def canonical_data(
    log: Log, seq: int, event: str, actor: str, at: dt.datetime, payload: dict
) -> str:
    return json.dumps(
        {
            "v": 1,
            "log": log.label,
            "seq": seq,
            "event": event,
            "actor": actor,
            "at_us": _micros(at),
            "payload": payload,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
    )


def _locked_head(log: Log):
    head = log.head_model.objects.select_for_update().first()
    if head is None:
        with transaction.atomic():  # savepoint: a concurrent creator wins, we re-read
            try:
                log.head_model.objects.create()
            except IntegrityError:  # a concurrent creator won the race: read theirs
                pass
        head = log.head_model.objects.select_for_update().first()
    return head


def append_many(items: list[tuple[str, dict]], *, actor: str = "", log: Log | None = None) -> list:
    """Append `(event, payload)` items in one transaction, under the log's head lock."""
    log = log or tenant_log()
    now = timezone.now()
    with transaction.atomic():
        head = _locked_head(log)
        size = head.size
        frontier = [bytes.fromhex(h) for h in head.frontier]
        rows = []
        for event, payload in items:
            data = canonical_data(log, size, event, actor, now, payload or {})
            leaf = merkle.leaf_hash(data.encode())
            frontier = merkle.frontier_append(frontier, size, leaf)
            rows.append(
                log.entry_model(
                    seq=size,
                    event=event,
                    actor=actor[:150],
                    created_at=now,
                    data=data,
                    leaf_hash=leaf,
                    root_hash=merkle.frontier_root(frontier),
                )
            )
            size += 1
        log.entry_model.objects.bulk_create(rows)
        head.size = size
        head.frontier = [h.hex() for h in frontier]
        head.root_hash = merkle.frontier_root(frontier)
        head.save(update_fields=["size", "frontier", "root_hash", "updated_at"])
    return rows


def append(event: str, payload: dict | None = None, *, actor: str = "", log: Log | None = None):
    return append_many([(event, payload or {})], actor=actor, log=log)[0]


# --- signed tree heads --------------------------------------------------------------


def tree_head_message(log_label: str, size: int, root: bytes, signed_at: dt.datetime) -> bytes:
    return (
        b"dim/sth/v1\0"
        + log_label.encode()
        + b"\0"
        + struct.pack(">QQ", size, _micros(signed_at))
        + root
    )


def sign_tree_head(log: Log | None = None):
    """Sign the log's current root (Ed25519 and ML-DSA-65) and store the head."""
    log = log or tenant_log()
    keys = signing_keys(get_master_key_provider())
    with transaction.atomic():
        head = _locked_head(log)
        root = bytes(head.root_hash) if head.size else merkle.EMPTY_ROOT
        now = timezone.now()
        sig_ed, sig_ml = keys.sign(tree_head_message(log.label, head.size, root, now))
        return log.sth_model.objects.create(
            tree_size=head.size,
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


# --- proofs over stored entries ------------------------------------------------------


def _leaves(log: Log, size: int) -> list[bytes]:
    leaves = [
        bytes(h)
        for h in log.entries()
        .filter(seq__lt=size)
        .values_list("leaf_hash", flat=True)
        .order_by("seq")
    ]
    if len(leaves) != size:
        raise AuditError(f"the log holds {len(leaves)} entries, not {size}")
    return leaves


def current_size(log: Log) -> int:
    head = log.head_model.objects.first()
    return head.size if head else 0


def prove_inclusion(log: Log, index: int, size: int | None = None) -> dict:
    size = current_size(log) if size is None else size
    if not (0 <= index < size <= current_size(log)):
        raise AuditError(f"need 0 <= index < tree_size <= {current_size(log)}")
    leaves = _leaves(log, size)
    return {
        "index": index,
        "tree_size": size,
        "leaf_hash": leaves[index].hex(),
        "root_hash": merkle.root(leaves).hex(),
        "proof": [h.hex() for h in merkle.inclusion_proof(leaves, index)],
    }


def prove_consistency(log: Log, first: int, second: int | None = None) -> dict:
    second = current_size(log) if second is None else second
    if not (0 < first <= second <= current_size(log)):
        raise AuditError(f"need 0 < first <= second <= {current_size(log)}")
    leaves = _leaves(log, second)
    return {
        "first": first,
        "second": second,
        "first_root": merkle.root(leaves[:first]).hex(),
        "second_root": merkle.root(leaves).hex(),
        "proof": [h.hex() for h in merkle.consistency_proof(leaves, first)],
    }


# --- verification ------------------------------------------------------------------


@dataclass
class Verification:
    log: str
    entries: int = 0
    heads_checked: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None
    root_hash: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, seq: int | None, message: str) -> None:
        if self.first_bad_seq is None and seq is not None:
            self.first_bad_seq = seq
        self.problems.append(message)


def verify_log(log: Log) -> Verification:
    """Recompute the whole tree from the entries' data and name the first entry that
    was altered, inserted or removed; then check every signed tree head against it."""
    report = Verification(log.label)
    leaves: list[bytes] = []
    frontier: list[bytes] = []
    roots: dict[int, bytes] = {}
    previous_id = None
    rows = (
        log.entries()
        .order_by("seq", "id")
        .values_list("id", "seq", "event", "data", "leaf_hash", "root_hash")
    )
    for row_id, seq, event, data, stored_leaf, stored_root in rows.iterator(chunk_size=5000):
        expected = len(leaves)
        if report.problems:
            break
        if seq > expected:
            report.fail(expected, f"entry #{expected} was removed (the next entry is #{seq})")
            break
        if seq < expected:
            report.fail(seq, f"entry #{seq} (row id {row_id}) was inserted: seq #{seq} repeats")
            break
        if previous_id is not None and row_id < previous_id:
            report.fail(
                seq, f"entry #{seq} (row id {row_id}) was inserted: it was written after #{seq + 1}"
            )
            break
        previous_id = row_id
        try:
            parsed = json.loads(data)
            consistent = (
                parsed.get("seq") == seq
                and parsed.get("event") == event
                and parsed.get("log") == log.label
            )
        except (ValueError, AttributeError):
            consistent = False
        leaf = merkle.leaf_hash(data.encode())
        if not consistent or leaf != bytes(stored_leaf):
            report.fail(
                seq,
                f"entry #{seq} (row id {row_id}) was altered: its data does not hash to its leaf",
            )
            break
        frontier = merkle.frontier_append(frontier, expected, leaf)
        root = merkle.frontier_root(frontier)
        if root != bytes(stored_root):
            report.fail(
                seq,
                f"entry #{seq} (row id {row_id}) was altered or inserted: "
                "the tree root after it differs",
            )
            break
        leaves.append(leaf)
        roots[expected + 1] = root
    report.entries = len(leaves)
    report.root_hash = merkle.frontier_root(frontier).hex()
    head = log.head_model.objects.first()
    if not report.problems and head is not None and head.size > len(leaves):
        report.fail(
            len(leaves),
            f"entries #{len(leaves)}..#{head.size - 1} were removed (the head says {head.size})",
        )
    last_good = 0  # largest size whose signed root the recomputed tree reproduces
    for sth in log.heads().order_by("tree_size", "id"):
        report.heads_checked += 1
        if not verify_tree_head_signature(log, sth):
            report.fail(None, f"signed tree head {sth.pk} (size {sth.tree_size}): bad signature")
            continue
        size = sth.tree_size
        if size == 0:
            continue
        if size > len(leaves):
            if not report.problems:
                report.fail(
                    len(leaves),
                    f"entries from #{len(leaves)} were removed: a signed head covers {size}",
                )
            continue
        if roots[size] == bytes(sth.root_hash):
            last_good = max(last_good, size)
        else:
            # The stored hashes were recomputed along with the edit, so only the signed
            # roots pin it down: it lies between the last head that still matches and
            # this one.
            report.fail(
                last_good,
                f"an entry in #{last_good}..#{size - 1} was altered, inserted or removed "
                f"with its hashes recomputed: signed tree head {sth.pk} (size {size}) "
                "no longer matches",
            )
    return report
