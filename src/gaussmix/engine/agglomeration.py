"""Hierarchical agglomeration: the deterministic starts of the default search.

* :func:`ward_labels`: weighted Ward agglomeration (the "EII" model of model-based hierarchical
  clustering), nearest-neighbour bookkeeping, O(n**2).
* :func:`model_based_labels`: model-based agglomeration with unconstrained covariances ("VVV",
  Banfield & Raftery 1993; Fraley 1998), from at most ``VVV_GROUPS`` Ward groups.

Both treat integer weights exactly like repeated rows and number their groups in the
lexicographic order of the groups' means, so the result does not depend on the order of the rows.
Pure functions of arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist


@dataclass(frozen=True)
class MergeTree:
    """The merges of an agglomeration, to cut at any number of groups (:func:`cut`).

    ``items`` start as their own groups (rows, or the groups ``start`` assigns rows to) with
    means ``means``; merge ``t`` joins group ``pairs[t, 1]`` into group ``pairs[t, 0]``, whose
    mean becomes ``merged_means[t]``.
    """

    means: np.ndarray
    pairs: np.ndarray
    merged_means: np.ndarray
    start: np.ndarray | None = None

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
    because Ward's criterion is reducible: O(n**2) time and memory.
    """
    X = np.asarray(X, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64).copy()
    n = X.shape[0]
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
        for k in stale:
            nn[k] = np.argmin(cost[k])
            nn_cost[k] = cost[k, nn[k]]
        closer = others[row < nn_cost[others]]
        nn[closer] = a
        nn_cost[closer] = row[row < nn_cost[others]]
    return MergeTree(X, pairs, merged_means)


def ward_labels(X, weights, n_clusters):
    """Weighted Ward agglomeration of the rows of ``X`` into ``n_clusters`` groups (see
    :func:`ward_tree`); labels in ``0 .. n_clusters - 1``, numbered in the lexicographic order of
    the groups' means so that the numbering does not depend on the order of the rows either."""
    return cut(ward_tree(X, weights), n_clusters)


def _group_labels(parent, active, means):
    """Label of every merged item after agglomeration, numbered in the lexicographic order of the
    surviving groups' means (so that the numbering does not depend on the order of the rows).

    ``parent[i]`` is the item ``i`` was merged into (itself if never merged), ``active`` marks the
    surviving groups and ``means`` holds their means.
    """
    while True:  # resolve merge chains to the surviving representative of each item
        grand = parent[parent]
        if np.array_equal(grand, parent):
            break
        parent = grand
    roots = np.flatnonzero(active)
    order = np.lexsort(means[roots].T[::-1])
    rank = np.empty(len(parent), dtype=np.intp)
    rank[roots[order]] = np.arange(len(roots))
    return rank[parent]


# Groups the model-based (VVV) agglomeration starts from: larger data is first cut into this many
# Ward groups; its cost is O(VVV_GROUPS**2 * n_features**3).
VVV_GROUPS = 300


# Pairs of groups whose merge costs are computed in one batch (bounds the temporaries).
PAIR_BLOCK_ELEMENTS = 2_000_000


def _log_det(matrices):
    """``log det`` of each matrix of a ``(..., d, d)`` stack, ``-inf`` where it is not positive.

    Closed form for ``d <= 3`` (the agglomerations' inner loop: LAPACK's per-matrix call costs
    more than the arithmetic there), ``numpy.linalg.slogdet`` above.
    """
    m = matrices
    d = m.shape[-1]
    if d > 3:
        sign, logdet = np.linalg.slogdet(m)
        return np.where(sign > 0, logdet, -np.inf)
    if d == 1:
        det = m[..., 0, 0]
    elif d == 2:
        det = m[..., 0, 0] * m[..., 1, 1] - m[..., 0, 1] * m[..., 1, 0]
    else:
        det = (m[..., 0, 0] * (m[..., 1, 1] * m[..., 2, 2] - m[..., 1, 2] * m[..., 2, 1])
               - m[..., 0, 1] * (m[..., 1, 0] * m[..., 2, 2] - m[..., 1, 2] * m[..., 2, 0])
               + m[..., 0, 2] * (m[..., 1, 0] * m[..., 2, 1] - m[..., 1, 1] * m[..., 2, 0]))
    positive = det > 0
    return np.where(positive, np.log(np.where(positive, det, 1.0)), -np.inf)


def _log_dets(scatter, counts, prior_scale, prior_count):
    """``n_g * log det S_g`` with ``S_g = (W_g + prior_count * prior_scale) / (n_g + prior_count)``."""
    cov = (scatter + prior_count * prior_scale) / (counts + prior_count)[..., None, None]
    logdet = _log_det(cov)
    return counts * np.where(np.isfinite(logdet), logdet, np.inf)


def _trace_regularised(scatter, counts, alpha):
    """``n_g log(|W_g / n_g| + (tr W_g + alpha) / n_g)``, and ``n_g log((tr W_g + alpha) / n_g)``
    for groups of at most ``d`` rows, whose scatter is singular (Fraley 1998, as mclust)."""
    d = scatter.shape[-1]
    spread = (np.trace(scatter, axis1=-2, axis2=-1) + alpha) / counts
    det = np.exp(_log_det(scatter / np.asarray(counts)[..., None, None]))
    return counts * np.log(np.where(counts > d, det + spread, spread))


