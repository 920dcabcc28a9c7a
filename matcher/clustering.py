"""Clusters from match pairs: connected components that respect cannot-link constraints.

Two records with different trusted resident IDs never end in one cluster, not even through a
chain of records without an ID; the edge that would join them goes to review instead. Auditor
decisions enter as must-link and cannot-link pairs and take precedence over the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.keyed_hash import pandas_hash
from matcher.sorting import group_order

__all__ = [
    "arrow_keys",
    "cluster_pairs",
    "cluster_person_ids",
    "connected_components",
    "person_ids",
]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Clustering:
    """Cluster label per record and the match edges refused because of a constraint."""

    labels: IntArray
    refused_left: IntArray
    refused_right: IntArray


def cluster_pairs(
    n_records: int,
    left: IntArray,
    right: IntArray,
    weight: npt.NDArray[np.floating],
    trusted_codes: IntArray,
    cannot_link: tuple[IntArray, IntArray] | None = None,
    *,
    ambiguity_margin: float | None = None,
) -> Clustering:
    """Connected components over match edges; conflicted components are rebuilt greedily.

    Args:
        trusted_codes: per record, an integer code of its trusted ID (-1 when none).
        cannot_link: record pairs that must end in different clusters (auditor decisions).
        ambiguity_margin: when an edge is refused at a record without a trusted ID, that
            record's kept edges less than this much stronger (in match weight) are refused
            too: it fits two holders of different IDs about equally (twins sharing a phone
            and a birth date), so no one of them is chosen for it. None: keep the strongest.
    """
    clustering = _cluster_constrained(n_records, left, right, weight, trusted_codes, cannot_link)
    if ambiguity_margin is None or not len(clustering.refused_left):
        return clustering
    ambiguous, refused = _ambiguous_edges(
        left, right, weight, trusted_codes, clustering, margin=ambiguity_margin
    )
    if not ambiguous.any():
        return clustering
    # Without the ambiguous edges and the refused ones (a refused edge would otherwise join
    # the record to the other holder, as the first choice did).
    keep = ~(ambiguous | refused)
    again = _cluster_constrained(
        n_records, left[keep], right[keep], weight[keep], trusted_codes, cannot_link
    )
    return Clustering(
        labels=again.labels,
        refused_left=np.concatenate([clustering.refused_left, left[ambiguous]]),
        refused_right=np.concatenate([clustering.refused_right, right[ambiguous]]),
    )


def _ambiguous_edges(
    left: IntArray,
    right: IntArray,
    weight: npt.NDArray[np.floating],
    trusted: IntArray,
    clustering: Clustering,
    *,
    margin: float,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(ambiguous, refused) per edge: ambiguous, an edge at a record without a trusted ID that
    is not ``margin`` stronger than the strongest edge refused at that record."""
    n = len(trusted)
    refused_code = np.minimum(clustering.refused_left, clustering.refused_right) * n + np.maximum(
        clustering.refused_left, clustering.refused_right
    )
    code = np.minimum(left, right) * n + np.maximum(left, right)
    refused = np.isin(code, refused_code)
    strongest = np.full(n, -np.inf)
    for end in (left, right):
        hit = refused & (trusted[end] < 0)
        np.maximum.at(strongest, end[hit], weight[hit])
    close = np.zeros(len(left), dtype=bool)
    for end in (left, right):
        close |= (trusted[end] < 0) & (weight < strongest[end] + margin)
    return close & ~refused, refused


def _cluster_constrained(
    n_records: int,
    left: IntArray,
    right: IntArray,
    weight: npt.NDArray[np.floating],
    trusted_codes: IntArray,
    cannot_link: tuple[IntArray, IntArray] | None,
) -> Clustering:
    """``cluster_pairs`` without the ambiguity rule."""
    labels = _components(n_records, left, right)
    cl_left, cl_right = cannot_link if cannot_link is not None else (_empty(), _empty())
    conflicted = _conflicted_components(labels, trusted_codes, cl_left, cl_right)
    if not conflicted.any():
        return Clustering(labels=labels, refused_left=_empty(), refused_right=_empty())
    bad_edge = conflicted[labels[left]]
    keep_l, keep_r = left[~bad_edge], right[~bad_edge]
    labels, refused_l, refused_r = _greedy_rebuild(
        n_records,
        keep_l,
        keep_r,
        left[bad_edge],
        right[bad_edge],
        weight[bad_edge],
        trusted_codes,
        cl_left,
        cl_right,
    )
    return Clustering(labels=labels, refused_left=refused_l, refused_right=refused_r)


