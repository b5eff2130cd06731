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
        nn[stale] = np.argmin(cost[stale], axis=1)
        nn_cost[stale] = cost[stale, nn[stale]]
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

    Closed form for ``d <= 4`` (the agglomerations' inner loop: LAPACK's per-matrix call costs
    more than the arithmetic there), ``numpy.linalg.slogdet`` above.
    """
    m = matrices
    d = m.shape[-1]
    if d > 4:
        sign, logdet = np.linalg.slogdet(m)
        return np.where(sign > 0, logdet, -np.inf)
    if d == 4:
        det = _det4(m)
    elif d == 1:
        det = m[..., 0, 0]
    elif d == 2:
        det = m[..., 0, 0] * m[..., 1, 1] - m[..., 0, 1] * m[..., 1, 0]
    else:
        det = (m[..., 0, 0] * (m[..., 1, 1] * m[..., 2, 2] - m[..., 1, 2] * m[..., 2, 1])
               - m[..., 0, 1] * (m[..., 1, 0] * m[..., 2, 2] - m[..., 1, 2] * m[..., 2, 0])
               + m[..., 0, 2] * (m[..., 1, 0] * m[..., 2, 1] - m[..., 1, 1] * m[..., 2, 0]))
    positive = det > 0
    return np.where(positive, np.log(np.where(positive, det, 1.0)), -np.inf)


def _det4(m):
    """Determinants of a ``(..., 4, 4)`` stack: the Laplace expansion in the 2 x 2 minors of
    the first two rows and of the last two."""
    def minor(row, a, b):
        return m[..., row, a] * m[..., row + 1, b] - m[..., row, b] * m[..., row + 1, a]

    columns = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
    signs = (1.0, -1.0, 1.0, 1.0, -1.0, 1.0)
    total = 0.0
    for sign, (a, b), (c, e) in zip(signs, columns, reversed(columns)):
        total = total + sign * minor(0, a, b) * minor(2, c, e)
    return total


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
    return model_based_trees(X, weights, [n_clusters], n_groups, criterion)[0]


def model_based_trees(X, weights, n_clusters, n_groups=None, criterion="conjugate",
                      trace_rows=None):
    """:func:`model_based_tree` for each number of groups in ``n_clusters``, built side by side:
    each merge step of every tree in one pass of array operations (a model selection grid
    needs one conjugate tree per number of components). Entries that need different starting
    Ward groups (see ``n_groups``; all that start from single rows share one) are built in
    separate passes. The trees are those
    :func:`model_based_tree` builds one at a time, merge for merge.

    ``trace_rows``: the same rows in other coordinates (mclust's scaled SVD) whose
    trace-criterion tree (``model_based_tree(trace_rows, weights, max(n_clusters),
    criterion="trace")``) is wanted too; it is built in the same pass when every tree starts
    from single rows, else on its own, and returned last.
    """
    X = np.asarray(X, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    n, d = X.shape
    wanted = [int(k) for k in n_clusters]
    if n < max(wanted):
        raise ValueError(
            f"Only {n} rows with positive weight for {max(wanted)} components; use fewer "
            "components."
        )
    def starting_groups(k):  # at least as many groups as rows: the rows themselves
        return min(n, default_groups(k, d) if n_groups is None else n_groups)

    groups_of = {k: starting_groups(k) for k in wanted}
    traced = None
    if trace_rows is not None:
        traced = (np.asarray(trace_rows, dtype=np.float64), "trace", [max(wanted)])
        trace_groups = starting_groups(max(wanted))
        if n > min(trace_groups, *groups_of.values()):  # different starting groups
            alone = _merge_side_by_side([traced], w, trace_groups)[0]
            return [*model_based_trees(X, w, wanted, n_groups, criterion), alone]
    trees = {}
    for size in sorted(set(groups_of.values())):
        batch = sorted({k for k in wanted if groups_of[k] == size})
        sources = [(X, criterion, batch[:1] if criterion == "trace" else batch)]
        if traced is not None:
            sources.append(traced)
        built = _merge_side_by_side(sources, w, size)
        if traced is not None:
            traced, trace_tree = None, built.pop()
        if criterion == "trace":  # one tree: the criterion does not depend on the groups wanted
            built = built * len(batch)
        trees.update(zip(batch, built))
    out = [trees[k] for k in wanted]
    return out if trace_rows is None else [*out, trace_tree]


def default_groups(n_clusters, d):
    """Starting groups of a VVV agglomeration for ``n_clusters`` in ``d`` dimensions: fewer in
    high dimension, where each merge costs O(groups * d**3)."""
    return min(VVV_GROUPS, max(2 * n_clusters, int(2e6 / d**3)))


def _criterion_terms(xc, w, criterion, n_clusters):
    """``terms(scatter, counts, tree=slice(None))`` of a criterion on centred rows ``xc``: the
    regularised ``n log |S|`` of ``(trees, groups)`` stacks of scatter matrices, one tree per
    entry of ``n_clusters`` (or that of tree ``tree`` alone)."""
    d = xc.shape[1]
    data_cov = (xc * w[:, None]).T @ xc / w.sum()
    if criterion == "trace":
        alpha = max(np.trace(data_cov) / d, np.finfo(np.float64).eps)

        def terms(scatter, counts, tree=slice(None)):
            return _trace_regularised(scatter, counts, alpha)

        return terms
    ridge = 1e-12 * np.trace(data_cov) / d * np.eye(d)
    prior = np.stack([data_cov / k ** (2.0 / d) + ridge for k in n_clusters])[:, None]

    def terms(scatter, counts, tree=slice(None)):
        return _log_dets(scatter, counts, prior[tree], 1.0)

    return terms


def _merge_side_by_side(sources, w, n_groups):
    """The trees of ``sources``, each ``(rows, criterion, n_clusters)`` with one tree per entry
    of ``n_clusters``, every merge step of all of them in one pass. All start from the first
    source's ``n_groups`` Ward groups (single rows when there are at most that many, the only
    case where several sources are given)."""
    X = sources[0][0]
    n, d = X.shape
    start = ward_labels(X, w, n_groups) if n > n_groups else None
    start_labels = np.arange(n) if start is None else start
    g = int(start_labels.max()) + 1
    counts = np.bincount(start_labels, weights=w, minlength=g)
    cost, own, first_means, means, scatter, parts = [], [], [], [], [], []
    for rows, criterion, n_clusters in sources:
        xc = rows - np.average(rows, axis=0, weights=w)
        terms = _criterion_terms(xc, w, criterion, n_clusters)
        source_means, source_scatter = _group_moments(xc, w, start_labels, counts)
        source_own = terms(source_scatter[None], counts[None])
        cost.append(_pair_costs(terms, len(n_clusters), counts, source_means, source_scatter,
                                source_own))
        own.append(np.broadcast_to(source_own, (len(n_clusters), g)))
        first_means += [source_means] * len(n_clusters)
        means.append(np.tile(source_means, (len(n_clusters), 1, 1)))
        scatter.append(np.tile(source_scatter, (len(n_clusters), 1, 1, 1)))
        parts.append((terms, len(n_clusters)))
    cost, own = np.concatenate(cost), np.concatenate(own)
    means, scatter = np.concatenate(means), np.concatenate(scatter)
    n_trees = len(cost)
    counts = np.tile(counts, (n_trees, 1))

    def terms(stacks, sizes):
        """Every tree's terms of ``(trees, groups)`` stacks, each under its source's criterion."""
        if len(parts) == 1:
            return parts[0][0](stacks, sizes)
        out, lo = [], 0
        for source_terms, count in parts:
            out.append(source_terms(stacks[lo : lo + count], sizes[lo : lo + count]))
            lo += count
        return np.concatenate(out)

    active = np.ones((n_trees, g), dtype=bool)
    pairs = np.empty((n_trees, g - 1, 2), dtype=np.intp)
    merged_means = np.empty((n_trees, g - 1, d))
    # each row's cheapest partner (the first, on ties): the cheapest pair is then the first
    # row's of the least cost, the pair np.argmin(cost) finds, at O(g) per merge
    nn = np.argmin(cost, axis=2)
    nn_cost = np.take_along_axis(cost, nn[:, :, None], axis=2)[:, :, 0]
    trees = np.arange(n_trees)
    for step in range(g - 1):
        i = np.argmin(nn_cost, axis=1)
        j = nn[trees, i]
        a, b = np.minimum(i, j), np.maximum(i, j)
        na, nb = counts[trees, a], counts[trees, b]
        ma, mb = means[trees, a], means[trees, b]
        total = na + nb
        merged = scatter[trees, a] + scatter[trees, b] + (na * nb / total)[:, None, None] * _outer(
            mb - ma)
        ma = (na[:, None] * ma + nb[:, None] * mb) / total[:, None]
        means[trees, a] = merged_means[:, step] = ma
        pairs[:, step, 0], pairs[:, step, 1] = a, b
        scatter[trees, a], counts[trees, a] = merged, total
        active[trees, b] = False
        cost[trees, b, :] = np.inf
        cost[trees, :, b] = np.inf
        nn_cost[trees, b] = np.inf
        live = np.flatnonzero(active.any(axis=0))  # groups some tree still holds, a among them
        na, nb = total[:, None], counts[:, live]
        union = merged[:, None] + scatter[:, live] + (na * nb / (na + nb))[..., None, None] * (
            _outer(means[:, live] - ma[:, None]))
        # the merged group's own term and its unions' in one pass
        both = terms(np.concatenate([merged[:, None], union], axis=1),
                     np.concatenate([na, na + nb], axis=1))
        own[trees, a] = both[:, 0]
        row = both[:, 1:] - both[:, :1] - own[:, live]
        others = active[:, live] & (live != a[:, None])
        row[~others] = np.inf
        cost[trees[:, None], a[:, None], live] = row
        cost[trees[:, None], live, a[:, None]] = row
        _update_partners(cost, nn, nn_cost, a, b, live, others, row)
    return [MergeTree(first_means[t], pairs[t], merged_means[t], start) for t in range(n_trees)]


def _group_moments(xc, w, labels, counts):
    """Means and scatter matrices of the groups ``labels`` makes of the rows ``xc``."""
    g, d = len(counts), xc.shape[1]
    means = np.stack([np.bincount(labels, weights=w * xc[:, j], minlength=g) for j in range(d)],
                     1)
    means /= counts[:, None]
    scatter = np.zeros((g, d, d))
    for k in range(g):
        rows = labels == k
        dk = xc[rows] - means[k]
        scatter[k] = (dk * w[rows, None]).T @ dk
    return means, scatter


def _pair_costs(terms, n_trees, counts, means, scatter, own):
    """``(trees, g, g)`` costs of merging every pair of groups, symmetric, ``inf`` on the
    diagonal."""
    g, d = means.shape
    cost = np.full((n_trees, g, g), np.inf)
    first, second = np.triu_indices(g, 1)  # every pair once, in batches
    block = max(1, PAIR_BLOCK_ELEMENTS // (d * d))
    for lo in range(0, len(first), block):
        a, b = first[lo : lo + block], second[lo : lo + block]
        merged = scatter[a] + scatter[b] + (counts[a] * counts[b] / (counts[a] + counts[b]))[
            :, None, None] * _outer(means[b] - means[a])
        for t in range(n_trees):
            cost[t, a, b] = terms(merged, counts[a] + counts[b], t) - own[t, a] - own[t, b]
    return np.minimum(cost, cost.transpose(0, 2, 1))


def _outer(diff):
    """``diff diff^T`` of each row of a ``(..., d)`` stack."""
    return diff[..., :, None] * diff[..., None, :]


def _update_partners(cost, nn, nn_cost, a, b, live, others, row):
    """Each tree's rows' cheapest partners after its group ``b`` joined ``a``, whose new costs
    to the ``live`` groups are ``row`` (``others``: those the tree holds, besides ``a``): rows
    that chose ``a`` or ``b`` look again, the rest compare ``a``."""
    trees = np.arange(len(a))
    row_a = cost[trees, a]
    nn[trees, a] = nearest = np.argmin(row_a, axis=1)
    nn_cost[trees, a] = row_a[trees, nearest]
    partner = nn[:, live]
    stale = others & ((partner == a[:, None]) | (partner == b[:, None]))
    if stale.any():
        t, r = np.nonzero(stale)
        rows = live[r]
        nn[t, rows] = np.argmin(cost[t, rows], axis=1)
        nn_cost[t, rows] = cost[t, rows, nn[t, rows]]
    current = nn_cost[:, live]
    closer = others & ~stale & ((row < current) | ((row == current) & (a[:, None] < partner)))
    t, r = np.nonzero(closer)
    nn[t, live[r]] = a[t]
    nn_cost[t, live[r]] = row[t, r]
