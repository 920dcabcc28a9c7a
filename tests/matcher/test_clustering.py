"""Constrained clustering: equals plain components when unconstrained; never joins two IDs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.clustering import cluster_pairs, person_ids


def _union_find(n: int, edges: list[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        parent[find(a)] = find(b)
    return [find(x) for x in range(n)]


def _same_partition(a: np.ndarray, b: list[int]) -> bool:
    mapping: dict[int, int] = {}
    for x, y in zip(a.tolist(), b, strict=True):
        if mapping.setdefault(x, y) != y:
            return False
    return len(set(mapping.values())) == len(mapping)


edges_strategy = st.lists(
    st.tuples(st.integers(0, 29), st.integers(0, 29)).filter(lambda e: e[0] != e[1]), max_size=60
)


@settings(max_examples=100, deadline=None)
@given(edges_strategy)
def test_without_ids_equals_union_find(edges: list[tuple[int, int]]) -> None:
    n = 30
    left = np.array([e[0] for e in edges], dtype=np.int64)
    right = np.array([e[1] for e in edges], dtype=np.int64)
    result = cluster_pairs(n, left, right, np.ones(len(edges)), np.full(n, -1, dtype=np.int64))
    assert _same_partition(result.labels, _union_find(n, edges))
    assert len(result.refused_left) == 0


@settings(max_examples=100, deadline=None)
@given(edges_strategy, st.lists(st.integers(-1, 3), min_size=30, max_size=30))
def test_never_two_trusted_ids_in_one_cluster(
    edges: list[tuple[int, int]], codes: list[int]
) -> None:
    n = 30
    left = np.array([e[0] for e in edges], dtype=np.int64)
    right = np.array([e[1] for e in edges], dtype=np.int64)
    trusted = np.array(codes, dtype=np.int64)
    weights = np.arange(len(edges), dtype=np.float64)
    result = cluster_pairs(n, left, right, weights, trusted)
    for label in np.unique(result.labels):
        members = trusted[result.labels == label]
        assert len(set(members[members >= 0].tolist())) <= 1
    # every refused edge really would have joined two different IDs' clusters
    for a, b in zip(result.refused_left.tolist(), result.refused_right.tolist(), strict=True):
        assert result.labels[a] != result.labels[b]


def test_chain_through_id_less_record_goes_to_review() -> None:
    # twin A (id 0) — record X without id — twin B (id 1): X joins the stronger side only
    left = np.array([0, 1], dtype=np.int64)
    right = np.array([2, 2], dtype=np.int64)
    result = cluster_pairs(3, left, right, np.array([20.0, 15.0]), np.array([0, 1, -1]))
    assert result.labels[0] == result.labels[2]
    assert result.labels[1] != result.labels[2]
    assert list(zip(result.refused_left.tolist(), result.refused_right.tolist(), strict=True)) == [
        (1, 2)
    ]


def test_a_record_fitting_two_ids_about_equally_joins_neither() -> None:
    # X (no id) fits twin A (id 0) and twin B (id 1) within the margin: both pairs refused
    left = np.array([0, 1, 3], dtype=np.int64)
    right = np.array([2, 2, 0], dtype=np.int64)  # plus A's own second record 3
    weight = np.array([12.0, 11.5, 30.0])
    trusted = np.array([0, 1, -1, 0])
    result = cluster_pairs(4, left, right, weight, trusted, ambiguity_margin=5.0)
    assert len({int(result.labels[i]) for i in (0, 1, 2)}) == 3
    assert result.labels[0] == result.labels[3]  # A's own records stay joined
    refused = set(zip(result.refused_left.tolist(), result.refused_right.tolist(), strict=True))
    assert refused == {(0, 2), (1, 2)}
    # Clearly stronger on one side: X joins it.
    clear = cluster_pairs(4, left, right, np.array([20.0, 11.5, 30.0]), trusted,
                          ambiguity_margin=5.0)  # fmt: skip
    assert clear.labels[2] == clear.labels[0] != clear.labels[1]


def test_cannot_link_pairs_are_respected() -> None:
    left = np.array([0, 1], dtype=np.int64)
    right = np.array([1, 2], dtype=np.int64)
    forbid = (np.array([0]), np.array([2]))
    result = cluster_pairs(3, left, right, np.array([5.0, 9.0]), np.full(3, -1), cannot_link=forbid)
    assert result.labels[0] != result.labels[2]


def test_person_ids_are_stable_and_opaque() -> None:
    import pandas as pd

    keys = pd.Series(["41|A1", "61|B7", "41|A2"])
    a = person_ids(np.array([0, 0, 1]), keys)
    b = person_ids(np.array([5, 5, 2]), keys)  # same partition, other labels
    assert a.tolist() == b.tolist()
    assert a[0] == a[1] != a[2]
    assert all(x.startswith("P") and len(x) == 17 for x in a)


def test_person_ids_are_the_keyed_hash_of_the_smallest_member_key() -> None:
    # The formula is part of the contract: ids already stored must not change between versions.
    import pandas as pd

    rng = np.random.default_rng(3)
    sources = rng.choice(np.array(["11", "110", "1", "A", "a|b"], dtype=object), 500)
    refs = np.array([f"R{x}" for x in rng.integers(0, 2000, 500)], dtype=object)
    keys = pd.Series(sources + "|" + refs)
    labels = rng.integers(0, 200, 500)
    got = person_ids(labels, keys)
    smallest = keys.groupby(labels).transform("min")
    hashed = pd.util.hash_pandas_object(smallest, index=False, hash_key="vaxlink-personid")
    assert got.tolist() == [f"P{h:016x}" for h in hashed.tolist()]


def test_connected_components_numbers_components_as_scipy_does() -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as scipy_components

    from matcher.clustering import connected_components

    rng = np.random.default_rng(3)
    for n in (1, 2, 50, 3000):
        for m in (0, n // 2, 3 * n):
            a, b = rng.integers(0, n, m), rng.integers(0, n, m)
            graph = coo_matrix((np.ones(m, np.int8), (a, b)), shape=(n, n))
            expected_count, expected = scipy_components(graph, directed=False)
            count, labels = connected_components(n, a, b)
            assert count == expected_count
            assert np.array_equal(labels, expected)
    # A long path joins in one component.
    path = np.arange(999)
    assert connected_components(1000, path, path + 1)[0] == 1
