"""Initialisation strategies: each turns data into starting sufficient statistics.

A strategy is a function ``(X, sample_weight, n_components, random_state) -> resp_chunks`` where
``resp_chunks`` yields ``(start, stop, resp)`` triples of (possibly soft) responsibilities for row
ranges, or ``(rows, None, resp)`` for a handful of selected rows. The EM driver turns them into
statistics with :func:`gaussmix._stats.resp_statistics` and runs one M-step, exactly as
scikit-learn's ``_initialize`` does. Large data never needs an ``n_samples x n_components`` array:
responsibilities are produced one chunk at a time.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans, kmeans_plusplus
from threadpoolctl import ThreadpoolController

# Rows used by the hierarchical start: its cost is O(HIERARCHICAL_SUBSAMPLE**2) in time and memory.
HIERARCHICAL_SUBSAMPLE = 2000
# Above this many rows, k-means runs on a random subsample and every row then takes the label of
# its nearest centre: the start is as good for EM and the cost no longer grows with n_samples.
KMEANS_SUBSAMPLE = 100_000
_LABEL_CHUNK = 65_536
# k-means on at most this many rows runs single-threaded: thread start-up dominates below it.
KMEANS_SERIAL_ROWS = 20_000
# Bytes of one (chunk, n_components) block of starting responsibilities: keeps the start's memory
# O(chunk x n_components) and small, as for the E-step.
_LABEL_CHUNK_BYTES = 2 * 1024 * 1024


def _label_chunk(n_components):
    """Rows per block of starting responsibilities for ``n_components`` columns."""
    return int(min(_LABEL_CHUNK, max(256, _LABEL_CHUNK_BYTES // (8 * max(1, n_components)))))


def _label_chunks(labels, n_components, dtype):
    """Yield one-hot responsibilities of given labels, one block of rows at a time."""
    chunk = _label_chunk(n_components)
    for start in range(0, len(labels), chunk):
        stop = min(start + chunk, len(labels))
        yield start, stop, _one_hot(labels[start:stop], n_components, dtype)


def sample_rows(n_samples, size, random_state):
    """``size`` distinct row indices out of ``n_samples``, sorted, in O(size) memory.

    ``RandomState.choice(n, size, replace=False)`` permutes all ``n`` indices (80 MB for 10M rows);
    this draws with replacement until enough distinct rows are found, then keeps a random
    ``size`` of them.
    """
    if size >= n_samples:
        return np.arange(n_samples)
    if n_samples <= 4 * size:
        return np.sort(random_state.choice(n_samples, size, replace=False))
    found = np.unique(random_state.randint(0, n_samples, size=size + size // 4 + 16))
    while len(found) < size:
        more = random_state.randint(0, n_samples, size=size)
        found = np.unique(np.concatenate([found, more]))
    return np.sort(found[random_state.permutation(len(found))[:size]])


def _one_hot(labels, n_components, dtype):
    resp = np.zeros((len(labels), n_components), dtype=dtype)
    resp[np.arange(len(labels)), labels] = 1
    return resp


def nearest_centre_chunks(X, centres, dtype, chunk=None):
    """Yield one-hot responsibilities of the nearest centre, chunk by chunk."""
    centres = np.asarray(centres, dtype=np.float64)
    shift = centres.mean(axis=0)
    cc = (centres - shift).astype(dtype)
    half_sq = 0.5 * np.sum(cc.astype(np.float64) ** 2, axis=1).astype(dtype)
    chunk = _label_chunk(len(cc)) if chunk is None else chunk
    for start in range(0, X.shape[0], chunk):
        stop = min(start + chunk, X.shape[0])
        xc = np.subtract(X[start:stop], shift.astype(dtype), dtype=dtype)
        labels = np.argmax(xc @ cc.T - half_sq, axis=1)
        yield start, stop, _one_hot(labels, len(cc), dtype)


_CONTROLLER = []


def _openmp_controller():
    """One shared ``ThreadpoolController`` (finding the libraries costs ~40 ms per creation)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


