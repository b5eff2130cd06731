"""Starting responsibilities: each strategy turns data into the statistics of a first M-step.

A strategy is a function ``(X, sample_weight, n_components, random_state, dtype) ->
resp_chunks`` where ``resp_chunks`` yields ``(start, stop, resp)`` triples of (possibly soft)
responsibilities for row ranges, or ``(rows, None, resp)`` for a handful of selected rows. The
estimators turn them into statistics with :func:`gaussmix.engine.estep.resp_statistics` and run
one M-step, exactly as scikit-learn's ``_initialize`` does. Large data never needs an
``n_samples x n_components`` array: responsibilities are produced one chunk at a time.

The end of the module plans the ``n_init`` search of the default start (which kinds of starts
are screened, and which of them go on to full EM runs).
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np
from threadpoolctl import ThreadpoolController

from .agglomeration import cut, ward_tree
from .model_based import model_based_tree, model_based_trees, trace_groups
from .stats import centred_rows, principal_axes

# Rows used by the hierarchical start: its cost is O(HIERARCHICAL_SUBSAMPLE**2) in time and memory.
HIERARCHICAL_SUBSAMPLE = 2000
# Above this many rows, k-means runs on a random subsample and every row then takes the label of
# its nearest centre: the start is as good for EM and the cost no longer grows with n_samples.
KMEANS_SUBSAMPLE = 100_000
_LABEL_CHUNK = 65_536
# k-means on at most this many rows runs single-threaded: thread start-up dominates below it.
KMEANS_SERIAL_ROWS = 20_000
# The screened k-means starts of at most this many rows run side by side (engine.kmeans): below
# it scikit-learn's per-call cost dominates (18 runs on 1,000 rows: 15 ms against 60 ms).
KMEANS_SIDE_BY_SIDE_ROWS = 4096
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
    from sklearn.cluster import KMeans  # here: the default start never needs it

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


def labelled(labels):
    """A start strategy whose responsibilities are the given hard ``labels`` (one per row)."""
    def strategy(X, sample_weight, n_components, random_state, dtype):
        return _label_chunks(labels, n_components, dtype)

    return strategy


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
    from sklearn.cluster import kmeans_plusplus

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


# Merge trees of the agglomerative starts, by the data they were built from: every number of
# components (and every covariance type) is a cut of the same tree, so a grid of fits on one
# data set (select_model) agglomerates each kind once.
_TREES = OrderedDict()
_TREES_KEPT = 64
# Numbers of components a grid of fits is about to ask starts for (see planned_components).
_PLANNED = []


@contextmanager
def planned_components(n_components):
    """Within this context, the first model-based start that needs its tree builds those of
    every number of components in ``n_components`` (a model selection grid) side by side
    (:func:`~gaussmix.engine.agglomeration.model_based_trees`): the conjugate tree depends on
    the number of components, and side by side they cost a few trees' time, not one each.

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix as gm
    >>> from gaussmix.engine.starts import planned_components
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> with planned_components(range(1, 5)):
    ...     fits = [gm.GaussianMixture(k, n_init=4, random_state=0).fit(X) for k in range(1, 5)]
    """
    _PLANNED.append(frozenset(int(k) for k in n_components))
    try:
        yield
    finally:
        _PLANNED.pop()


def _tree_key(kind, rows, weights):
    digest = hashlib.blake2b(digest_size=16)
    for part in (np.ascontiguousarray(rows), np.ascontiguousarray(weights)):
        digest.update(str(part.shape).encode())
        digest.update(part.tobytes())
    return kind, digest.hexdigest()


def _keep_tree(key, tree):
    """Cache ``tree`` (with the labels of its cuts, filled as they are asked for)."""
    _TREES[key] = (tree, {})
    while len(_TREES) > _TREES_KEPT:
        _TREES.popitem(last=False)


def _cached_tree(kind, rows, weights, build):
    """``(tree, cuts)``: the :class:`~gaussmix.engine.agglomeration.MergeTree` ``build()`` makes
    for these rows and weights, built once and kept for the last ``_TREES_KEPT`` such inputs,
    and the labels of its cuts by number of groups."""
    key = _tree_key(kind, rows, weights)
    if key not in _TREES:
        _keep_tree(key, build())
    _TREES.move_to_end(key)
    return _TREES[key]


def _cut_cached(kind, rows, weights, n_components, build):
    """Labels of the cached tree of ``kind`` (built by ``build()``) cut at ``n_components``
    (every covariance type of a grid asks for the same cut); one group needs no tree (every
    tree's root holds all rows)."""
    if n_components == 1:
        return np.zeros(len(rows), dtype=np.intp)
    tree, cuts = _cached_tree(kind, rows, weights, build)
    if n_components not in cuts:
        cuts[n_components] = cut(tree, n_components)
    return cuts[n_components]


def _agglomeration_rows(X, sample_weight):
    """Rows (and their weights) the agglomerative starts work on.

    Every row of positive weight when there are at most ``HIERARCHICAL_SUBSAMPLE`` of them, else
    one subsample of that many for the data set, whatever the fit's ``random_state``: a
    pseudo-random draw seeded by the number of rows, so that every start, number of components
    and covariance model of a grid cuts the same trees (mclust likewise agglomerates one subset
    per data set).
    """
    rows = None if sample_weight is None else np.flatnonzero(sample_weight > 0)
    n_rows = X.shape[0] if rows is None else len(rows)
    if n_rows > HIERARCHICAL_SUBSAMPLE:  # a generator only then (making one costs ~90 us)
        chosen = sample_rows(n_rows, HIERARCHICAL_SUBSAMPLE,
                             np.random.RandomState(n_rows % (2**32)))
        rows = chosen if rows is None else rows[chosen]
    elif rows is None:
        rows = np.arange(n_rows)
    return rows, (np.ones(len(rows)) if sample_weight is None else sample_weight[rows])


def init_hierarchical(X, sample_weight, n_components, random_state, dtype):
    """Model-based hierarchical agglomeration (Ward) on at most 2,000 rows; the default start.

    Deterministic: above ``HIERARCHICAL_SUBSAMPLE`` rows, on one subsample per data set (see
    :func:`_agglomeration_rows`). Rows of zero weight take no part.
    """
    rows, w = _agglomeration_rows(X, sample_weight)
    Xs = np.asarray(X[rows], dtype=np.float64)
    labels = _cut_cached("ward", Xs, w, n_components, lambda: ward_tree(Xs, w))
    return [(rows, None, _one_hot(labels, n_components, dtype))]


def init_hierarchical_whitened(X, sample_weight, n_components, random_state, dtype):
    """Ward agglomeration of whitened rows (mclust's "SVD" transformation for its starts).

    The rows (the same ones as :func:`init_hierarchical` uses) are rotated to the principal axes
    of their weighted covariance and each axis is scaled to unit variance, so that Ward's
    spherical merge cost becomes a Mahalanobis one: elongated, correlated groups are then merged
    as a common-covariance ('tied') model would. Deterministic (see
    :func:`_agglomeration_rows`).
    """
    rows, w = _agglomeration_rows(X, sample_weight)
    Xs = np.asarray(X[rows], dtype=np.float64)
    labels = _cut_cached("ward-whitened", Xs, w, n_components,
                         lambda: ward_tree(_whitened_rows(Xs, w), w))
    return [(rows, None, _one_hot(labels, n_components, dtype))]


def _whitened_rows(Xs, w):
    """The rows rotated to the principal axes of their weighted covariance, each axis scaled
    to unit variance."""
    xc = centred_rows(Xs, w)
    values, vectors = principal_axes(xc, w)
    scale = np.sqrt(np.maximum(values, values.max() * 1e-12 + np.finfo(float).tiny))
    return xc @ vectors / scale


#: Above this many features a model-based (VVV) agglomeration, whose merges cost O(d^3) each
#: and whose groups hold d x d scatters, is replaced by Ward's (a start, not the fit: wide data
#: stays proportionate, e.g. 20 rows of 2000 columns took 77 s and 1.4 GB on this start alone).
MODEL_BASED_MAX_FEATURES = 100


def _too_wide(X):
    return X.shape[1] > MODEL_BASED_MAX_FEATURES


def init_model_based(X, sample_weight, n_components, random_state, dtype):
    """Model-based (VVV) hierarchical agglomeration on the rows :func:`init_hierarchical` uses
    (Ward's agglomeration for more than :data:`MODEL_BASED_MAX_FEATURES` features)."""
    if _too_wide(X):
        return init_hierarchical(X, sample_weight, n_components, random_state, dtype)
    rows, w = _agglomeration_rows(X, sample_weight)
    Xs = np.asarray(X[rows], dtype=np.float64)
    # the conjugate prior's scale depends on the number of components: one tree per K, those
    # of a planned grid built side by side (the next fit agglomerates the same rows)
    labels = _cut_cached(("vvv", n_components), Xs, w, n_components,
                         lambda: _model_based_trees(Xs, w, n_components))
    return [(rows, None, _one_hot(labels, n_components, dtype))]


def _model_based_trees(Xs, w, n_components):
    """The conjugate tree of ``n_components``, built beside (and caching) those of the other
    planned numbers of components that ``Xs`` has rows for and that are not cached yet, and
    beside mclust's trace tree (:func:`init_model_based_svd`, the search's next start) when that
    is not cached either (later starts agglomerate the same rows)."""
    planned = _PLANNED[-1] if _PLANNED else ()
    others = [k for k in sorted(planned) if 1 < k <= len(Xs) and k != n_components
              and _tree_key(("vvv", k), Xs, w) not in _TREES]
    trace_key = _tree_key(("vvv-trace", trace_groups(len(Xs), n_components, Xs.shape[1])), Xs,
                          w)
    trace_rows = None if trace_key in _TREES else _mclust_rows(Xs, w)
    trees = model_based_trees(Xs, w, [n_components, *others], trace_rows=trace_rows)
    if trace_rows is not None:
        _keep_tree(trace_key, trees.pop())
    for k, tree in zip(others, trees[1:]):
        _keep_tree(_tree_key(("vvv", k), Xs, w), tree)
    return trees[0]


def _mclust_rows(Xs, w):
    """mclust's coordinates for its start: each column standardised, projected on its
    principal axes and divided by the square root of their singular values."""
    mean = np.average(Xs, axis=0, weights=w)
    spread = np.sum(w[:, None] * (Xs - mean) ** 2, axis=0) / max(w.sum() - 1.0, 1.0)
    Z = (Xs - mean) / np.sqrt(np.maximum(spread, np.finfo(float).tiny))
    _, singular, axes = np.linalg.svd(Z * np.sqrt(w)[:, None], full_matrices=False)
    singular = np.maximum(singular, singular.max() * 1e-12 + np.finfo(float).tiny)
    return Z @ axes.T / np.sqrt(singular)


def init_model_based_svd(X, sample_weight, n_components, random_state, dtype):
    """mclust's own start: model-based (VVV) agglomeration with its trace-regularised criterion
    on the scaled SVD of the rows (:func:`_mclust_rows`), on the rows :func:`init_hierarchical`
    uses (Ward's agglomeration for more than :data:`MODEL_BASED_MAX_FEATURES` features)."""
    if _too_wide(X):
        return init_hierarchical(X, sample_weight, n_components, random_state, dtype)
    rows, w = _agglomeration_rows(X, sample_weight)
    Xs = np.asarray(X[rows], dtype=np.float64)
    # the tree does not depend on K, only on how many Ward groups it starts from
    n_groups = trace_groups(len(Xs), n_components, Xs.shape[1])
    labels = _cut_cached(("vvv-trace", n_groups), Xs, w, n_components, lambda: model_based_tree(
        _mclust_rows(Xs, w), w, n_components, n_groups, criterion="trace"))
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
MCLUST_START = "hierarchical-mclust"
INITIALIZERS_ALL = {
    **INITIALIZERS,
    WHITENED_START: init_hierarchical_whitened,
    MODEL_BASED_START: init_model_based,
    MCLUST_START: init_model_based_svd,
}


# ---------------------------------------------------------------------- the n_init search
# With the default init_params and n_init > 1, initialisation 0 is the hierarchical start (so more
# initialisations never do worse than one), initialisation 1 the hierarchical start on whitened
# rows, initialisation 2 the model-based (VVV) agglomeration, initialisation 3 mclust's own start
# (VVV agglomeration on the scaled SVD), and the others come from "emEM"
# screening (Biernacki, Celeux & Govaert 2003): SCREEN_CANDIDATES * (n_init - 1) starts of
# different kinds each run SCREEN_ITER EM steps, and n_init - 4 of them, the kinds taking turns,
# go on to full EM runs. Starts of different kinds
# reach different optima: k-means favours compact groups, random responsibilities let EM itself
# separate the groups, and starts from single rows reach small and tight components.
SCREEN_STRATEGIES = ("kmeans", "random", "kmeans", "random_from_data")
SCREEN_CANDIDATES = 8
SCREEN_ITER = 20
# Screening runs on a random subsample of at most this many rows (the full EM run uses all rows).
SCREEN_SUBSAMPLE = 20_000


#: Most memory the parameters of a fit's planned runs may take (its ``n_init`` starts and
#: their screening pool, each holding a few copies of its mixture's parameters).
MAX_PLANNED_BYTES = 2 * 2**30
# Copies of one run's parameters alive at once (state, statistics, factors, buffers).
_COPIES_PER_RUN = 4


def planned_bytes(n_init, n_components, n_features, covariance_shape):
    """``(runs, bytes per run)`` of a fit's planned runs: its ``n_init`` starts and, for
    ``n_init > 1``, the screening pool."""
    runs = n_init + (SCREEN_CANDIDATES * (n_init - 1) if n_init > 1 else 0)
    per_run = (math.prod(covariance_shape) + n_components * (n_features + 2)) * 8 * _COPIES_PER_RUN
    return runs, per_run


def check_planned_memory(n_init, n_components, n_features, covariance_shape):
    """Refuse a fit whose planned runs would hold more than :data:`MAX_PLANNED_BYTES` of
    parameters (``n_init=10**9``, or thousands of components of wide data), before anything is
    allocated; the message says what would fit."""
    runs, per_run = planned_bytes(n_init, n_components, n_features, covariance_shape)
    if runs * per_run <= MAX_PLANNED_BYTES:
        return
    most = max(1, (MAX_PLANNED_BYTES // per_run - 1) // (SCREEN_CANDIDATES + 1) + 1)
    advice = (f"use n_init <= {most}" if per_run * (SCREEN_CANDIDATES + 2) <= MAX_PLANNED_BYTES
              else "use fewer components or features, or a simpler covariance_type")
    raise ValueError(
        f"n_init={n_init} with {n_components} components of {n_features} features plans "
        f"{runs} runs holding about {runs * per_run / 2**30:.3g} GiB of parameters, more "
        f"than the {MAX_PLANNED_BYTES >> 30} GiB gaussmix plans for one fit; {advice}."
    )


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
