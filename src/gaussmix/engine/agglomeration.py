"""Hierarchical agglomeration: merge trees, their cuts, and Ward's tree.

* :class:`MergeTree` and :func:`cut`: the merges of an agglomeration, cut at any number of
  groups, which are numbered in the lexicographic order of their means so that the labels do not
  depend on the order of the rows.
* :func:`ward_tree`: weighted Ward agglomeration (the "EII" model of model-based hierarchical
  clustering), O(n**2): scipy's compiled nearest-neighbour chain for rows of unit weight, our
  nearest-neighbour bookkeeping for weighted rows, whose integer weights act exactly like
  repeated rows.

The model-based (VVV) agglomeration is :mod:`gaussmix.engine.model_based`. Pure functions of
arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import cdist


@dataclass(frozen=True)
class MergeTree:
    """The merges of an agglomeration, to cut at any number of groups (:func:`cut`).

    ``items`` start as their own groups (rows, or the groups ``start`` assigns rows to) with
    means ``means``; merge ``t`` joins group ``pairs[t, 1]`` into group ``pairs[t, 0]``, whose
    mean becomes ``merged_means[t]``. A tree may leave ``merged_means`` out and give the items'
    ``weights`` instead: a cut then averages its groups' items.
    """

    means: np.ndarray
    pairs: np.ndarray
    merged_means: np.ndarray | None
    start: np.ndarray | None = None
    weights: np.ndarray | None = None

    @property
    def n_items(self):
        return len(self.means)


def cut(tree, n_clusters):
    """Labels of the rows after the first ``n_items - n_clusters`` merges of ``tree``, numbered
    in the lexicographic order of the groups' means (see :func:`_group_labels`)."""
    n = tree.n_items
    if n < n_clusters:
        raise ValueError(
            f"Only {n} rows with positive weight for {n_clusters} components; use fewer components."
        )
    steps = n - n_clusters
    pairs = tree.pairs[:steps]
    parent = np.arange(n)
    parent[pairs[:, 1]] = pairs[:, 0]
    active = np.ones(n, dtype=bool)
    active[pairs[:, 1]] = False
    if tree.merged_means is None:
        labels = _group_labels(parent, active, None, tree.means, tree.weights)
        return labels if tree.start is None else labels[tree.start]
    means = tree.means.copy()
    last = np.full(n, -1)
    np.maximum.at(last, pairs[:, 0], np.arange(steps))  # each group's latest merge
    merged = np.flatnonzero(last >= 0)
    means[merged] = tree.merged_means[last[merged]]
    labels = _group_labels(parent, active, means)
    return labels if tree.start is None else labels[tree.start]