def init_kmeans(X, sample_weight, n_components, random_state, dtype):
    n_samples = X.shape[0]
    if n_samples <= KMEANS_SUBSAMPLE:
        rows = slice(None)
        sw = sample_weight
    else:
        rows = sample_rows(n_samples, KMEANS_SUBSAMPLE, random_state)
        sw = None if sample_weight is None else sample_weight[rows]
    Xs = np.asarray(X[rows])
    km = KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
    if Xs.shape[0] <= KMEANS_SERIAL_ROWS:
        # OpenMP threads only cost here (30x slower on a busy 2-core machine); same result
        with _openmp_controller().limit(limits=1, user_api="openmp"):
            km.fit(Xs, sample_weight=sw)
    else:
        km.fit(Xs, sample_weight=sw)
    if n_samples <= KMEANS_SUBSAMPLE:
        return _label_chunks(km.labels_, n_components, dtype)
    return nearest_centre_chunks(X, km.cluster_centers_, dtype)


def init_random(X, sample_weight, n_components, random_state, dtype, chunk=None):
    # Drawn chunk by chunk from one stream: identical to scikit-learn's single (n, K) draw.
    n_samples = X.shape[0]
    chunk = _label_chunk(n_components) if chunk is None else chunk
    for start in range(0, n_samples, chunk):
        stop = min(start + chunk, n_samples)
        resp = np.asarray(random_state.uniform(size=(stop - start, n_components)), dtype=dtype)
        resp /= resp.sum(axis=1)[:, None]
        yield start, stop, resp


def _selected_rows(indices, n_components, dtype):
    order = np.argsort(indices)
    rows = np.asarray(indices)[order]
    resp = np.zeros((n_components, n_components), dtype=dtype)
    resp[np.arange(n_components), order] = 1
    return [(rows, None, resp)]


def init_random_from_data(X, sample_weight, n_components, random_state, dtype):
    indices = random_state.choice(X.shape[0], size=n_components, replace=False)
    return _selected_rows(indices, n_components, dtype)


def init_kmeans_plusplus(X, sample_weight, n_components, random_state, dtype):
    n_samples = X.shape[0]
    if n_samples <= KMEANS_SUBSAMPLE:
        _, indices = kmeans_plusplus(
            np.asarray(X), n_components, random_state=random_state, sample_weight=sample_weight
        )
        return _selected_rows(indices, n_components, dtype)
    rows = sample_rows(n_samples, KMEANS_SUBSAMPLE, random_state)
    sw = None if sample_weight is None else sample_weight[rows]
    _, indices = kmeans_plusplus(
        np.asarray(X[rows]), n_components, random_state=random_state, sample_weight=sw
    )
    return _selected_rows(rows[indices], n_components, dtype)


def ward_labels(X, weights, n_clusters):
    """Weighted Ward agglomeration of the rows of ``X`` into ``n_clusters`` groups.

    Merges, one pair at a time, the two groups whose union costs the least Gaussian likelihood
    under a common spherical covariance (Ward's criterion ``w_a w_b / (w_a + w_b) ||m_a - m_b||^2``,
    the "EII" model of model-based hierarchical clustering). A row of integer weight ``w`` behaves
    exactly like ``w`` repeated rows, and the result does not depend on the order of the rows
    (except for exact ties between different groups). Uses nearest-neighbour bookkeeping, valid
    because Ward's criterion is reducible: O(n**2) time and memory.

    Returns labels in ``0 .. n_clusters - 1``, numbered in the lexicographic order of the groups'
    means so that the numbering does not depend on the order of the rows either.
    """
    X = np.asarray(X, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64).copy()
    n = X.shape[0]
    if n < n_clusters:
        raise ValueError(
            f"Only {n} rows with positive weight for {n_clusters} components; use fewer components."
        )
    means = X.copy()
    parent = np.arange(n)
    active = np.ones(n, dtype=bool)
    cost = cdist(X, X, "sqeuclidean")
    for lo in range(0, n, 32):  # Ward weights, a few rows at a time: no n x n temporaries
        wb = w[lo : lo + 32, None]
        cost[lo : lo + 32] *= (wb * w) / (wb + w)
    np.fill_diagonal(cost, np.inf)
    nn = np.argmin(cost, axis=1)
    nn_cost = cost[np.arange(n), nn]
    for _ in range(n - n_clusters):
        i = int(np.argmin(nn_cost))
        j = int(nn[i])
        a, b = min(i, j), max(i, j)
        total = w[a] + w[b]
        means[a] = (w[a] * means[a] + w[b] * means[b]) / total
        w[a] = total
        parent[b] = a
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
    return _group_labels(parent, active, means)


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


