"""Model-based (VVV) hierarchical agglomeration: the model-based starts of the default search.

:func:`model_based_tree` merges, one pair at a time, the two groups whose union loses the least
classification likelihood under Gaussian groups that each have their own covariance (Banfield &
Raftery 1993; Fraley 1998); :func:`model_based_trees` builds several such trees (a model
selection grid needs one per number of components) in lockstep, every merge step of all of them
in one pass of array operations.

How a merge step is computed (on small data the trees are a large part of a fit):

* scatter matrices are symmetric, so each is held as its ``d (d + 1) / 2`` upper-triangle
  entries (:class:`_Symmetric`) and, for ``d <= 4``, its determinant is taken in closed form over
  those entries (LAPACK's call per matrix costs more than the arithmetic there);
* a step computes the merged group's cost to every group at once, over arrays whose groups
  are those some tree still holds: groups every tree has merged away are dropped from the
  arrays now and then (:meth:`_Lockstep.compact`), so no step gathers the living groups;
* each group keeps its cheapest partner (the first on ties), so the cheapest pair is found in
  O(groups) per step; only groups whose partner was merged look again.

Pure functions of arrays, apart from the lockstep's own working arrays.
"""

from __future__ import annotations

import numpy as np

from .agglomeration import MergeTree, cut, ward_labels

# Groups the model-based (VVV) agglomeration starts from: larger data is first cut into this many
# Ward groups; its cost is O(VVV_GROUPS**2 * n_features**3).
VVV_GROUPS = 300
# mclust's own agglomeration starts from single rows, as mclust's hc does, while its modelled
# time, rows squared times (SINGLE_ROW_OVERHEAD + the cube of the dimension) nanoseconds, stays
# within SINGLE_ROW_WORK (a second). Measured on the 2-core development machine: 800 rows in
# 2-D 0.13 s, 1000 in 5-D 0.63 s, 506 in 14-D 0.89 s, 846 in 18-D 4.1 s, 2000 in 4-D 1.3 s
# (a merge step is ~20 array calls per pair row: the overhead; the d**3 term is the
# determinants).
SINGLE_ROW_OVERHEAD = 200
SINGLE_ROW_WORK = 1e9
# Elements of the temporaries of the first pair costs, per batch of pairs (small enough to stay
# in cache: at 2,000,000 they took twice as long).
PAIR_BLOCK_ELEMENTS = 100_000
# Largest dimension whose determinants are taken in closed form.
CLOSED_FORM_DIMENSION = 4
# Steps between two looks for groups that every tree has merged away.
COMPACT_EVERY = 8
# The Laplace expansion of a 4 x 4 determinant: the column pairs of the minors of rows 0-1,
# whose complements (for rows 2-3) are the same pairs in reverse order, and their signs.
_MINOR_COLUMNS = (np.array([0, 0, 0, 1, 1, 2]), np.array([1, 2, 3, 2, 3, 3]))
_MINOR_SIGNS = np.array([1.0, -1.0, 1.0, 1.0, -1.0, 1.0])


