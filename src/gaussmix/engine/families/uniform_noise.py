"""The uniform noise component of mclust (Banfield & Raftery 1993; ``Mclust(...,
initialization = list(noise = ...))``): a component of constant density ``1 / V`` over a
region of volume ``V`` holding the data, whose weight EM learns. It has no moments; the kernel
normalises it with the other components (``Kernel(background=log w_0 - log V)``) and the
statistics carry its responsibilities' sum as ``extras["background"]``."""

from __future__ import annotations

import numpy as np


class UniformNoise:
    """A uniform background of log-volume ``log_volume``."""

    name = "noise"

    def __init__(self, log_volume):
        self.log_volume = float(log_volume)

    def log_density(self, weight):
        """``log w_0 - log V``: the kernel's ``background``."""
        with np.errstate(divide="ignore"):
            return float(np.log(weight)) - self.log_volume


def box_log_volume(minimum, maximum):
    """The log-volume of the data's bounding box (the product of the column ranges);
    ``ValueError`` when a column does not vary (its box has no volume)."""
    ranges = np.asarray(maximum, dtype=np.float64) - np.asarray(minimum, dtype=np.float64)
    if not np.all(ranges > 0):
        flat = np.flatnonzero(~(ranges > 0)).tolist()
        raise ValueError(
            f"noise=True spans the data's bounding box, but column(s) {flat} take a single "
            "value, so the box has no volume; drop those columns or give the volume as "
            "noise=V (a positive number).")
    return float(np.sum(np.log(ranges)))


#: Rows the start's screen for stray points looks at, at most (a random subsample above it,
#: drawn with the number of rows as its seed, as the agglomerative starts draw theirs).
SCREEN_ROWS = 10_000
#: Neighbours whose distance measures how crowded a row's surroundings are: enough that a pair
#: or a small clump of stray points is not mistaken for a cluster, few enough that a cluster of
#: a few dozen rows is not mistaken for strays.
SCREEN_NEIGHBOURS = 10


def stray_rows(X, sample_weight=None):
    """The rows a noise component's start takes as its own, and the rows they were picked from.

    A simplified nearest-neighbour cleaning (Byers & Raftery 1998, mclust's recommended noise
    start): each row's distance to its ``SCREEN_NEIGHBOURS``-th nearest neighbour, on columns
    scaled to unit variance, is small inside clusters and large for points scattered over a
    wider region; a row is a stray when the logarithm of that distance lies beyond Tukey's
    far-out fence (third quartile plus three interquartile ranges), a rule that assumes no
    distribution. Rows of weight 0 are not data and are left out. Returns ``(rows, weights,
    stray)``: the rows screened (all of them, or a random ``SCREEN_ROWS``), their weights
    (``None`` when unweighted) and the boolean mask of strays among them.
    """
    from sklearn.neighbors import NearestNeighbors

    n = X.shape[0]
    index = np.arange(n)
    if sample_weight is not None:
        index = index[np.asarray(sample_weight) > 0]
    if len(index) > SCREEN_ROWS:
        index = np.sort(np.random.default_rng(n).choice(index, SCREEN_ROWS, replace=False))
    rows = np.asarray(X[index] if len(index) < n else X, dtype=np.float64)
    weights = None if sample_weight is None else np.asarray(sample_weight)[index]
    stray = np.zeros(len(rows), dtype=bool)
    k = min(SCREEN_NEIGHBOURS, len(rows) - 1)
    scale = rows.std(axis=0)
    if k < 2 or not np.all(scale > 0):
        return rows, weights, stray
    if weights is None:
        neighbours = NearestNeighbors(n_neighbors=k).fit(rows / scale)
        distance = neighbours.kneighbors(return_distance=True)[0][:, -1]  # itself left out
    else:
        distance = _weighted_neighbour_distance(rows / scale, np.asarray(weights, float), k)
    with np.errstate(divide="ignore"):
        log_distance = np.log(distance)
    finite = np.isfinite(log_distance)
    if finite.sum() < 4:
        return rows, weights, stray
    q1, q3 = np.percentile(log_distance[finite], [25, 75])
    stray = finite & (log_distance > q3 + 3.0 * (q3 - q1))
    return rows, weights, stray


def _weighted_neighbour_distance(rows, weights, k):
    """Each row's distance to its ``k``-th nearest neighbour when a row of weight ``w`` stands
    for ``w`` rows at its place (its own ``w - 1`` copies at distance 0): the distance at which
    the neighbours' cumulative weight reaches ``k``, so that integer weights screen exactly as
    repeated rows do."""
    from sklearn.neighbors import NearestNeighbors

    m = min(len(rows) - 1, 4 * k)  # enough neighbours unless many weigh far under one
    distance, index = NearestNeighbors(n_neighbors=m).fit(rows).kneighbors(return_distance=True)
    reached = (weights - 1.0)[:, None] + np.cumsum(weights[index], axis=1) >= k
    first = np.where(reached.any(axis=1), reached.argmax(axis=1), m - 1)
    out = distance[np.arange(len(rows)), first]
    out[weights - 1.0 >= k] = 0.0  # its own copies are its neighbours
    return out
