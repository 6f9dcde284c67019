"""Merkle tree arithmetic of RFC 6962 (Certificate Transparency), without any storage.

The tree over leaves D[0:n] is MTH(D[n]): the hash of the empty string for n = 0,
SHA-256(0x00 || d) for one leaf, and SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])) otherwise, with
k the largest power of two smaller than n.

Every hash a proof needs is the MTH of a range D[start:end] where ``start`` is a multiple of a
power of two at least ``end - start``. Such a range splits into *aligned perfect subtrees*
(level, index), covering leaves [index * 2**level, (index + 1) * 2**level), and its hash is the
right fold of theirs. The log stores exactly those aligned subtrees, so this module turns proofs
into lists of ranges, ranges into aligned subtrees, and subtree hashes back into proof hashes.
"""

import hashlib

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def aligned_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """The aligned perfect subtrees (level, index) covering D[start:end], left to right.

    ``start`` must be aligned to a power of two >= ``end - start`` (true for every range RFC 6962
    proofs use), so the pieces follow the bits of the range length, largest first.
    """
    pieces = []
    size = end - start
    position = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size & (1 << level):
            if position % (1 << level):
                raise ValueError(f"range [{start}, {end}) is not aligned")
            pieces.append((level, position >> level))
            position += 1 << level
    return pieces


def fold(hashes: list[bytes]) -> bytes:
    """Right fold of subtree hashes, largest (leftmost) first: MTH of their concatenated leaves."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Ranges whose MTH form the audit path PATH(index, D[size]) of RFC 6962 §2.1.1, leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    ranges = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index - start < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Ranges whose MTH form PROOF(old_size, D[new_size]) of RFC 6962 §2.1.2, in proof order."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    ranges = []
    start, end, m, complete = 0, new_size, old_size, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                ranges.append((start, end))
            break
        k = split_point(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            complete = False
    ranges.reverse()
    return ranges


def subtrees_for(ranges: list[tuple[int, int]]) -> set[tuple[int, int]]:
    return {piece for start, end in ranges for piece in aligned_subtrees(start, end)}


def range_hashes(ranges: list[tuple[int, int]], subtree_hash) -> list[bytes]:
    """MTH of each range, given ``subtree_hash((level, index)) -> bytes``."""
    return [fold([subtree_hash(piece) for piece in aligned_subtrees(start, end)]) for start, end in ranges]


class Frontier:
    """The rightmost perfect subtrees of a growing tree: O(log n) state for O(1) amortised appends."""

    def __init__(self, size: int = 0, hashes: list[bytes] | None = None):
        hashes = list(hashes or [])
        if len(hashes) != size.bit_count():
            raise ValueError(f"a frontier of size {size} has {size.bit_count()} hashes, not {len(hashes)}")
        self.size = size
        self.hashes = hashes

    @classmethod
    def from_bytes(cls, size: int, blob: bytes) -> "Frontier":
        blob = bytes(blob)
        return cls(size, [blob[i : i + 32] for i in range(0, len(blob), 32)])

    def to_bytes(self) -> bytes:
        return b"".join(self.hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return the aligned subtrees (level >= 1, index, hash) it completed."""
        completed = []
        node, level, size = leaf, 0, self.size
        new_size = self.size + 1
        while size & 1:
            node = node_hash(self.hashes.pop(), node)
            level += 1
            size >>= 1
            completed.append((level, (new_size >> level) - 1, node))
        self.hashes.append(node)
        self.size += 1
        return completed

    def root(self) -> bytes:
        return fold(self.hashes)


def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2 check of an audit path."""
    if not 0 <= index < size:
        return False
    fn, sn, result = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and result == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2 check of a consistency proof."""
    if old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not proof:
        return False
    proof = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first hash
        proof.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