class _Symmetric:
    """Stacks of symmetric ``d x d`` matrices held entry-major: entry ``e`` of every matrix in
    ``packed[e]`` (one contiguous array per entry, so each arithmetic step runs on contiguous
    memory). The entries are the upper triangle, diagonal by diagonal (main diagonal first), for
    ``d <= CLOSED_FORM_DIMENSION``, and every entry above."""

    def __init__(self, d):
        self.d = d
        if d <= CLOSED_FORM_DIMENSION:
            self.rows = np.concatenate([np.arange(d - o) for o in range(d)])
            self.cols = np.concatenate([np.arange(o, d) for o in range(d)])
        else:
            self.rows, self.cols = np.divmod(np.arange(d * d), d)
        self.size = len(self.rows)
        self.index = np.empty((d, d), dtype=np.intp)
        self.index[self.rows, self.cols] = np.arange(self.size)
        self.index[self.cols, self.rows] = np.arange(self.size)
        self.diagonal = self.index[np.arange(d), np.arange(d)]
        if d == CLOSED_FORM_DIMENSION:  # the entries of the 2 x 2 minors, in one gather each
            first, second = _MINOR_COLUMNS
            self.minors = [np.concatenate([self.index[top, first], self.index[top + 1, second],
                                           self.index[top, second], self.index[top + 1, first]])
                           for top, first, second in ((0, first, second),
                                                      (2, first[::-1], second[::-1]))]

    def pack(self, full):
        """The entries of a ``(..., d, d)`` stack, ``(entries, ...)``."""
        return np.ascontiguousarray(np.moveaxis(full[..., self.rows, self.cols], -1, 0))

    def outer(self, v):
        """``v v^T`` of each vector of a ``(d, ...)`` stack (features first)."""
        return v[self.rows] * v[self.cols]

    def trace(self, packed):
        return packed[self.diagonal].sum(axis=0)

    def log_det(self, packed):
        """``log det`` of each matrix, ``-inf`` where the determinant is not positive."""
        d = self.d
        if d > CLOSED_FORM_DIMENSION:
            return _log_det(np.moveaxis(packed, 0, -1).reshape(*packed.shape[1:], d, d))
        if d == CLOSED_FORM_DIMENSION:
            return _log_positive(_laplace4(*(packed[entries] for entries in self.minors)))
        index = self.index
        return _log_positive(_determinant(lambda i, j: packed[index[i, j]], d))


def _log_det(matrices):
    """``log det`` of each matrix of a ``(..., d, d)`` stack, ``-inf`` where it is not positive:
    closed form for ``d <= 4``, ``numpy.linalg.slogdet`` above."""
    d = matrices.shape[-1]
    if d > CLOSED_FORM_DIMENSION:
        sign, logdet = np.linalg.slogdet(matrices)
        return np.where(sign > 0, logdet, -np.inf)
    return _log_positive(_determinant(lambda i, j: matrices[..., i, j], d))


def _log_positive(det):
    positive = det > 0
    return np.where(positive, np.log(np.where(positive, det, 1.0)), -np.inf)


def _determinant(entry, d):
    """Determinants of ``d x d`` matrices (``d <= 4``) whose ``(i, j)`` entries ``entry(i, j)``
    gives (arrays): cofactor expansion for ``d <= 3``, :func:`_laplace4` for ``d = 4``."""
    m = entry
    if d == 1:
        return m(0, 0)
    if d == 2:
        return m(0, 0) * m(1, 1) - m(0, 1) * m(1, 0)
    if d == 3:
        return (m(0, 0) * (m(1, 1) * m(2, 2) - m(1, 2) * m(2, 1))
                - m(0, 1) * (m(1, 0) * m(2, 2) - m(1, 2) * m(2, 0))
                + m(0, 2) * (m(1, 0) * m(2, 1) - m(1, 1) * m(2, 0)))
    first, second = _MINOR_COLUMNS

    def gathered(top, a, b):
        return np.stack([m(top, i) for i in a] + [m(top + 1, j) for j in b]
                        + [m(top, j) for j in b] + [m(top + 1, i) for i in a])

    return _laplace4(gathered(0, first, second), gathered(2, first[::-1], second[::-1]))


def _laplace4(top, bottom):
    """Determinants of 4 x 4 matrices by the Laplace expansion in the 2 x 2 minors of rows 0-1
    and of rows 2-3: ``top`` stacks the entries ``(0, a)``, ``(1, b)``, ``(0, b)``, ``(1, a)``
    of the six column pairs ``(a, b)`` of :data:`_MINOR_COLUMNS` (24 along the first axis),
    ``bottom`` those of rows 2-3 for the complementary pairs."""
    def minors(entries):
        return entries[:6] * entries[6:12] - entries[12:18] * entries[18:]

    signs = _MINOR_SIGNS.reshape(-1, *(1,) * (top.ndim - 1))
    return np.sum(signs * minors(top) * minors(bottom), axis=0)


