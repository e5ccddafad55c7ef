"""RFC 6962 Merkle tree hashing, proofs and their verification (pure functions).

leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right); the tree of n
leaves splits at the largest power of two below n (RFC 6962 §2.1). Proof generation
follows §2.1.1 (PATH) and §2.1.2 (SUBPROOF); verification follows the iterative
algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2, which accept exactly the proofs §2.1
produces. Verification never raises on bad input: it answers False.
"""

from __future__ import annotations

import hashlib

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: list[bytes]) -> bytes:
    """MTH over leaf *hashes*."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root(leaves[:k]), root(leaves[k:]))


# --- incremental root: the frontier of perfect subtrees ------------------------------


def frontier_append(frontier: list[bytes], size: int, leaf: bytes) -> list[bytes]:
    """The frontier (roots of the perfect subtrees making up a tree of `size` leaves,
    largest first) after appending one leaf hash."""
    frontier = [*frontier, leaf]
    n = size
    while n & 1:  # each trailing 1 bit of the old size is a subtree of the same height
        right = frontier.pop()
        left = frontier.pop()
        frontier.append(node_hash(left, right))
        n >>= 1
    return frontier


def frontier_append_nodes(
    frontier: list[bytes], size: int, leaf: bytes
) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
    """`frontier_append`, also returning the perfect subtrees the new leaf completed, as
    `(level, index, hash)`: node (level, index) covers leaves [index·2^level,
    (index+1)·2^level). One leaf completes on average one node (level >= 1)."""
    frontier = [*frontier, leaf]
    completed = []
    n, level = size, 0
    while n & 1:
        right = frontier.pop()
        left = frontier.pop()
        frontier.append(node_hash(left, right))
        n >>= 1
        level += 1
        completed.append((level, size >> level, frontier[-1]))
    return frontier, completed


def frontier_root(frontier: list[bytes]) -> bytes:
    if not frontier:
        return EMPTY_ROOT
    acc = frontier[-1]
    for h in reversed(frontier[:-1]):
        acc = node_hash(h, acc)
    return acc


# --- proofs -------------------------------------------------------------------------


def inclusion_proof(leaves: list[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} is outside a tree of size {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return inclusion_proof(leaves[:k], index) + [root(leaves[k:])]
    return inclusion_proof(leaves[k:], index - k) + [root(leaves[:k])]


def consistency_proof(leaves: list[bytes], first: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2, n = len(leaves)."""
    n = len(leaves)
    if not 0 < first <= n:
        raise ValueError(f"first size {first} must be in 1..{n}")
    return _subproof(leaves, first, True)


def _subproof(leaves: list[bytes], m: int, whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [root(leaves)]
    k = _split(n)
    if m <= k:
        return _subproof(leaves[:k], m, whole) + [root(leaves[k:])]
    return _subproof(leaves[k:], m - k, False) + [root(leaves[:k])]


# --- proofs from stored subtrees ----------------------------------------------------
#
# Every subtree hash a proof needs is MTH(D[start:end]) of a range that the RFC's
# recursion reaches; such a range starts at a multiple of a power of two at least as
# large as the range, so it is made of at most log2(n) perfect, aligned subtrees (the
# binary digits of its length, largest first). A store that keeps every perfect subtree
# (leaf hashes at level 0, inner nodes at level >= 1) thus answers any proof with
# O(log n) lookups: compute the ranges, fetch their pieces, fold them.

Node = tuple[int, int]  # (level, index)


def range_pieces(start: int, end: int) -> list[Node]:
    """The perfect aligned subtrees making up leaves [start, end), left to right."""
    pieces = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        pieces.append((level, start >> level))
        start += 1 << level
    return pieces


def range_hash(start: int, end: int, lookup: dict[Node, bytes]) -> bytes:
    """MTH(D[start:end]) from the stored pieces (`lookup[(level, index)]`)."""
    pieces = range_pieces(start, end)
    if not pieces:
        return EMPTY_ROOT
    acc = lookup[pieces[-1]]
    for piece in reversed(pieces[:-1]):
        acc = node_hash(lookup[piece], acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs make up PATH(index, D[size]), in proof order."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    ranges = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def consistency_ranges(first: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs make up PROOF(first, D[size]), in proof order."""
    if not 0 < first <= size:
        raise ValueError(f"first size {first} must be in 1..{size}")
    ranges = []
    start, end, m, whole = 0, size, first, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                ranges.append((start, end))
            return ranges[::-1]
        k = _split(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            whole = False


def nodes_for(ranges: list[tuple[int, int]]) -> set[Node]:
    """Every stored subtree the ranges need (level 0: leaf hashes)."""
    return {piece for start, end in ranges for piece in range_pieces(start, end)}


def assemble(ranges: list[tuple[int, int]], lookup: dict[Node, bytes]) -> list[bytes]:
    return [range_hash(start, end, lookup) for start, end in ranges]


def tree_levels(leaves: list[bytes]):
    """Yield (level, hashes) for level 1, 2, ...: the perfect subtrees of the tree over
    `leaves` (what a store of nodes holds), built a level at a time."""
    level, below = 0, leaves
    while len(below) > 1:
        level += 1
        below = [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        yield level, below


# --- verification (RFC 9162 §2.1.3.2, §2.1.4.2) ----------------------------------


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: list[bytes], expected_root: bytes
) -> bool:
    if not (isinstance(index, int) and isinstance(size, int)) or not 0 <= index < size:
        return False
    if any(not isinstance(p, bytes) or len(p) != 32 for p in proof):
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    if not (isinstance(first, int) and isinstance(second, int)) or not 0 < first <= second:
        return False
    if any(not isinstance(p, bytes) or len(p) != 32 for p in proof):
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
