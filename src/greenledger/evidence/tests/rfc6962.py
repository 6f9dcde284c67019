"""An independent, deliberately naive RFC 6962 reference for the tests (recursion on lists, as in §2.1).

Nothing here is shared with ``greenledger.evidence.merkle``: the point is to check that code against
the RFC's own definitions.
"""

import hashlib


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) over the leaf *data* (not hashes)."""
    if len(leaves) == 0:
        return sha256(b"")
    if len(leaves) == 1:
        return sha256(b"\x00" + leaves[0])
    k = largest_power_of_two_below(len(leaves))
    return sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of §2.1.1."""
    if len(leaves) == 1:
        return []
    k = largest_power_of_two_below(len(leaves))
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return subproof(m, leaves[:k], complete) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def proof(m: int, leaves: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of §2.1.2 (0 < m <= n)."""
    return subproof(m, leaves, True)


def root_from_path(leaf_data: bytes, m: int, n: int, audit_path: list[bytes]) -> bytes:
    """Recompute the root from a leaf and its audit path by retracing the RFC recursion."""

    def walk(m, n, items):
        if n == 1:
            assert not items, "audit path too long"
            return sha256(b"\x00" + leaf_data)
        k = largest_power_of_two_below(n)
        sibling, rest = items[-1], items[:-1]
        if m < k:
            return sha256(b"\x01" + walk(m, k, rest) + sibling)
        return sha256(b"\x01" + sibling + walk(m - k, n - k, rest))

    return walk(m, n, list(audit_path))
