"""Inclusion and consistency proofs from the stored tree, in O(log n).

A proof is made of the hashes of O(log n) leaf ranges (`merkle.inclusion_ranges` /
`merkle.consistency_ranges`), each made of at most log2(n) perfect subtrees: leaf
hashes from the entry table (level 0) and nodes from the node table (level >= 1). One
query per table fetches them all; the roots of the sizes asked about are the `root_hash`
of the entries at seq size-1, read by the same query (one round trip in all on
PostgreSQL, in plain SQL: see `store`). Before answering, the proof is
verified against those roots: a store changed behind the application's back yields an
`AuditStoreInconsistent` error, never a proof that does not verify.
"""

from __future__ import annotations

from audit_mgr import merkle, store
from audit_mgr.exceptions import AuditError, AuditStoreInconsistent
from audit_mgr.logs import Log
from audit_mgr.sequencer import sequence_pending


def current_size(log: Log) -> int:
    return store.head_size(log)


def _size_for(log: Log, largest: int | None, sequence_first: bool) -> int:
    """The log's size. With `sequence_first`, complete for the question: proofs of the
    current tree (or of a size the head has not reached) sequence what is pending
    first; proofs of an earlier size, the usual question of a client holding a signed
    head, need not. Without (the API's GETs, which never write), the sequenced size:
    pending entries join it when the sequencer runs, within seconds."""
    size = current_size(log)
    if sequence_first and (largest is None or largest > size):
        sequence_pending(log)
        size = current_size(log)
    return size


def _beyond(log: Log, need: str, available: int) -> AuditError:
    pending = log.pending().count()
    if not pending:
        return AuditError(f"need {need} <= {available}")
    return AuditError(
        f"need {need} <= {available}, the sequenced size; {pending} entries are pending: "
        "the sequencer numbers them within seconds, ask again then"
    )


def fetch(log: Log, nodes: set[merkle.Node], root_sizes=()) -> tuple[dict, dict]:
    """The stored hashes of `nodes` ((level, index); level 0 is a leaf) and the roots
    of `root_sizes`, in one round trip (PostgreSQL)."""
    stored, by_seq = store.read_tree(log, nodes, {size - 1 for size in root_sizes})
    lookup = {node: stored[node] for node in nodes if node in stored}
    roots = {seq + 1: root for seq, root in by_seq.items()}
    missing = sorted(nodes - lookup.keys())
    if missing:
        level, index = missing[0]
        what = f"entry #{index}" if level == 0 else f"node (level {level}, index {index})"
        raise AuditStoreInconsistent(f"{what} is missing from the stored tree: run verify_audit")
    lost = [size for size in root_sizes if size not in roots]
    if lost:
        raise AuditStoreInconsistent(f"entry #{lost[0] - 1} is missing: run verify_audit")
    return lookup, roots


def inclusion(log: Log, index: int, size: int) -> tuple[bytes, list[bytes], bytes]:
    """(leaf hash, PATH(index, D[size]), root of size) from the store, checked."""
    ranges = merkle.inclusion_ranges(index, size)
    lookup, roots = fetch(log, merkle.nodes_for(ranges) | {(0, index)}, (size,))
    leaf, proof, root = lookup[(0, index)], merkle.assemble(ranges, lookup), roots[size]
    if not merkle.verify_inclusion(leaf, index, size, proof, root):
        raise AuditStoreInconsistent(
            f"the stored tree does not prove entry #{index} in size {size}: run verify_audit"
        )
    return leaf, proof, root


def consistency(log: Log, first: int, second: int) -> tuple[bytes, bytes, list[bytes]]:
    """(root of first, root of second, PROOF(first, D[second])) from the store, checked."""
    ranges = merkle.consistency_ranges(first, second)
    lookup, roots = fetch(log, merkle.nodes_for(ranges), (first, second))
    proof = merkle.assemble(ranges, lookup)
    if not merkle.verify_consistency(first, second, roots[first], roots[second], proof):
        raise AuditStoreInconsistent(
            f"the stored tree does not prove size {first} consistent with {second}: "
            "run verify_audit"
        )
    return roots[first], roots[second], proof


def prove_inclusion(
    log: Log, index: int, size: int | None = None, *, sequence_first: bool = True
) -> dict:
    available = _size_for(log, size, sequence_first)
    size = available if size is None else size
    if not (0 <= index < size <= available):
        raise _beyond(log, "0 <= index < tree_size", available)
    leaf, proof, root = inclusion(log, index, size)
    return {
        "index": index,
        "tree_size": size,
        "leaf_hash": leaf.hex(),
        "root_hash": root.hex(),
        "proof": [h.hex() for h in proof],
    }


def prove_consistency(
    log: Log, first: int, second: int | None = None, *, sequence_first: bool = True
) -> dict:
    available = _size_for(log, second, sequence_first)
    second = available if second is None else second
    if not (0 < first <= second <= available):
        raise _beyond(log, "0 < first <= second", available)
    first_root, second_root, proof = consistency(log, first, second)
    return {
        "first": first,
        "second": second,
        "first_root": first_root.hex(),
        "second_root": second_root.hex(),
        "proof": [h.hex() for h in proof],
    }
