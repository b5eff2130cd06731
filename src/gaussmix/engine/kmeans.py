"""k-means runs side by side: the k-means starts that the ``n_init`` search screens.

The search screens dozens of k-means starts per fit (:func:`gaussmix.engine.starts.screen_plan`).
On a few hundred rows scikit-learn's ``KMeans(n_init=1).fit`` costs about 0.7 ms a call, five
times its arithmetic, so the screened starts of small data run here side by side, every step of
all of them in one pass of array operations. Each run is the one ``KMeans(n_clusters, n_init=1,
random_state=rs).fit(X, sample_weight)`` makes when ``rs`` gives it the same random numbers,
step for step (scikit-learn 1.x's k-means++ seeding and Lloyd iterations):

* the rows are centred on their (unweighted) mean and the tolerance is ``1e-4`` times their mean
  variance per feature;
* k-means++ (Arthur & Vassilvitskii 2007) with ``2 + log(K)`` local trials per centre draws one
  uniform number for the first centre and that many for each other one (:func:`kmeans_draws`);
  the caller draws them from its random stream where ``KMeans`` would have;
* Lloyd's iterations assign each row to its nearest centre (the first on ties) and move each
  centre to the weighted mean of its rows; a centre left without rows takes the row farthest
  from its own centre; a run stops when the labels repeat, or when the centres moved by at most
  the tolerance (its labels are then taken again from the final centres), or after 300 steps.

The labels are scikit-learn's but where rounding decides a near tie (different BLAS calls sum
in different orders), which only changes which starts the search screens.
"""

from __future__ import annotations

import numpy as np

# A k-means run's relative tolerance and most Lloyd steps (scikit-learn's defaults).
KMEANS_TOL = 1e-4
KMEANS_MAX_ITER = 300
# Runs side by side at most this many distances (runs x rows x clusters) per step.
SIDE_BY_SIDE_ELEMENTS = 2_000_000


def kmeans_draws(n_clusters):
    """How many uniform numbers k-means++ draws for ``n_clusters`` centres: one for the first,
    ``2 + int(log(n_clusters))`` local trials for each of the others (scikit-learn's default)."""
    return 1 + (n_clusters - 1) * (2 + int(np.log(n_clusters)))