def ward_tree(X, weights):
    """Weighted Ward agglomeration of the rows of ``X`` down to one group (a :class:`MergeTree`).

    Merges, one pair at a time, the two groups whose union costs the least Gaussian likelihood
    under a common spherical covariance (Ward's criterion ``w_a w_b / (w_a + w_b) ||m_a - m_b||^2``,
    the "EII" model of model-based hierarchical clustering). A row of integer weight ``w`` behaves
    exactly like ``w`` repeated rows, and the result does not depend on the order of the rows
    (except for exact ties between different groups). Uses nearest-neighbour bookkeeping, valid
    because Ward's criterion is reducible: O(n**2) time and memory. Rows all of unit weight
    take scipy's compiled Ward linkage (:func:`_unit_ward_tree`, the same merges ten times
    faster).
    """
    X = np.asarray(X, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64).copy()
    n = X.shape[0]
    if n > 1 and np.all(w == 1.0):
        return _unit_ward_tree(X)
    means = X.copy()
    active = np.ones(n, dtype=bool)
    pairs = np.empty((max(n - 1, 0), 2), dtype=np.intp)
    merged_means = np.empty((max(n - 1, 0), X.shape[1]))
    cost = cdist(X, X, "sqeuclidean")
    for lo in range(0, n, 32):  # Ward weights, a few rows at a time: no n x n temporaries
        wb = w[lo : lo + 32, None]
        cost[lo : lo + 32] *= (wb * w) / (wb + w)
    np.fill_diagonal(cost, np.inf)
    nn = np.argmin(cost, axis=1) if n else np.zeros(0, dtype=np.intp)
    nn_cost = cost[np.arange(n), nn]
    for step in range(n - 1):
        i = int(np.argmin(nn_cost))
        j = int(nn[i])
        a, b = min(i, j), max(i, j)
        total = w[a] + w[b]
        means[a] = (w[a] * means[a] + w[b] * means[b]) / total
        pairs[step] = a, b
        merged_means[step] = means[a]
        w[a] = total
        active[b] = False
        cost[b, :] = np.inf
        cost[:, b] = np.inf
        nn_cost[b] = np.inf
        others = np.flatnonzero(active)
        others = others[others != a]
        row = np.sum((means[others] - means[a]) ** 2, axis=1) * (w[a] * w[others] / (w[a] + w[others]))
        cost[a, others] = row
        cost[others, a] = row
        stale = np.flatnonzero(active & ((nn == a) | (nn == b)))
        nn[stale] = np.argmin(cost[stale], axis=1)
        nn_cost[stale] = cost[stale, nn[stale]]
        closer = others[row < nn_cost[others]]
        nn[closer] = a
        nn_cost[closer] = row[row < nn_cost[others]]
    return MergeTree(X, pairs, merged_means)


def _unit_ward_tree(X):
    """:func:`ward_tree` of rows of unit weight, from scipy's nearest-neighbour-chain Ward
    linkage: its merges sorted by cost (Ward's costs never decrease along the greedy merges, so
    without exact ties this is the order :func:`ward_tree` merges in), each group named by its
    lowest row as there. A cut averages the rows of its groups."""
    n = X.shape[0]
    links = linkage(X, method="ward")[:, :2].astype(np.intp).tolist()
    lowest = list(range(n))  # scipy's cluster n + t is merge t; its lowest row names it
    pairs = np.empty((n - 1, 2), dtype=np.intp)
    for step, (first, second) in enumerate(links):
        a, b = lowest[first], lowest[second]
        if b < a:
            a, b = b, a
        pairs[step] = a, b
        lowest.append(a)
    return MergeTree(X, pairs, None, weights=np.ones(n))


def ward_labels(X, weights, n_clusters):
    """Weighted Ward agglomeration of the rows of ``X`` into ``n_clusters`` groups (see
    :func:`ward_tree`); labels in ``0 .. n_clusters - 1``, numbered in the lexicographic order of
    the groups' means so that the numbering does not depend on the order of the rows either."""
    return cut(ward_tree(X, weights), n_clusters)


def _group_labels(parent, active, means, item_means=None, item_weights=None):
    """Label of every merged item after agglomeration, numbered in the lexicographic order of the
    surviving groups' means (so that the numbering does not depend on the order of the rows).

    ``parent[i]`` is the item ``i`` was merged into (itself if never merged), ``active`` marks the
    surviving groups and ``means`` holds their means; without ``means``, a group's mean is the
    weighted average of its items' ``item_means``.
    """
    while True:  # resolve merge chains to the surviving representative of each item
        grand = parent[parent]
        if np.array_equal(grand, parent):
            break
        parent = grand
    if means is None:
        totals = np.bincount(parent, weights=item_weights, minlength=len(parent))
        means = np.stack([np.bincount(parent, weights=item_weights * column, minlength=len(parent))
                          for column in item_means.T], axis=1)
        means /= np.where(totals > 0, totals, 1.0)[:, None]
    roots = np.flatnonzero(active)
    order = np.lexsort(means[roots].T[::-1])
    rank = np.empty(len(parent), dtype=np.intp)
    rank[roots[order]] = np.arange(len(roots))
    return rank[parent]