def _agglomeration_rows(X, sample_weight, random_state):
    """Rows (and their weights) the agglomerative starts work on.

    Every row of positive weight when there are at most ``HIERARCHICAL_SUBSAMPLE`` of them (no
    random numbers drawn), else a random subsample of that many.
    """
    if sample_weight is None:
        rows = sample_rows(X.shape[0], HIERARCHICAL_SUBSAMPLE, random_state)
        return rows, np.ones(len(rows))
    rows = np.flatnonzero(sample_weight > 0)
    if len(rows) > HIERARCHICAL_SUBSAMPLE:
        rows = rows[sample_rows(len(rows), HIERARCHICAL_SUBSAMPLE, random_state)]
    return rows, sample_weight[rows]


def init_hierarchical(X, sample_weight, n_components, random_state, dtype):
    """Model-based hierarchical agglomeration (Ward) on at most 2,000 rows; the default start.

    Deterministic for data of at most ``HIERARCHICAL_SUBSAMPLE`` rows; above that, on a random
    subsample drawn from ``random_state``. Rows of zero weight take no part.
    """
    rows, w = _agglomeration_rows(X, sample_weight, random_state)
    labels = ward_labels(np.asarray(X[rows]), w, n_components)
    return [(rows, None, _one_hot(labels, n_components, dtype))]


def init_hierarchical_whitened(X, sample_weight, n_components, random_state, dtype):
    """Ward agglomeration of whitened rows (mclust's "SVD" transformation for its starts).

    The rows (the same ones as :func:`init_hierarchical` uses) are rotated to the principal axes
    of their weighted covariance and each axis is scaled to unit variance, so that Ward's
    spherical merge cost becomes a Mahalanobis one: elongated, correlated groups are then merged
    as a common-covariance ('tied') model would. Deterministic for at most
    ``HIERARCHICAL_SUBSAMPLE`` rows.
    """
    rows, w = _agglomeration_rows(X, sample_weight, random_state)
    Xs = np.asarray(X[rows], dtype=np.float64)
    centre = np.average(Xs, axis=0, weights=w)
    xc = Xs - centre
    cov = (xc * w[:, None]).T @ xc / w.sum()
    values, vectors = np.linalg.eigh(cov)
    scale = np.sqrt(np.maximum(values, values.max() * 1e-12 + np.finfo(float).tiny))
    labels = ward_labels(xc @ vectors / scale, w, n_components)
    return [(rows, None, _one_hot(labels, n_components, dtype))]


# Groups the model-based (VVV) agglomeration starts from: larger data is first cut into this many
# Ward groups; its cost is O(VVV_GROUPS**2 * n_features**3).
VVV_GROUPS = 300


def _log_dets(scatter, counts, prior_scale, prior_count):
    """``n_g * log det S_g`` with ``S_g = (W_g + prior_count * prior_scale) / (n_g + prior_count)``."""
    cov = (scatter + prior_count * prior_scale) / (counts + prior_count)[..., None, None]
    sign, logdet = np.linalg.slogdet(cov)
    return counts * np.where(sign > 0, logdet, np.inf)


