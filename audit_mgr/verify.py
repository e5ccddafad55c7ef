"""Verification: recompute the whole tree from the entries' data alone, name the first
entry altered, inserted or removed, and check the entries, the stored subtree nodes, the
head row and every signed tree head against each other.

An edit made with database access is caught even when the editor recomputed the stored
hashes: the signatures need the master key. Nodes are checked too, although a proof
built from a bad node could never verify against a signed head: a bad node would make
proofs fail for every client, so verification names it (level, index and row id).

No blind tail: every entry beyond the head row's sealed size is named (the sequencer
moves and seals the head with every batch, so such an entry was written by someone
else, however carefully its hashes were computed), and so is a head row without the
sequencer's seal or disagreeing with the entries. The entries after the latest signed
head are reported as the unsigned tail (`unsigned`): the seal vouches for them until
the next signed head does (beat signs every minute; docs/audit.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.utils import timezone

from audit_mgr import merkle
from audit_mgr.exceptions import AuditStoreInconsistent
from audit_mgr.heads import verify_tree_head_signature
from audit_mgr.logs import Log
from audit_mgr.seal import seal_matches
from audit_mgr.sequencer import pending_status, sequence_pending

MAX_NODE_PROBLEMS = 5  # a wholesale rewrite of the node table needs no thousand lines
MAX_NAMED_ENTRIES = 10  # entries beyond the head named one by one, then counted


@dataclass
class Verification:
    log: str
    entries: int = 0
    heads_checked: int = 0
    nodes_checked: int = 0
    pending: dict = field(default_factory=dict)  # before verification sequenced them
    problems: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None
    root_hash: str = ""
    recorded_size: int | None = None  # the head row's size (None: no head row)
    signed_size: int = 0  # the latest signed tree head whose signature verifies
    unsigned: dict = field(default_factory=dict)  # entries after it: count, from, to
    head_sealed: bool = True

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, seq: int | None, message: str) -> None:
        if self.first_bad_seq is None and seq is not None:
            self.first_bad_seq = seq
        self.problems.append(message)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "signed_heads_checked": self.heads_checked,
            "nodes_checked": self.nodes_checked,
            "pending_before": self.pending,
            "root_hash": self.root_hash,
            "first_bad_seq": self.first_bad_seq,
            "recorded_size": self.recorded_size,
            "signed_size": self.signed_size,
            "unsigned": self.unsigned,
            "problems": self.problems,
        }


def verify_log(log: Log, *, sequence_first: bool = True) -> Verification:
    """Sequence what is pending (unless `sequence_first` is False: the API's GET, which
    never writes, verifies what is sequenced and reports the rest as pending), then
    recompute the whole tree from the entries' data; check the head row, the nodes and
    every signed tree head against it."""
    report = Verification(log.label, pending=pending_status(log, timezone.now()))
    if report.pending["count"] and not sequence_first:
        report.pending["left_pending"] = True
    elif report.pending["count"]:
        try:
            sequence_pending(log)
        except AuditStoreInconsistent:
            # The sequencer refuses a head row it did not seal; the check below names it.
            report.pending["left_pending"] = True
    heads = list(log.heads().order_by("tree_size", "id"))
    head = log.head_model.objects.first()
    wanted_roots = {sth.tree_size for sth in heads} | {head.size if head else 0}
    leaves, roots, row_ids, complete = _verify_entries(log, report, wanted_roots)
    recorded = _verify_head_row(log, head, leaves, roots, row_ids, report, complete)
    _verify_nodes(log, leaves[:recorded], report, complete=complete)
    _verify_heads(log, heads, leaves, roots, report)
    _report_unsigned(log, report, recorded, row_ids)
    return report


def _verify_head_row(log, head, leaves, roots, row_ids, report, complete: bool) -> int:
    """Check the head row against the entries; returns the size up to which the entries
    are the sequencer's (the head row's size when it holds, else what the entries show)."""
    size = len(leaves)
    report.recorded_size = head.size if head is not None else None
    if head is None:
        if size:
            report.head_sealed = False
            report.fail(0, f"the head row is missing, although the log holds {size} entries")
        return size
    frontier = [bytes.fromhex(h) for h in head.frontier or []]
    report.head_sealed = seal_matches(
        log.label, head.size, merkle.frontier_root(frontier), head.seal
    )
    if not report.head_sealed:
        report.fail(
            None,
            f"the head row (size {head.size}) does not carry the sequencer's seal: it was "
            "written outside the application",
        )
    if not complete:
        return min(size, head.size)
    if head.size > size:
        report.fail(
            size, f"entries #{size}..#{head.size - 1} were removed (the head says {head.size})"
        )
        return size
    for seq in range(head.size, min(size, head.size + MAX_NAMED_ENTRIES)):
        report.fail(
            seq,
            f"entry #{seq} (row id {row_ids[seq]}) is beyond the head row's size "
            f"{head.size}: it was not written by the sequencer",
        )
    if size - head.size > MAX_NAMED_ENTRIES:
        report.fail(None, f"... {size - head.size - MAX_NAMED_ENTRIES} more entries beyond it")
    root = roots.get(head.size, merkle.EMPTY_ROOT)
    if root != bytes(head.root_hash) or root != merkle.frontier_root(frontier):
        report.fail(
            None,
            f"the head row (size {head.size}) disagrees with the entries: its root or "
            f"frontier is not the tree of entries #0..#{head.size - 1}",
        )
    return head.size


def _report_unsigned(log: Log, report: Verification, recorded: int, row_ids) -> None:
    """The entries after the latest signed head: vouched for by the head row's seal
    only, until the next signing (docs/audit.md: what an attacker with the owner role can do).
    Without a valid seal nothing vouches for them: each is named."""
    count = max(recorded - report.signed_size, 0)
    report.unsigned = {"count": count}
    if not report.head_sealed:
        last = min(recorded, len(row_ids), report.signed_size + MAX_NAMED_ENTRIES)
        for seq in range(report.signed_size, last):
            report.fail(
                seq,
                f"entry #{seq} (row id {row_ids[seq]}) is covered by no signed head and by "
                "no sealed head row: it cannot be told from a forgery",
            )
    if count:
        first = log.entries().filter(seq=report.signed_size).values_list("created_at").first()
        report.unsigned.update(
            {
                "from": report.signed_size,
                "to": recorded - 1,
                "oldest_at": first[0].isoformat() if first else None,
            }
        )


def _verify_entries(log: Log, report: Verification, wanted_roots: set[int]):
    leaves: list[bytes] = []
    row_ids: list[int] = []
    frontier: list[bytes] = []
    roots: dict[int, bytes] = {}
    complete = True
    previous_id = None
    rows = (
        log.entries()
        .order_by("seq", "id")
        .values_list("id", "seq", "event", "data", "leaf_hash", "root_hash")
    )
    for row_id, seq, event, data, stored_leaf, stored_root in rows.iterator(chunk_size=5000):
        expected = len(leaves)
        complete = False  # until this entry checks out
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
        row_ids.append(row_id)
        complete = True
        if expected + 1 in wanted_roots:
            roots[expected + 1] = root
    report.entries = len(leaves)
    report.root_hash = merkle.frontier_root(frontier).hex()
    return leaves, roots, row_ids, complete


class _NodeCheck:
    """Walks the stored nodes in (level, index) order next to the recomputed levels."""

    def __init__(self, leaves: list[bytes], report: Verification, complete: bool):
        self.levels = merkle.tree_levels(leaves)
        self.size = len(leaves)
        self.level, self.expected, self.next_index = 0, leaves, 0
        self.report, self.complete, self.count = report, complete, 0

    def problem(self, message: str) -> None:
        self.count += 1
        if self.count <= MAX_NODE_PROBLEMS:
            self.report.fail(None, message)

    def advance(self) -> bool:
        """Close the current level (what was not seen is missing); go one level up."""
        if self.level and self.next_index < len(self.expected):
            self.problem(
                f"node (level {self.level}, index {self.next_index}) is missing"
                + (
                    f" (and {len(self.expected) - self.next_index - 1} more at that level)"
                    if len(self.expected) - self.next_index > 1
                    else ""
                )
            )
        step = next(self.levels, None)
        if step is None:
            self.level, self.expected = self.level + 1, []
            return False
        self.level, self.expected = step
        self.next_index = 0
        return True

    def row(self, row_id: int, level: int, index: int, stored: bytes) -> None:
        while self.level < level:
            self.advance()
        if index >= len(self.expected):
            if self.complete:
                self.problem(
                    f"node (level {level}, index {index}, row id {row_id}) was inserted: "
                    f"the tree of {self.size} entries has no such node"
                )
            return
        if index > self.next_index:
            self.problem(f"node (level {level}, index {self.next_index}) is missing")
        self.next_index = index + 1
        self.report.nodes_checked += 1
        if stored != self.expected[index]:
            first, last = index << level, ((index + 1) << level) - 1
            self.problem(
                f"node (level {level}, index {index}, row id {row_id}) was altered: it "
                "differs from the tree recomputed from the entries (unless an entry in "
                f"#{first}..#{last} was altered with its hashes recomputed)"
            )


def _verify_nodes(log: Log, leaves: list[bytes], report: Verification, complete: bool) -> None:
    check = _NodeCheck(leaves, report, complete)
    rows = log.nodes().order_by("level", "index").values_list("id", "level", "index", "hash")
    for row_id, level, index, stored in rows.iterator(chunk_size=5000):
        if level < 1:
            check.problem(f"node (level {level}, index {index}, row id {row_id}) was inserted")
            continue
        check.row(row_id, level, index, bytes(stored))
    while check.advance():
        pass
    if check.count > MAX_NODE_PROBLEMS:
        report.fail(None, f"... {check.count - MAX_NODE_PROBLEMS} more node problems")


def _verify_heads(log, heads, leaves, roots, report: Verification) -> None:
    last_good = 0  # largest size whose signed root the recomputed tree reproduces
    for sth in heads:
        report.heads_checked += 1
        if not verify_tree_head_signature(log, sth):
            report.fail(None, f"signed tree head {sth.pk} (size {sth.tree_size}): bad signature")
            continue
        size = sth.tree_size
        report.signed_size = max(report.signed_size, size)
        if size == 0:
            continue
        if size > len(leaves):
            if report.first_bad_seq is None:
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
