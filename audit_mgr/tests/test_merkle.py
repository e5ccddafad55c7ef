"""RFC 6962 hashing and proofs: known values and property tests of the verifiers."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit_mgr import merkle

LEAVES = st.lists(st.binary(max_size=8), min_size=1, max_size=70)


def _hashes(data):
    return [merkle.leaf_hash(d) for d in data]


def test_hashing_follows_rfc6962_domain_separation():
    assert merkle.leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    # RFC 6962 test vector (certificate-transparency-go): empty-leaf hash.
    assert merkle.leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.root([a, b]) == hashlib.sha256(b"\x01" + a + b).digest()
    three = merkle.root([a, b, a])
    assert three == merkle.node_hash(merkle.node_hash(a, b), a)  # split at 2, not 1
    assert merkle.root([]) == hashlib.sha256(b"").digest()


@given(LEAVES)
def test_incremental_frontier_matches_the_recursive_root(data):
    leaves = _hashes(data)
    frontier = []
    for i, leaf in enumerate(leaves):
        frontier = merkle.frontier_append(frontier, i, leaf)
        assert merkle.frontier_root(frontier) == merkle.root(leaves[: i + 1])


@settings(max_examples=150)
@given(LEAVES, st.data())
def test_inclusion_proofs_verify_and_any_change_fails(data, draw):
    leaves = _hashes(data)
    n = len(leaves)
    index = draw.draw(st.integers(0, n - 1))
    proof = merkle.inclusion_proof(leaves, index)
    root = merkle.root(leaves)
    assert merkle.verify_inclusion(leaves[index], index, n, proof, root)
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), index, n, proof, root)
    if n > 1:
        assert not merkle.verify_inclusion(leaves[index], (index + 1) % n, n, proof, root) or (
            leaves[index] == leaves[(index + 1) % n]
        )
        assert not merkle.verify_inclusion(leaves[index], index, n, proof[:-1], root)
    if proof:
        k = draw.draw(st.integers(0, len(proof) - 1))
        bad = [*proof]
        bad[k] = bytes(32)
        assert not merkle.verify_inclusion(leaves[index], index, n, bad, root)


@settings(max_examples=150)
@given(LEAVES, st.data())
def test_consistency_proofs_verify_and_any_change_fails(data, draw):
    leaves = _hashes(data)
    n = len(leaves)
    m = draw.draw(st.integers(1, n))
    proof = merkle.consistency_proof(leaves, m)
    old, new = merkle.root(leaves[:m]), merkle.root(leaves)
    assert merkle.verify_consistency(m, n, old, new, proof)
    wrong = merkle.node_hash(old, old)  # certainly not the old root
    assert not merkle.verify_consistency(m, n, wrong, new, proof)
    if proof:
        k = draw.draw(st.integers(0, len(proof) - 1))
        bad = [*proof]
        bad[k] = bytes(32)
        assert not merkle.verify_consistency(m, n, old, new, bad)
    if m < n:
        # An old tree that was rewritten is not consistent with the new one.
        rewritten = [merkle.leaf_hash(b"rewritten"), *leaves[1:m]]
        if rewritten[0] != leaves[0]:
            assert not merkle.verify_consistency(m, n, merkle.root(rewritten), new, proof)


@settings(max_examples=300)
@given(
    st.integers(-3, 80),
    st.integers(-3, 80),
    st.lists(st.binary(min_size=0, max_size=40), max_size=10),
    st.binary(max_size=40),
    st.binary(max_size=40),
)
def test_verifiers_never_raise_on_junk(a, b, proof, r1, r2):
    assert merkle.verify_inclusion(r1, a, b, proof, r2) in (True, False)
    assert merkle.verify_consistency(a, b, r1, r2, proof) in (True, False)


# --- proofs from stored subtrees (what the database holds) ---------------------------


def _store(leaves):
    """Every perfect subtree: leaf hashes at level 0, inner nodes above."""
    lookup = {(0, i): h for i, h in enumerate(leaves)}
    for level, hashes in merkle.tree_levels(leaves):
        lookup.update({(level, i): h for i, h in enumerate(hashes)})
    return lookup


@given(LEAVES)
def test_the_nodes_completed_by_appends_are_the_perfect_subtrees(data):
    leaves = _hashes(data)
    frontier, completed = [], {}
    for i, leaf in enumerate(leaves):
        expected = merkle.frontier_append(frontier, i, leaf)
        frontier, nodes = merkle.frontier_append_nodes(frontier, i, leaf)
        assert frontier == expected
        completed.update({(level, index): h for level, index, h in nodes})
    assert completed == {k: v for k, v in _store(leaves).items() if k[0] > 0}
    assert len(completed) == len(leaves) - bin(len(leaves)).count("1")


@settings(max_examples=200)
@given(st.integers(1, 5000), st.data())
def test_stored_node_proofs_equal_the_list_proofs(size, draw):
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    lookup = _store(leaves)
    index = draw.draw(st.integers(0, size - 1))
    first = draw.draw(st.integers(1, size))
    ranges = merkle.inclusion_ranges(index, size)
    needed = merkle.nodes_for(ranges)
    assert len(needed) <= 2 * size.bit_length()  # O(log n) lookups
    assert merkle.assemble(ranges, {k: lookup[k] for k in needed}) == merkle.inclusion_proof(
        leaves, index
    )
    ranges = merkle.consistency_ranges(first, size)
    needed = merkle.nodes_for(ranges)
    assert len(needed) <= 2 * size.bit_length()
    assert merkle.assemble(ranges, {k: lookup[k] for k in needed}) == merkle.consistency_proof(
        leaves, first
    )
    assert merkle.range_hash(0, first, lookup) == merkle.root(leaves[:first])


def test_node_ranges_refuse_impossible_sizes():
    for bad in ((0, 0), (3, 3), (-1, 4)):
        with pytest.raises(ValueError):
            merkle.inclusion_ranges(*bad)
    for bad in ((0, 4), (5, 4)):
        with pytest.raises(ValueError):
            merkle.consistency_ranges(*bad)