def model_based_labels(X, weights, n_clusters, n_groups=None):
    """Model-based hierarchical agglomeration with unconstrained covariances ("VVV").

    Merges, one pair at a time, the two groups whose union loses the least classification
    likelihood under Gaussian groups that each have their own covariance (Banfield & Raftery
    1993; Fraley 1998): the merge cost is ``n_ab log|S_ab| - n_a log|S_a| - n_b log|S_b|``. Small
    groups have singular scatter matrices, so each ``S_g`` is regularised towards a conjugate
    prior scale: ``S_g = (W_g + Sigma_0) / (n_g + 1)``, with ``Sigma_0`` the data covariance
    divided by ``n_clusters ** (2 / n_features)`` (the size of one of ``n_clusters`` equal cells,
    the default scale of mclust's prior). Above ``n_groups`` rows (default ``VVV_GROUPS``) it
    starts from that many Ward groups instead of single rows. Integer weights act like repeated
    rows; labels are numbered as in :func:`ward_labels`.
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
    start = ward_labels(X, w, n_groups) if n > n_groups else np.arange(n)
    g = int(start.max()) + 1
    centre = np.average(X, axis=0, weights=w)
    xc = X - centre
    data_cov = (xc * w[:, None]).T @ xc / w.sum()
    prior_scale = data_cov / n_clusters ** (2.0 / d) + 1e-12 * np.trace(data_cov) / d * np.eye(d)
    counts = np.bincount(start, weights=w, minlength=g)
    means = np.stack([np.bincount(start, weights=w * xc[:, j], minlength=g) for j in range(d)], 1)
    means /= counts[:, None]
    scatter = np.zeros((g, d, d))
    for k in range(g):
        rows = start == k
        dk = xc[rows] - means[k]
        scatter[k] = (dk * w[rows, None]).T @ dk
    own = _log_dets(scatter, counts, prior_scale, 1.0)

    def union(a, others):
        na, nb = counts[a], counts[others]
        diff = means[others] - means[a]
        merged = scatter[a] + scatter[others] + (na * nb / (na + nb))[:, None, None] * (
            diff[:, :, None] * diff[:, None, :]
        )
        return merged, na + nb

    cost = np.full((g, g), np.inf)
    for a in range(g - 1):
        others = np.arange(a + 1, g)
        merged, total = union(a, others)
        cost[a, others] = _log_dets(merged, total, prior_scale, 1.0) - own[a] - own[others]
    cost = np.minimum(cost, cost.T)
    active = np.ones(g, dtype=bool)
    parent = np.arange(g)
    for _ in range(g - n_clusters):
        flat = int(np.argmin(cost))
        a, b = divmod(flat, g)
        a, b = min(a, b), max(a, b)
        merged, total = union(a, np.array([b]))
        means[a] = (counts[a] * means[a] + counts[b] * means[b]) / total[0]
        scatter[a], counts[a] = merged[0], total[0]
        own[a] = _log_dets(scatter[a], counts[a], prior_scale, 1.0)
        active[b] = False
        parent[b] = a
        cost[b, :] = np.inf
        cost[:, b] = np.inf
        others = np.flatnonzero(active)
        others = others[others != a]
        if len(others):
            merged, total = union(a, others)
            row = _log_dets(merged, total, prior_scale, 1.0) - own[a] - own[others]
            cost[a, others] = row
            cost[others, a] = row
    return _group_labels(parent, active, means)[start]


def init_model_based(X, sample_weight, n_components, random_state, dtype):
    """Model-based (VVV) hierarchical agglomeration on the rows :func:`init_hierarchical` uses."""
    rows, w = _agglomeration_rows(X, sample_weight, random_state)
    labels = model_based_labels(np.asarray(X[rows]), w, n_components)
    return [(rows, None, _one_hot(labels, n_components, dtype))]


INITIALIZERS = {
    "hierarchical": init_hierarchical,
    "kmeans": init_kmeans,
    "k-means++": init_kmeans_plusplus,
    "random": init_random,
    "random_from_data": init_random_from_data,
}
# Not an init_params value: initialisation 1 of the default search.
WHITENED_START = "hierarchical-whitened"
MODEL_BASED_START = "hierarchical-vvv"
INITIALIZERS_ALL = {
    **INITIALIZERS,
    WHITENED_START: init_hierarchical_whitened,
    MODEL_BASED_START: init_model_based,
}


# ---------------------------------------------------------------------- the n_init search
# With the default init_params and n_init > 1, initialisation 0 is the hierarchical start (so more
# initialisations never do worse than one), initialisation 1 the hierarchical start on whitened
# rows, initialisation 2 the model-based (VVV) agglomeration, and the others come from "emEM"
# screening (Biernacki, Celeux & Govaert 2003): SCREEN_CANDIDATES * (n_init - 1) starts of
# different kinds each run SCREEN_ITER EM steps, and n_init - 3 of them, the kinds taking turns,
# go on to full EM runs. Starts of different kinds
# reach different optima: k-means favours compact groups, random responsibilities let EM itself
# separate the groups, and starts from single rows reach small and tight components.
SCREEN_STRATEGIES = ("kmeans", "random", "kmeans", "random_from_data")
SCREEN_CANDIDATES = 8
SCREEN_ITER = 20
# Screening runs on a random subsample of at most this many rows (the full EM run uses all rows).
SCREEN_SUBSAMPLE = 20_000


def screen_plan(n_screened):
    """``(start kinds, EM steps)`` of the pool screened for ``n_screened`` initialisations.

    ``SCREEN_CANDIDATES`` starts per initialisation, the kinds taken in turn.
    """
    kinds = len(SCREEN_STRATEGIES)
    n_candidates = SCREEN_CANDIDATES * n_screened
    return [SCREEN_STRATEGIES[j % kinds] for j in range(n_candidates)], SCREEN_ITER


def pick_screened(found, n_keep):
    """The ``n_keep`` starts to continue, from screened ``(bound, kind, params)`` triples.

    Kinds take turns (the kind with the best start first), each giving its best start not yet
    taken whose bound differs from every taken one (equal bounds mean the same optimum). Taking
    turns keeps the search diverse: starts from single rows often lead early on with small, tight
    components, while k-means starts lead to the best balanced solutions later.
    """
    by_kind = {}
    for bound, kind, params in sorted(found, key=lambda item: -item[0]):
        by_kind.setdefault(kind, []).append((bound, params))
    queues = sorted(by_kind.values(), key=lambda queue: -queue[0][0])
    taken_bounds, chosen = [], []
    while len(chosen) < n_keep and any(queues):
        for queue in queues:
            while queue:
                bound, params = queue.pop(0)
                if all(abs(bound - b) > 1e-9 * max(1.0, abs(b)) for b in taken_bounds):
                    taken_bounds.append(bound)
                    chosen.append((bound, params))
                    break
            if len(chosen) == n_keep:
                break
    chosen.sort(key=lambda item: -item[0])
    return [params for _, params in chosen]


def screening_rows(n_samples, random_state, limit=None):
    """Rows the screening runs on: all of them (``None``), or a sorted random subsample."""
    limit = SCREEN_SUBSAMPLE if limit is None else limit
    if n_samples <= limit:
        return None
    return sample_rows(n_samples, limit, random_state)


def em_steps(X, sample_weight, params, covariance_type, reg_covar, n_iter, chunk, tol):
    """Run at most ``n_iter`` EM steps from ``params``; return ``(lower_bound, params)``.

    ``params`` is ``(weights, means, covariances, precision_factors)`` (float64). Stops early
    once the mean log-likelihood improves by less than ``tol``. Raises ``ValueError`` when a
    component collapses (its covariance cannot be factorised).
    """
    from ._stats import em_step

    lower_bound = -np.inf
    for _ in range(n_iter):
        previous = lower_bound
        lower_bound, params = em_step(
            X, sample_weight, params, covariance_type, reg_covar, X.dtype.type, chunk
        )
        if abs(lower_bound - previous) < tol:
            break
    return lower_bound, params


