"""The Merkle tree of audit checkpoints against the published RFC 6962 test vectors.

Vectors from transparency-dev/merkle (testonly/constants.go, proof/verify_test.go), the
reference the certificate-transparency logs are tested with.
"""

import random

import pytest

from workflow.audit.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    extend_frontier,
    leaf_hash,
    root_from_frontier,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex

LEAVES = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]
ROOTS = [
    EMPTY_ROOT,
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]
# (leaf index counted from 1 as in the source, tree size, proof)
INCLUSION = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (3, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        2,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]
TREE = MerkleTree.from_leaf_data(LEAVES)


@pytest.mark.parametrize("size", range(9))
def test_roots_of_every_prefix_match_the_published_roots(size: int) -> None:
    assert TREE.root(size) == ROOTS[size]


@pytest.mark.parametrize("size", range(9))
def test_a_checkpoint_grown_leaf_by_leaf_reaches_the_same_root(size: int) -> None:
    frontier, grown = extend_frontier([], 0, [leaf_hash(x) for x in LEAVES[:size]])
    assert grown == size
    assert root_from_frontier(frontier) == ROOTS[size]


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION)
def test_inclusion_proofs_equal_the_published_ones_and_verify(
    leaf: int, size: int, proof: list[bytes]
) -> None:
    assert TREE.inclusion_proof(leaf - 1, size) == proof
    verify_inclusion(leaf - 1, size, leaf_hash(LEAVES[leaf - 1]), proof, ROOTS[size])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_equal_the_published_ones_and_verify(
    old: int, new: int, proof: list[bytes]
) -> None:
    assert TREE.consistency_proof(old, new) == proof
    verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION[1:])
def test_a_corrupted_inclusion_proof_is_refused(leaf: int, size: int, proof: list[bytes]) -> None:
    index, good_leaf, root = leaf - 1, leaf_hash(LEAVES[leaf - 1]), ROOTS[size]
    flipped = [bytes([proof[0][0] ^ 8]) + proof[0][1:], *proof[1:]]
    for args in [
        (index + 1, size, good_leaf, proof, root),
        (index, size * 2, good_leaf, proof, root),
        (index, size, leaf_hash(b"wrong"), proof, root),
        (index, size, good_leaf, proof, EMPTY_ROOT),
        (index, size, good_leaf, [*proof, root], root),
        (index, size, good_leaf, proof[:-1], root),
        (index, size, good_leaf, flipped, root),
    ]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY[1:])
def test_a_corrupted_consistency_proof_is_refused(old: int, new: int, proof: list[bytes]) -> None:
    r1, r2 = ROOTS[old], ROOTS[new]
    flipped = [bytes([proof[0][0] ^ 16]) + proof[0][1:], *proof[1:]]
    for args in [
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (old, new, r2, r1, proof),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*proof, r1]),
        (old, new, r1, r2, proof[:-1]),
        (old, new, r1, r2, flipped),
    ]:
        with pytest.raises(ProofError):
            verify_consistency(*args)


def test_proofs_generated_for_random_trees_verify_against_their_roots() -> None:
    rng = random.Random(6962)
    leaves = [rng.randbytes(8) for _ in range(300)]
    tree = MerkleTree.from_leaf_data(leaves)
    for _ in range(200):
        new = rng.randint(1, 300)
        old, index = rng.randint(0, new), rng.randrange(new)
        verify_inclusion(
            index, new, leaf_hash(leaves[index]), tree.inclusion_proof(index, new), tree.root(new)
        )
        verify_consistency(old, new, tree.root(old), tree.root(new), tree.consistency_proof(old, new))