class _Criterion:
    """The regularised ``n log |S|`` of a criterion (see :func:`model_based_tree`) on centred
    rows, for one tree per entry of ``n_clusters``: :meth:`matrices` gives the matrices whose
    log-determinants it takes, :meth:`finish` the terms from them, so that the trees of several
    criteria share one determinant pass (:meth:`terms` does both)."""

    def __init__(self, sym, xc, w, criterion, n_clusters):
        d = xc.shape[1]
        self.sym, self.trace = sym, criterion == "trace"
        self.n_trees = 1 if self.trace else len(n_clusters)
        data_cov = (xc * w[:, None]).T @ xc / w.sum()
        if self.trace:
            self.alpha = max(np.trace(data_cov) / d, np.finfo(np.float64).eps)
            return
        ridge = 1e-12 * np.trace(data_cov) / d * np.eye(d)
        self.prior = sym.pack(np.stack([data_cov / k ** (2.0 / d) + ridge
                                        for k in n_clusters]))[..., None]

    def matrices(self, scatter, counts, tree=slice(None)):
        """Packed ``(entries, trees, groups)`` matrices: ``S_g = (W_g + Sigma_0) / (n_g + 1)``
        (conjugate), ``W_g / n_g`` (trace); ``tree``: those of that tree alone."""
        if self.trace:
            return scatter / counts
        return (scatter + self.prior[:, tree]) / (counts + 1.0)

    def finish(self, log_det, scatter, counts):
        """The terms from the :meth:`matrices`' log-determinants: ``n_g log det S_g``
        (``inf`` where ``S_g`` is not positive definite, rounding only: the prior is), and
        ``n_g log(|W_g / n_g| + (tr W_g + alpha) / n_g)``, or ``n_g log((tr W_g + alpha) /
        n_g)`` for groups of at most ``d`` rows, whose scatter is singular (Fraley 1998, as
        mclust)."""
        if not self.trace:
            return counts * np.where(np.isfinite(log_det), log_det, np.inf)
        spread = (self.sym.trace(scatter) + self.alpha) / counts
        det = np.exp(log_det)
        return counts * np.log(np.where(counts > self.sym.d, det + spread, spread))

    def terms(self, scatter, counts, tree=slice(None)):
        matrices = self.matrices(scatter, counts, tree)
        if not self.trace or self.sym.d <= CLOSED_FORM_DIMENSION:
            return self.finish(self.sym.log_det(matrices), scatter, counts)
        # the trace criterion takes no determinant of a group of at most d rows (most groups
        # early in a tree from single rows), and above the closed forms one costs a LAPACK call
        large = np.broadcast_to(counts > self.sym.d, matrices.shape[1:])
        log_det = np.full(matrices.shape[1:], -np.inf)
        if large.any():
            log_det[large] = self.sym.log_det(matrices[:, large])
        return self.finish(log_det, scatter, counts)


def model_based_labels(X, weights, n_clusters, n_groups=None, criterion="conjugate"):
    """Labels of :func:`model_based_tree` cut at ``n_clusters`` groups."""
    return cut(model_based_tree(X, weights, n_clusters, n_groups, criterion), n_clusters)


def model_based_tree(X, weights, n_clusters, n_groups=None, criterion="conjugate"):
    """Model-based hierarchical agglomeration with unconstrained covariances ("VVV"), down to one
    group (a :class:`~gaussmix.engine.agglomeration.MergeTree`).

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
    act like repeated rows; on exact ties (copies of rows) the pair merged is the one mclust's
    ``hc`` merges: the one whose larger group index is largest, then its smaller one.
    ``n_clusters`` sets the default ``n_groups`` and the conjugate prior's scale; the trace
    criterion does not depend on it.

    Examples
    --------
    Two long, thin, parallel groups, which Ward's spherical criterion cuts across:

    >>> import numpy as np
    >>> from gaussmix.engine.agglomeration import cut, ward_labels
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(40, 2)) * [3.0, 0.1],
    ...                rng.normal(size=(40, 2)) * [3.0, 0.1] + [0.0, 1.0]])
    >>> truth = np.repeat([1, 0], 40)
    >>> bool(np.all(cut(model_based_tree(X, np.ones(80), 2), 2) == truth))
    True
    >>> bool(np.all(ward_labels(X, np.ones(80), 2) == truth))
    False
    """
    return model_based_trees(X, weights, [n_clusters], n_groups, criterion)[0]