def kmeans_side_by_side(X, sample_weight, n_clusters, draws):
    """Labels ``(runs, n_samples)`` of k-means runs on ``X``, one per row of ``draws`` (each
    the :func:`kmeans_draws` uniform numbers its k-means++ seeding takes), side by side.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.cluster import KMeans
    >>> from gaussmix.engine.kmeans import kmeans_draws, kmeans_side_by_side
    >>> X = np.random.default_rng(0).normal(size=(200, 2)) + np.repeat([[0, 0], [6, 0]], 100, 0)
    >>> draws = np.random.RandomState(3).random_sample((1, kmeans_draws(2)))
    >>> ours = kmeans_side_by_side(X, None, 2, draws)[0]
    >>> theirs = KMeans(2, n_init=1, random_state=3).fit(X).labels_
    >>> bool(np.array_equal(ours, theirs))
    True
    """
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, np.float64)
    tol = float(np.mean(np.var(X, axis=0))) * KMEANS_TOL
    Xc = X - X.mean(axis=0)
    squared_norms = np.einsum("ij,ij->i", Xc, Xc)
    draws = np.atleast_2d(np.asarray(draws, dtype=np.float64))
    per_step = len(X) * max(n_clusters, 2 + int(np.log(n_clusters)))
    group = max(1, SIDE_BY_SIDE_ELEMENTS // per_step)
    labels = []
    for lo in range(0, len(draws), group):
        centres = _kmeans_plusplus(Xc, w, squared_norms, n_clusters, draws[lo : lo + group])
        labels.append(_lloyd(Xc, w, centres, tol))
    return np.concatenate(labels)


def _squared_distances(points, Xc, squared_norms):
    """Squared distances ``(..., n_samples)`` of ``points`` ``(..., D)`` to the rows, as
    scikit-learn's ``_euclidean_distances`` takes them (``-2 p.x + |p|^2 + |x|^2``, at least 0)."""
    distances = -2 * (points @ Xc.T)
    distances += np.einsum("...j,...j->...", points, points)[..., None]
    distances += squared_norms
    return np.maximum(distances, 0, out=distances)


def _kmeans_plusplus(Xc, w, squared_norms, n_clusters, draws):
    """Centres ``(runs, K, D)`` of the k-means++ seeding of each run, from its ``draws``."""
    runs, n_trials = len(draws), 2 + int(np.log(n_clusters))
    every = np.arange(runs)
    cdf = np.cumsum(w / w.sum())
    cdf /= cdf[-1]
    chosen = cdf.searchsorted(draws[:, 0], side="right")  # RandomState.choice(n, p=...)
    centres = np.empty((runs, n_clusters, Xc.shape[1]))
    centres[:, 0] = Xc[chosen]
    closest = _squared_distances(Xc[chosen], Xc, squared_norms)  # (runs, n)
    potential = closest @ w
    for c in range(1, n_clusters):
        targets = draws[:, 1 + (c - 1) * n_trials : 1 + c * n_trials] * potential[:, None]
        cumulative = np.cumsum(w * closest, axis=1)
        candidates = np.stack([np.searchsorted(cumulative[r], targets[r]) for r in every])
        np.clip(candidates, None, len(Xc) - 1, out=candidates)
        distances = _squared_distances(Xc[candidates], Xc, squared_norms)  # (runs, trials, n)
        np.minimum(closest[:, None], distances, out=distances)
        potentials = distances @ w
        best = np.argmin(potentials, axis=1)
        potential = potentials[every, best]
        closest = distances[every, best]
        centres[:, c] = Xc[candidates[every, best]]
    return centres


def _assign(Xc, centres):
    """Each run's nearest centre for every row (the first on ties): ``(runs, n_samples)``."""
    norms = np.einsum("rkj,rkj->rk", centres, centres)
    distances = -2 * (Xc @ centres.transpose(0, 2, 1))  # (runs, n, K)
    distances += norms[:, None, :]
    return np.argmin(distances, axis=2)


def _lloyd(Xc, w, centres, tol):
    """Lloyd's iterations of every run from ``centres`` ``(runs, K, D)``; the final labels."""
    runs, k, d = centres.shape
    n = len(Xc)
    final = np.empty((runs, n), dtype=np.intp)
    previous = np.full((runs, n), -1, dtype=np.intp)
    active = np.arange(runs)
    weighted = w[:, None] * Xc
    for _ in range(KMEANS_MAX_ITER):
        labels = _assign(Xc, centres[active])
        bins = (labels + k * np.arange(len(active))[:, None]).ravel()
        weights = np.bincount(bins, weights=np.tile(w, len(active)), minlength=len(active) * k)
        sums = np.stack([np.bincount(bins, weights=np.tile(weighted[:, j], len(active)),
                                     minlength=len(active) * k) for j in range(d)], axis=1)
        weights, sums = weights.reshape(-1, k), sums.reshape(-1, k, d)
        old = centres[active]
        for r in np.flatnonzero(~np.all(weights > 0, axis=1)):
            _relocate_empty(Xc, w, old[r], sums[r], weights[r], labels[r])
        # each centre the weighted mean of its rows, times the reciprocal of its weight as
        # scikit-learn takes it (a centre of no weight keeps its zero sums)
        scale = np.divide(1.0, weights, out=np.zeros_like(weights), where=weights > 0)
        new = sums * scale[..., None]
        shift = np.sum(np.sqrt(np.sum((new - old) ** 2, axis=2)) ** 2, axis=1)
        centres[active] = new
        repeated = np.all(labels == previous[active], axis=1)
        moved_little = ~repeated & (shift <= tol)
        final[active[repeated]] = labels[repeated]
        if moved_little.any():  # labels again from the final centres
            final[active[moved_little]] = _assign(Xc, new[moved_little])
        previous[active] = labels
        active = active[~(repeated | moved_little)]
        if not len(active):
            return final
    final[active] = _assign(Xc, centres[active])
    return final


def _relocate_empty(Xc, w, old, sums, weights, labels):
    """A centre left without rows takes the row farthest from its own centre (scikit-learn's
    rule; the row keeps its label until the next step)."""
    empty = np.flatnonzero(weights == 0)
    distances = np.sum((Xc - old[labels]) ** 2, axis=1)
    far = np.argpartition(distances, -len(empty))[: -len(empty) - 1 : -1]
    for cluster, row in zip(empty, far):
        sums[labels[row]] -= Xc[row] * w[row]
        sums[cluster] = Xc[row] * w[row]
        weights[cluster] = w[row]
        weights[labels[row]] -= w[row]