def _empty() -> IntArray:
    return np.empty(0, dtype=np.int64)


def _components(n: int, left: IntArray, right: IntArray) -> IntArray:
    return connected_components(n, left, right)[1]


def connected_components(n: int, left: IntArray, right: IntArray) -> tuple[int, IntArray]:
    """(count, label per node) of the undirected graph on nodes 0..n-1 with these edges.

    Labels are 0..count-1 in the order of each component's smallest node (as SciPy numbers
    them). Vectorised hooking and pointer jumping: each round points every edge's larger root
    at the smaller one, then compresses paths; rounds grow with the log of component size.
    """
    root = np.arange(n, dtype=np.int64)
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    while len(left):
        a, b = root[left], root[right]
        apart = a != b
        if not apart.any():
            break
        left, right, a, b = left[apart], right[apart], a[apart], b[apart]
        np.minimum.at(root, np.maximum(a, b), np.minimum(a, b))  # roots only hook downwards
        while True:
            jumped = root[root]
            if np.array_equal(jumped, root):
                break
            root = jumped
    is_root = root == np.arange(n)
    dense = np.cumsum(is_root) - 1
    return int(is_root.sum()), dense[root]


def _conflicted_components(
    labels: IntArray, trusted: IntArray, cl_left: IntArray, cl_right: IntArray
) -> npt.NDArray[np.bool_]:
    """Per component: True when it holds two trusted IDs or both ends of a cannot-link pair."""
    n_components = int(labels.max()) + 1 if len(labels) else 0
    has = np.flatnonzero(trusted >= 0)
    label, code = labels[has], trusted[has]
    one_code = np.full(n_components, -1, dtype=np.int64)
    one_code[label] = code  # some member's code; a different one anywhere = two IDs
    conflicted = np.zeros(n_components, dtype=bool)
    conflicted[label[code != one_code[label]]] = True
    if len(cl_left):
        same = labels[cl_left] == labels[cl_right]
        conflicted[labels[cl_left][same]] = True
    return conflicted


def _greedy_rebuild(
    n: int,
    base_left: IntArray,
    base_right: IntArray,
    left: IntArray,
    right: IntArray,
    weight: npt.NDArray[np.floating],
    trusted: IntArray,
    cl_left: IntArray,
    cl_right: IntArray,
) -> tuple[IntArray, IntArray, IntArray]:
    """Union-find over the conflicted components' edges, strongest first, refusing conflicts.

    Only the (few) conflicted components are processed edge by edge; everything else keeps
    its vectorised connected-components label.
    """
    parent = np.arange(n, dtype=np.int64)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = int(parent[root])
        while parent[x] != root:
            parent[x], x = root, int(parent[x])
        return root

    base = _components(n, base_left, base_right)
    parent[:] = _roots_from_labels(base)
    code_of: dict[int, int] = {}
    members: dict[int, set[int]] = {}
    forbidden: dict[int, set[int]] = {}
    for a, b in zip(cl_left.tolist(), cl_right.tolist(), strict=True):
        forbidden.setdefault(a, set()).add(b)
        forbidden.setdefault(b, set()).add(a)
    nodes = np.unique(np.concatenate([left, right]))
    for node in nodes.tolist():
        root = find(node)
        members.setdefault(root, set()).add(node)
        if trusted[node] >= 0:
            code_of[root] = int(trusted[node])
    refused_l: list[int] = []
    refused_r: list[int] = []
    for i in np.argsort(-weight, kind="stable").tolist():
        a, b = int(left[i]), int(right[i])
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        ca, cb = code_of.get(ra, -1), code_of.get(rb, -1)
        ma, mb = members.get(ra, {ra}), members.get(rb, {rb})
        blocked = ca >= 0 and cb >= 0 and ca != cb
        if not blocked and forbidden:
            blocked = any(forbidden.get(x, set()) & mb for x in ma)
        if blocked:
            refused_l.append(a)
            refused_r.append(b)
            continue
        parent[rb] = ra
        members[ra] = ma | mb
        members.pop(rb, None)
        if ca < 0 and cb >= 0:
            code_of[ra] = cb
    roots = parent.copy()
    while True:  # pointer jumping, vectorised: every record ends pointing at its root
        jumped = roots[roots]
        if np.array_equal(jumped, roots):
            break
        roots = jumped
    _, labels = np.unique(roots, return_inverse=True)
    return (
        labels.astype(np.int64),
        np.array(refused_l, dtype=np.int64),
        np.array(refused_r, dtype=np.int64),
    )