def model_based_trees(X, weights, n_clusters, n_groups=None, criterion="conjugate",
                      trace_rows=None):
    """:func:`model_based_tree` for each number of groups in ``n_clusters``, built side by side:
    each merge step of every tree in one pass of array operations (a model selection grid
    needs one conjugate tree per number of components). Entries that need different starting
    Ward groups (see ``n_groups``; all that start from single rows share one) are built in
    separate passes. The trees are those :func:`model_based_tree` builds one at a time, merge
    for merge.

    ``trace_rows``: the same rows in other coordinates (mclust's scaled SVD) whose
    trace-criterion tree (``model_based_tree(trace_rows, weights, max(n_clusters),
    trace_groups(...), criterion="trace")``) is wanted too; it is built in the same pass when
    every tree starts from single rows, else on its own, and returned last.
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
        traced_from = min(n, trace_groups(n, max(wanted), d))
        # apart where it starts from other groups, or where its rows have fewer columns (mclust's
        # coordinates span at most as many dimensions as there are rows)
        if n > min(traced_from, *groups_of.values()) or traced[0].shape[1] != d:
            alone = _merge_side_by_side([traced], w, traced_from)[0]
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


def trace_groups(n_rows, n_clusters, d):
    """Starting groups of mclust's own agglomeration (the trace criterion): its single rows,
    as mclust's ``hc`` starts, where the whole agglomeration's modelled time,
    ``n_rows**2 * (SINGLE_ROW_OVERHEAD + d**3)`` nanoseconds, stays within
    ``SINGLE_ROW_WORK`` (a second); else :func:`default_groups`."""
    if n_rows * n_rows * (SINGLE_ROW_OVERHEAD + d**3) <= SINGLE_ROW_WORK:
        return n_rows
    return default_groups(n_clusters, d)


def _merge_side_by_side(sources, w, n_groups):
    """The trees of ``sources``, each ``(rows, criterion, n_clusters)`` with one tree per entry
    of ``n_clusters``, every merge step of all of them in one pass. All start from the first
    source's ``n_groups`` Ward groups (single rows when there are at most that many, the only
    case where several sources are given)."""
    X = sources[0][0]
    n, d = X.shape
    sym = _Symmetric(d)
    start = ward_labels(X, w, n_groups) if n > n_groups else None
    start_labels = np.arange(n) if start is None else start
    g = int(start_labels.max()) + 1
    counts = np.bincount(start_labels, weights=w, minlength=g)
    cost, own, first_means, means, scatter, criteria = [], [], [], [], [], []
    for rows, criterion, n_clusters in sources:
        xc = rows - np.average(rows, axis=0, weights=w)
        criteria.append(_Criterion(sym, xc, w, criterion, n_clusters))
        source_means, source_scatter = _group_moments(sym, xc, w, start_labels, counts)
        source_own = criteria[-1].terms(source_scatter[:, None], counts[None])
        cost.append(_pair_costs(criteria[-1], len(n_clusters), counts, source_means,
                                source_scatter, source_own, sym))
        own.append(np.broadcast_to(source_own, (len(n_clusters), g)))
        first_means += [source_means] * len(n_clusters)
        means.append(np.repeat(source_means.T[:, None], len(n_clusters), axis=1))
        scatter.append(np.repeat(source_scatter[:, None], len(n_clusters), axis=1))
    lockstep = _Lockstep(sym, criteria, np.concatenate(cost), np.concatenate(own),
                         np.concatenate(means, axis=1), np.concatenate(scatter, axis=1), counts)
    pairs, merged_means = lockstep.run()
    return [MergeTree(first_means[t], pairs[t], merged_means[t], start)
            for t in range(len(pairs))]


class _Lockstep:
    """The working arrays of trees merged in lockstep, one slot per group that some tree still
    holds: per tree, each slot's weight, mean (features first), packed scatter (entries first),
    criterion term, cost to every slot and cheapest partner."""

    def __init__(self, sym, criteria, cost, own, means, scatter, counts):
        self.sym, self.criteria = sym, criteria
        n_trees, g = own.shape
        self.cost, self.own, self.means, self.scatter = cost, np.array(own), means, scatter
        self.counts = np.tile(counts, (n_trees, 1))
        self.slots = np.arange(g)  # the group each slot holds
        self.active = np.ones((n_trees, g), dtype=bool)
        self.trees = np.arange(n_trees)
        # each slot's cheapest partner (the last, on ties): the cheapest pair is then the last
        # slot's of the least cost, the pair mclust's hc merges on exact ties (the last in
        # the order of its packed pairs, by the larger index and then the smaller)
        self.nn = _last_argmin(cost)
        self.nn_cost = np.take_along_axis(cost, self.nn[:, :, None], axis=2)[:, :, 0]

    def terms(self, scatter, counts):
        """Every tree's criterion terms of ``(entries, trees, slots)`` stacks, each tree under
        its source's criterion, the log-determinants of all of them in one pass."""
        if len(self.criteria) == 1:
            return self.criteria[0].terms(scatter, counts)
        parts, lo = [], 0
        for criterion in self.criteria:
            own = slice(lo, lo + criterion.n_trees)
            parts.append((own, criterion.matrices(scatter[:, own], counts[own])))
            lo += criterion.n_trees
        log_det = self.sym.log_det(np.concatenate([matrices for _, matrices in parts], axis=1))
        return np.concatenate([criterion.finish(log_det[own], scatter[:, own], counts[own])
                               for criterion, (own, _) in zip(self.criteria, parts)])

    def run(self):
        """``(pairs, merged_means)`` of every tree, merged down to one group."""
        n_trees, g = self.own.shape
        pairs = np.empty((n_trees, g - 1, 2), dtype=np.intp)
        merged_means = np.empty((g - 1, self.sym.d, n_trees))
        for step in range(g - 1):
            if step % COMPACT_EVERY == COMPACT_EVERY - 1:
                self.compact()
            a, b, merged_means[step] = self.merge_cheapest()
            pairs[:, step, 0], pairs[:, step, 1] = self.slots[a], self.slots[b]
        return pairs, merged_means.transpose(2, 0, 1)

    def merge_cheapest(self):
        """Merge each tree's cheapest pair of groups, slot ``b`` into slot ``a``; returns ``a``,
        ``b`` and the merged group's mean ``(d, trees)``."""
        tr, sym = self.trees, self.sym
        i = _last_argmin(self.nn_cost)
        j = self.nn[tr, i]
        a, b = np.minimum(i, j), np.maximum(i, j)
        na, nb = self.counts[tr, a], self.counts[tr, b]
        ma, mb = self.means[:, tr, a], self.means[:, tr, b]
        total = na + nb
        merged = self.scatter[:, tr, a] + self.scatter[:, tr, b] + (na * nb / total) * (
            sym.outer(mb - ma))
        ma = (na * ma + nb * mb) / total
        self.means[:, tr, a], self.scatter[:, tr, a], self.counts[tr, a] = ma, merged, total
        self.active[tr, b] = False
        self.cost[tr, b] = np.inf
        self.cost[tr, :, b] = np.inf
        self.nn_cost[tr, b] = np.inf
        # the merged group's own term and its cost of joining every slot, in one pass
        na, nb = total[:, None], self.counts
        union = merged[:, :, None] + self.scatter + (na * nb / (na + nb)) * sym.outer(
            self.means - ma[:, :, None])
        both = self.terms(np.concatenate([merged[:, :, None], union], axis=2),
                          np.concatenate([na, na + nb], axis=1))
        self.own[tr, a] = both[:, 0]
        others = self.active.copy()
        others[tr, a] = False
        row = np.where(others, _cost(both[:, 1:], both[:, :1], self.own), np.inf)
        self.cost[tr, a] = row
        self.cost[tr, :, a] = row
        self._update_partners(a, b, others, row)
        return a, b, ma

    def _update_partners(self, a, b, others, row):
        """Each tree's slots' cheapest partners after its slot ``b`` joined ``a``, whose new costs
        are ``row`` (``others``: the slots the tree holds, besides ``a``): slots that chose ``a``
        or ``b`` look again, the rest compare ``a``."""
        tr, nn, nn_cost = self.trees, self.nn, self.nn_cost
        nn[tr, a] = nearest = _last_argmin(row)
        nn_cost[tr, a] = row[tr, nearest]
        stale = others & ((nn == a[:, None]) | (nn == b[:, None]))
        if stale.any():
            t, r = np.nonzero(stale)
            costs = self.cost[t, r]
            nn[t, r] = best = _last_argmin(costs)
            nn_cost[t, r] = costs[np.arange(len(t)), best]
        closer = others & ~stale & ((row < nn_cost) | ((row == nn_cost) & (a[:, None] > nn)))
        np.copyto(nn, a[:, None], where=closer)
        np.copyto(nn_cost, row, where=closer)

    def compact(self):
        """Drop the slots of groups that every tree has merged away, once they are a quarter of
        the slots (the order of the others, and so every tie-break, is kept)."""
        keep = np.flatnonzero(self.active.any(axis=0))
        if len(keep) > 0.75 * len(self.slots):
            return
        position = np.zeros(len(self.slots), dtype=np.intp)
        position[keep] = np.arange(len(keep))
        self.cost = self.cost[:, keep[:, None], keep]
        self.nn = position[self.nn[:, keep]]  # a held group's partner is held
        for name in ("own", "counts", "active", "nn_cost"):
            setattr(self, name, getattr(self, name)[:, keep])
        self.means, self.scatter = self.means[:, :, keep], self.scatter[:, :, keep]
        self.slots = self.slots[keep]


