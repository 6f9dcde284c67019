"""The Merkle arithmetic and the stored tree agree with a naive RFC 6962 implementation (sizes 1..70)."""

import hashlib

import pytest

from greenledger.evidence import merkle, tree, verify
from greenledger.evidence.models import Node

from . import rfc6962

MAX_SIZE = 70
LEAVES = [f"leaf {i} 记录".encode() for i in range(MAX_SIZE)]
LEAF_HASHES = [rfc6962.sha256(b"\x00" + data) for data in LEAVES]


def frontier_over(count):
    frontier = merkle.Frontier()
    for digest in LEAF_HASHES[:count]:
        frontier.append(digest)
    return frontier


def test_leaf_and_node_hashes_use_rfc6962_prefixes():
    assert merkle.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert merkle.node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert merkle.EMPTY_ROOT == rfc6962.mth([])


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_frontier_root_is_rfc_root(size):
    assert frontier_over(size).root() == rfc6962.mth(LEAVES[:size])


def subtree_from_leaves(piece):
    level, index = piece
    return rfc6962.mth(LEAVES[index << level : (index + 1) << level])


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_audit_paths_for_every_leaf_match_rfc(size):
    for index in range(size):
        ranges = merkle.inclusion_ranges(index, size)
        audit_path = merkle.range_hashes(ranges, subtree_from_leaves)
        expected = rfc6962.path(index, LEAVES[:size])
        assert audit_path == expected, (index, size)
        root = rfc6962.mth(LEAVES[:size])
        assert merkle.verify_inclusion(LEAF_HASHES[index], index, size, audit_path, root)
        assert verify.root_from_audit_path(LEAF_HASHES[index], index, size, audit_path) == root


@pytest.mark.parametrize("new_size", range(1, MAX_SIZE + 1))
def test_consistency_proofs_for_all_pairs_match_rfc(new_size):
    new_root = rfc6962.mth(LEAVES[:new_size])
    for old_size in range(1, new_size + 1):
        ranges = merkle.consistency_ranges(old_size, new_size)
        consistency = merkle.range_hashes(ranges, subtree_from_leaves)
        assert consistency == rfc6962.proof(old_size, LEAVES[:new_size]), (old_size, new_size)
        old_root = rfc6962.mth(LEAVES[:old_size])
        assert merkle.verify_consistency(old_size, new_size, old_root, new_root, consistency)


def test_frontier_completes_the_aligned_subtrees():
    frontier = merkle.Frontier()
    for index, digest in enumerate(LEAF_HASHES):
        for level, at, node in frontier.append(digest):
            assert node == subtree_from_leaves((level, at))
            assert ((at + 1) << level) - 1 == index


def test_wrong_proofs_are_rejected():
    size, index = 13, 5
    root = rfc6962.mth(LEAVES[:size])
    audit_path = rfc6962.path(index, LEAVES[:size])
    assert not merkle.verify_inclusion(LEAF_HASHES[index + 1], index, size, audit_path, root)
    assert not merkle.verify_inclusion(LEAF_HASHES[index], index + 1, size, audit_path, root)
    assert not merkle.verify_inclusion(LEAF_HASHES[index], index, size, audit_path[:-1], root)
    consistency = rfc6962.proof(6, LEAVES[:size])
    assert not merkle.verify_consistency(6, size, rfc6962.mth(LEAVES[:7]), root, consistency)


def test_unaligned_ranges_are_refused():
    with pytest.raises(ValueError):
        merkle.aligned_subtrees(3, 6)
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(5, 5)


@pytest.mark.django_db
def test_stored_tree_serves_rfc_roots_and_proofs_for_all_sizes():
    for index, digest in enumerate(LEAF_HASHES):
        tree.append_leaves([("test.synthetic", str(index), digest)])
    for size in range(1, MAX_SIZE + 1):
        data = LEAVES[:size]
        assert tree.root_hash(size) == rfc6962.mth(data)
        for index in range(size):
            audit_path, root = tree.inclusion_proof(index, size)
            assert audit_path == rfc6962.path(index, data)
            assert rfc6962.root_from_path(LEAVES[index], index, size, audit_path) == root
        for old_size in range(1, size + 1):
            consistency, old_root, new_root = tree.consistency_proof(old_size, size)
            assert consistency == rfc6962.proof(old_size, data)
            assert (old_root, new_root) == (rfc6962.mth(LEAVES[:old_size]), rfc6962.mth(data))


@pytest.mark.django_db
def test_bulk_append_stores_the_same_nodes_as_single_appends():
    for index, digest in enumerate(LEAF_HASHES[:37]):
        tree.append_leaves([("test.one", str(index), digest)])
    singles = sorted(Node.objects.values_list("id", "hash"))
    Node.objects.all()._raw_delete(Node.objects.db)
    from greenledger.evidence.models import Leaf, LogHead

    Leaf.objects.all()._raw_delete(Leaf.objects.db)
    LogHead.objects.update(size=0, frontier=b"")
    tree.append_leaves([("test.bulk", str(i), digest) for i, digest in enumerate(LEAF_HASHES[:37])])
    assert sorted(Node.objects.values_list("id", "hash")) == singles
    assert tree.root_hash(37) == rfc6962.mth(LEAVES[:37])


@pytest.mark.django_db
def test_sizes_beyond_the_log_are_refused():
    tree.append_leaves([("test.synthetic", str(i), digest) for i, digest in enumerate(LEAF_HASHES[:5])])
    with pytest.raises(ValueError):
        tree.root_hash(6)
    with pytest.raises(ValueError):
        tree.inclusion_proof(2, 9)
    with pytest.raises(ValueError):
        tree.consistency_proof(3, 6)