def model_based_labels(X, weights, n_clusters, n_groups=None, criterion="conjugate"):
    """Labels of :func:`model_based_tree` cut at ``n_clusters`` groups."""
    return cut(model_based_tree(X, weights, n_clusters, n_groups, criterion), n_clusters)


def model_based_tree(X, weights, n_clusters, n_groups=None, criterion="conjugate"):
    """Model-based hierarchical agglomeration with unconstrained covariances ("VVV"), down to one
    group (a :class:`MergeTree`).

    Merges, one pair at a time, the two groups whose union loses the least classification
    likelihood under Gaussian groups that each have their own covariance (Banfield & Raftery
    1993; Fraley 1998): the merge cost is ``n_ab log|S_ab| - n_a log|S_a| - n_b log|S_b|``. Small
    groups have singular scatter matrices, so ``|S_g|`` needs regularising. With
    ``criterion="conjugate"`` each ``S_g`` is pulled towards a conjugate prior scale: ``S_g =
    (W_g + Sigma_0) / (n_g + 1)``, with ``Sigma_0`` the data covariance divided by
    ``n_clusters ** (2 / n_features)`` (the size of one of ``n_clusters`` equal cells, the
    default scale of mclust's prior). With ``criterion="trace"`` the determinant is that of
    mclust's ``hc``: ``|W_g / n_g| + (tr W_g + alpha) / n_g``, with ``alpha`` the data's mean
    variance per feature (see :func:`_trace_regularised`). Above ``n_groups`` rows (default
    ``VVV_GROUPS``) it starts from that many Ward groups instead of single rows. Integer weights
    act like repeated rows. ``n_clusters`` sets the default ``n_groups`` and the conjugate prior's
    scale; the trace criterion does not depend on it.
    """
    X = np.asarray(X, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    n, d = X.shape
    if n_groups is None:  # fewer groups in high dimension: each merge costs O(groups * d**3)
        n_groups = min(VVV_GROUPS, max(2 * n_clusters, int(2e6 / d**3)))
    if n < n_clusters:
        raise ValueError(
            f"Only {n} rows with positive weight for {n_clusters} components; use fewer components."
        )
    start = ward_labels(X, w, n_groups) if n > n_groups else None
    start_labels = np.arange(n) if start is None else start
    g = int(start_labels.max()) + 1
    centre = np.average(X, axis=0, weights=w)
    xc = X - centre
    data_cov = (xc * w[:, None]).T @ xc / w.sum()
    if criterion == "trace":
        alpha = max(np.trace(data_cov) / d, np.finfo(np.float64).eps)

        def terms(scatter, counts):
            return _trace_regularised(scatter, counts, alpha)
    else:
        prior_scale = data_cov / n_clusters ** (2.0 / d) + 1e-12 * np.trace(data_cov) / d * np.eye(d)

        def terms(scatter, counts):
            return _log_dets(scatter, counts, prior_scale, 1.0)
    counts = np.bincount(start_labels, weights=w, minlength=g)
    means = np.stack(
        [np.bincount(start_labels, weights=w * xc[:, j], minlength=g) for j in range(d)], 1
    )
    means /= counts[:, None]
    scatter = np.zeros((g, d, d))
    for k in range(g):
        rows = start_labels == k
        dk = xc[rows] - means[k]
        scatter[k] = (dk * w[rows, None]).T @ dk
    own = terms(scatter, counts)

    def union(a, others):
        """Scatter and count of group(s) ``a`` merged with each of ``others``."""
        na, nb = counts[a], counts[others]
        diff = means[others] - means[a]
        merged = scatter[a] + scatter[others] + (na * nb / (na + nb))[..., None, None] * (
            diff[:, :, None] * diff[:, None, :]
        )
        return merged, na + nb

    cost = np.full((g, g), np.inf)
    first, second = np.triu_indices(g, 1)  # every pair once, in batches
    block = max(1, PAIR_BLOCK_ELEMENTS // (d * d))
    for lo in range(0, len(first), block):
        a, b = first[lo : lo + block], second[lo : lo + block]
        merged, total = union(a, b)
        cost[a, b] = terms(merged, total) - own[a] - own[b]
    cost = np.minimum(cost, cost.T)
    active = np.ones(g, dtype=bool)
    first_means = means.copy()
    pairs = np.empty((g - 1, 2), dtype=np.intp)
    merged_means = np.empty((g - 1, d))
    for step in range(g - 1):
        flat = int(np.argmin(cost))
        a, b = divmod(flat, g)
        a, b = min(a, b), max(a, b)
        merged, total = union(a, np.array([b]))
        means[a] = (counts[a] * means[a] + counts[b] * means[b]) / total[0]
        pairs[step] = a, b
        merged_means[step] = means[a]
        scatter[a], counts[a] = merged[0], total[0]
        own[a] = terms(scatter[a], counts[a])
        active[b] = False
        cost[b, :] = np.inf
        cost[:, b] = np.inf
        others = np.flatnonzero(active)
        others = others[others != a]
        if len(others):
            merged, total = union(a, others)
            row = terms(merged, total) - own[a] - own[others]
            cost[a, others] = row
            cost[others, a] = row
    return MergeTree(first_means, pairs, merged_means, start)