def _last_argmin(values):
    """The index of the last minimum along the last axis (``np.argmin`` finds the first)."""
    return values.shape[-1] - 1 - np.argmin(values[..., ::-1], axis=-1)


def _group_moments(sym, xc, w, labels, counts):
    """Means ``(g, d)`` and packed scatter matrices ``(entries, g)`` of the groups ``labels``
    makes of the rows ``xc``."""
    g, d = len(counts), xc.shape[1]
    if g == len(xc) and np.array_equal(labels, np.arange(g)):  # single rows: no scatter
        return xc.copy(), np.zeros((sym.size, g))
    means = np.stack([np.bincount(labels, weights=w * xc[:, j], minlength=g) for j in range(d)],
                     1)
    means /= counts[:, None]
    scatter = np.zeros((g, d, d))
    for k in range(g):
        rows = labels == k
        dk = xc[rows] - means[k]
        scatter[k] = (dk * w[rows, None]).T @ dk
    return means, sym.pack(scatter)


def _cost(union, first, second):
    """The cost ``union - first - second`` of merging two groups from their criterion terms.
    It is ``nan`` where every term is ``inf`` (scatters singular even with the prior, on rows
    that span fewer dimensions than the data has columns, or on copies of one row): the
    agglomeration then merges in argmin's order (``nan`` first), which still gives a partition,
    as any start of such data is."""
    with np.errstate(invalid="ignore"):
        return union - first - second


def _pair_costs(criterion, n_trees, counts, means, scatter, own, sym):
    """``(trees, g, g)`` costs of merging every pair of groups, symmetric, ``inf`` on the
    diagonal."""
    g = len(means)
    cost = np.full((n_trees, g, g), np.inf)
    first, second = np.triu_indices(g, 1)  # every pair once, in batches
    block = max(1, PAIR_BLOCK_ELEMENTS // (sym.size * n_trees))
    for lo in range(0, len(first), block):
        a, b = first[lo : lo + block], second[lo : lo + block]
        merged = scatter[:, a] + scatter[:, b] + (counts[a] * counts[b] / (counts[a] + counts[b])
                                                  ) * sym.outer((means[b] - means[a]).T)
        pair = _cost(criterion.terms(merged[:, None], (counts[a] + counts[b])[None]),
                     own[:, a], own[:, b])
        cost[:, a, b] = pair
        cost[:, b, a] = pair
    return cost
