"""Merkle trees as RFC 6962 / RFC 9162 define them, for audit checkpoints and their proofs.

leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right); a tree of n leaves splits
at the largest power of two smaller than n. Proof generation follows RFC 6962 §2.1.1–2.1.2
(PATH, SUBPROOF); verification follows RFC 9162 §2.1.3.2 and §2.1.4.2. The test vectors of
transparency-dev/merkle are checked in ``tests/workflow/test_audit_merkle.py``.

This module is pure (no Django): ``verify_evidence`` uses it with nothing but a bundle.
"""

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof does not prove what it claims (or is malformed)."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """All complete subtrees of a list of leaf hashes, kept level by level.

    Every left-hand subtree the RFC recursion asks for is a complete, aligned one, so it is
    a lookup; only the ragged right edge is hashed on demand (O(log² n) per proof).
    """

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.levels: list[Sequence[bytes]] = [leaf_hashes]
        sha256 = hashlib.sha256
        level = leaf_hashes
        while len(level) > 1:
            level = [sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
            self.levels.append(level)

    @classmethod
    def from_leaf_data(cls, leaves: Sequence[bytes]) -> "MerkleTree":
        return cls([leaf_hash(data) for data in leaves])

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def _subtree(self, start: int, end: int) -> bytes:
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            return self.levels[n.bit_length() - 1][start // n]
        k = _split(n)
        return node_hash(self._subtree(start, start + k), self._subtree(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"the tree has {self.size} leaves, not {size}")
        return EMPTY_ROOT if size == 0 else self._subtree(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 6962 PATH(index, D[0:size])."""
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
        proof: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            k = _split(end - start)
            if index < start + k:
                proof.append(self._subtree(start + k, end))
                end = start + k
            else:
                proof.append(self._subtree(start, start + k))
                start += k
        proof.reverse()
        return proof

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """RFC 6962 PROOF(old_size, D[0:new_size])."""
        new_size = self.size if new_size is None else new_size
        if not 0 <= old_size <= new_size <= self.size:
            raise ValueError(f"no consistency proof from {old_size} to {new_size} leaves")
        if old_size in (0, new_size):
            return []
        proof: list[bytes] = []
        start, end, m, whole = 0, new_size, old_size, True
        while m != end - start:
            k = _split(end - start)
            if m <= k:
                proof.append(self._subtree(start + k, end))
                end = start + k
            else:
                proof.append(self._subtree(start, start + k))
                start, m, whole = start + k, m - k, False
        if not whole:
            proof.append(self._subtree(start, end))
        proof.reverse()
        return proof


def root_from_frontier(frontier: Sequence[bytes]) -> bytes:
    """The root from the complete subtrees of a tree, left to right (a 'compact range')."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for left in reversed(frontier[:-1]):
        root = node_hash(left, root)
    return root


def extend_frontier(
    frontier: list[bytes], size: int, leaf_hashes: Sequence[bytes]
) -> tuple[list[bytes], int]:
    """Append leaves to a compact range: a checkpoint costs the new events, not the whole log."""
    frontier = list(frontier)
    sha256 = hashlib.sha256
    for leaf in leaf_hashes:
        node, grown = leaf, size
        # Merge while the new subtree completes a pair: one merge per trailing 1-bit of the size.
        while grown & 1:
            node = sha256(b"\x01" + frontier.pop() + node).digest()
            grown >>= 1
        frontier.append(node)
        size += 1
    return frontier, size


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2; raises ProofError unless ``leaf`` is leaf ``index`` of the tree ``root``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} cannot be in a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise ProofError("the inclusion proof does not lead to the signed root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2; raises ProofError unless tree ``old_root`` is a prefix of ``new_root``."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"a tree of {new_size} leaves cannot extend one of {old_size}")
    if old_size == new_size:
        if proof or old_root != new_root:
            raise ProofError("two trees of one size must have one root and an empty proof")
        return
    if old_size == 0:
        if proof:
            raise ProofError("any tree extends the empty tree; the proof must be empty")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise ProofError("the consistency proof does not join the two signed roots")