def _roots_from_labels(labels: IntArray) -> IntArray:
    """A parent array in which every record points at the first record of its component."""
    order = group_order(labels)
    first = np.full(int(labels.max()) + 1 if len(labels) else 0, -1, dtype=np.int64)
    sorted_labels = labels[order]
    starts = (
        np.r_[True, sorted_labels[1:] != sorted_labels[:-1]] if len(labels) else np.empty(0, bool)
    )
    first[sorted_labels[starts]] = order[starts]
    return first[labels]


PERSON_ID_HASH_KEY = "vaxlink-personid"  # 16 bytes: the key of the keyed hash


def person_ids(labels: IntArray, record_keys: pd.Series) -> pd.Series:
    """Opaque, stable person ids: a keyed hash of each cluster's smallest member key.

    The id depends only on which records form the cluster, so reruns on the same input give
    the same ids; it carries no personal data.
    """
    keys = arrow_keys(record_keys.to_numpy(dtype=object))
    ids = cluster_person_ids(labels, keys.take)
    return pd.Series(ids, index=record_keys.index)


def arrow_keys(keys: npt.NDArray[np.object_]) -> Any:
    """Record keys as Arrow strings (non-strings as ``str`` spells them)."""
    import pyarrow as pa

    try:
        return pa.array(keys, type=pa.string())
    except (pa.ArrowException, UnicodeError):
        return pa.array([str(key) for key in keys], type=pa.string())


def cluster_person_ids(
    labels: IntArray, key_text: Callable[[npt.NDArray[np.intp]], Any]
) -> npt.NDArray[np.object_]:
    """Person id per record (``person_ids``), with member keys built only where needed.

    ``key_text(rows)`` returns the key strings of those records as Arrow strings: only members
    of clusters with several records are compared (in byte order, which for UTF-8 is Python's
    string order), and one key per cluster is hashed (as ``pd.util.hash_array`` hashes).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    dense = _dense(np.asarray(labels, dtype=np.int64))
    n_clusters = int(dense.max()) + 1 if len(dense) else 0
    sizes = np.bincount(dense, minlength=n_clusters)
    smallest = np.empty(n_clusters, dtype=np.intp)  # per cluster: the member with the least key
    single = np.flatnonzero(sizes[dense] == 1)
    smallest[dense[single]] = single
    multi = np.flatnonzero(sizes[dense] > 1)
    if len(multi):
        members = pa.table({"cluster": dense[multi], "key": key_text(multi)})
        order = pc.sort_indices(members, [("cluster", "ascending"), ("key", "ascending")])
        ordered = multi[np.asarray(order)]
        first = np.r_[True, dense[ordered][1:] != dense[ordered][:-1]]
        smallest[dense[ordered[first]]] = ordered[first]
    hashed = pandas_hash(key_text(smallest), PERSON_ID_HASH_KEY)
    return _hex_ids(hashed)[dense]


def _dense(labels: IntArray) -> IntArray:
    """Labels renumbered 0..k-1 (numbering order does not matter)."""
    if len(labels) and labels.min() >= 0 and labels.max() <= 2 * len(labels):
        present = np.zeros(int(labels.max()) + 1, dtype=bool)
        present[labels] = True
        renumbered: IntArray = (np.cumsum(present) - 1)[labels]
        return renumbered
    return pd.factorize(labels)[0].astype(np.int64)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex_ids(hashed: npt.NDArray[np.uint64]) -> npt.NDArray[np.object_]:
    """``P`` + 16 lower-case hex digits per hash, as Python strings."""
    octets = hashed.astype(">u8").view(np.uint8).reshape(-1, 8)
    text = np.empty((len(hashed), 18), dtype=np.uint8)  # one line per id
    text[:, 0] = ord("P")
    text[:, 1:17:2] = _HEX[octets >> 4]
    text[:, 2:17:2] = _HEX[octets & 15]
    text[:, 17] = ord("\n")
    lines = text.tobytes().decode("ascii").split("\n")[:-1]  # one C-level split
    ids = np.empty(len(lines), dtype=object)
    ids[:] = lines
    return ids
