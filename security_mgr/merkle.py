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
