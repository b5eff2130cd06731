"""Additive sufficient statistics: the currency between the E-step and the M-step.

:class:`SuffStats` holds, per component, the weight sum, the first and the second moments around
one point per component (``shift``), and the block's log-likelihood. Statistics of two blocks add,
so in-memory, memory-mapped, streamed and Dask data all reduce the same way. The second moments
have the layout of the kernel family (see :mod:`gaussmix.engine.covariance.base`):
``(K, D, D)`` for ``"dense"``, ``(D, D)`` pooled over components for ``"shared"`` and ``(K, D)``
for ``"diagonal"``.

Also here: the sample covariances the M-steps start from (:func:`sample_covariances`), the test
for moments that lost their digits to cancellation (:func:`cancelled_components`) and the
second pass that retakes them around their components' own means
(:func:`recentre_from_responsibilities`).
"""

from __future__ import annotations

import numpy as np

FAMILIES = ("dense", "shared", "diagonal")


class SuffStats:
    """Additive sufficient statistics of a weighted, soft-assigned data block.

    Attributes
    ----------
    family : {'dense', 'shared', 'diagonal'}
        Layout of ``s2``.
    nk : ndarray of shape (n_components,)
        Sum of ``sample_weight * resp`` per component.
    s1 : ndarray of shape (n_components, n_features)
        Weighted first moment around ``shift``.
    s2 : ndarray
        Weighted second moment around ``shift``: ``(K, D, D)`` dense, ``(D, D)`` shared (pooled
        over components), ``(K, D)`` diagonal.
    loglik : float
        Sum of ``sample_weight * log p(x)`` (0 for statistics built from given responsibilities).
    entropy : float
        Sum of ``sample_weight * -sum_k r log r``, the responsibilities' entropy, for kernels that
        track it (``Kernel(track_entropy=True)``); 0 otherwise.
    weight : float
        Sum of sample weights.
    n_samples : int
        Number of rows seen.
    shift : ndarray of shape (n_components, n_features)
        The point each component's moments are taken around: the common shift near the data,
        or, for a component far from it relative to its spread, that component's own mean
        (shared: ``s2`` pools each component's rows around its own point).
    extras : dict of str to ndarray or float
        Further additive sums a component family or the noise component asks the E-step for
        (see :mod:`gaussmix.engine.families`): a Student-t family's ``"resp"`` (the
        responsibilities' sums, while ``nk`` sums the moments' weights ``r u``) and ``"resp_log"``;
        the noise component's ``"background"``. They add, scale and split like the moments.
    """

    __slots__ = ("entropy", "extras", "family", "loglik", "n_samples", "nk", "s1", "s2", "shift",
                 "weight")

    def __init__(self, n_components, n_features, family, shift):
        if family not in FAMILIES:
            raise ValueError(f"Unknown statistics layout {family!r}; expected one of {FAMILIES}.")
        self.family = family
        shift = np.asarray(shift, dtype=np.float64)
        self.shift = np.array(np.broadcast_to(shift, (n_components, n_features)))
        self.nk = np.zeros(n_components)
        self.s1 = np.zeros((n_components, n_features))
        if family == "dense":
            self.s2 = np.zeros((n_components, n_features, n_features))
        elif family == "shared":
            self.s2 = np.zeros((n_features, n_features))
        else:
            self.s2 = np.zeros((n_components, n_features))
        self.loglik = 0.0
        self.entropy = 0.0
        self.weight = 0.0
        self.n_samples = 0
        self.extras = {}

    @classmethod
    def of(cls, family, nk, s1, s2, shift, loglik=0.0, weight=0.0, n_samples=0, extras=None):
        """Statistics holding these arrays (taken as they are, not copied)."""
        out = cls.__new__(cls)
        out.family, out.nk, out.s1, out.s2, out.shift = family, nk, s1, s2, shift
        out.loglik, out.entropy, out.weight, out.n_samples = loglik, 0.0, weight, n_samples
        out.extras = {} if extras is None else extras
        return out

    @classmethod
    def from_moments(cls, weights, means, centred, family):
        """Per-sample statistics around ``means`` whose weights are ``weights`` and whose
        centred second moments are ``centred`` (family layout; shared: pooled, unweighted).

        The inverse of the M-step: ``partial_fit`` continues from a fitted model with them.
        """
        weights = np.asarray(weights, dtype=np.float64)
        weights = weights / weights.sum()
        means = np.asarray(means, dtype=np.float64)
        stats = cls(*means.shape, family, means)
        mc = means - stats.shift
        stats.nk = weights.copy()
        stats.s1 = weights[:, None] * mc
        if family == "dense":
            stats.s2 = weights[:, None, None] * (centred + mc[:, :, None] * mc[:, None, :])
        elif family == "shared":
            stats.s2 = centred + (weights * mc.T) @ mc
        else:
            stats.s2 = weights[:, None] * (centred + mc**2)
        stats.weight = 1.0
        return stats

    def __iadd__(self, other):
        if not np.array_equal(self.shift, other.shift):
            raise ValueError("Cannot add statistics taken around different shifts.")
        self.nk += other.nk
        self.s1 += other.s1
        self.s2 += other.s2
        self.loglik += other.loglik
        self.entropy += other.entropy
        self.weight += other.weight
        self.n_samples += other.n_samples
        for name, value in other.extras.items():
            mine = self.extras.get(name)
            self.extras[name] = value.copy() if mine is None and isinstance(value, np.ndarray) \
                else (value if mine is None else mine + value)
        return self

    def __add__(self, other):
        out = self.copy()
        out += other
        return out

    def copy(self):
        out = SuffStats.__new__(SuffStats)
        for name in self.__slots__:
            value = getattr(self, name)
            setattr(out, name, value.copy() if isinstance(value, np.ndarray) else value)
        out.extras = {name: np.copy(value) if isinstance(value, np.ndarray) else value
                      for name, value in self.extras.items()}
        return out

    def recentred(self, shift):
        """The same statistics taken around ``shift`` (``(D,)`` or one row per component)."""
        out = self.copy()
        out.shift = np.array(np.broadcast_to(np.asarray(shift, dtype=np.float64), self.shift.shape))
        delta = out.shift - self.shift  # (K, D)
        if not delta.any():
            return out
        out.s1 = self.s1 - self.nk[:, None] * delta
        cross = self.s1[:, :, None] * delta[:, None, :]  # s1_k d_k^T
        cross = cross + cross.transpose(0, 2, 1)
        square = self.nk[:, None, None] * delta[:, :, None] * delta[:, None, :]
        if self.family == "dense":
            out.s2 = self.s2 - cross + square
        elif self.family == "shared":
            out.s2 = self.s2 - cross.sum(axis=0) + square.sum(axis=0)
        else:
            out.s2 = self.s2 - 2.0 * self.s1 * delta + self.nk[:, None] * delta**2
        return out

    def scale(self, factor):
        """A copy with every extensive quantity multiplied by ``factor`` (for stepwise EM)."""
        out = self.copy()
        out.nk *= factor
        out.s1 *= factor
        out.s2 *= factor
        out.loglik *= factor
        out.entropy *= factor
        out.weight *= factor
        out.extras = {name: value * factor for name, value in out.extras.items()}
        return out


def components_of(stats, groups, components, family):
    """The stacked statistics of the mixtures ``groups`` (a slice) of a batch, whose components
    are ``components`` (a slice), for mixtures whose covariance model has kernel family
    ``family``: diagonal moments from dense ones where the batch's kernel was dense; a shared
    family keeps the dense moments (its M-step pools them per mixture, see
    :func:`split_groups`)."""
    s2 = stats.s2[components]
    layout = stats.family
    if family == "diagonal" and layout == "dense":
        s2, layout = np.diagonal(s2, axis1=1, axis2=2), "diagonal"
    loglik = np.reshape(stats.loglik, -1)[groups]
    return SuffStats.of(layout, stats.nk[components], stats.s1[components], s2,
                        stats.shift[components], loglik, stats.weight, stats.n_samples,
                        _extras_of(stats, groups, components))


def _extras_of(stats, groups, components):
    """The extra sums of ``components`` (per-component arrays) or ``groups`` (per-mixture
    values of a batch) of stacked statistics."""
    k_all = len(stats.nk)
    out = {}
    for name, value in stats.extras.items():
        value = np.asarray(value)
        out[name] = value[components] if value.ndim and len(value) == k_all else \
            (value.reshape(-1)[groups] if value.ndim else value)
    return out


def split_groups(stats, n_groups, family):
    """The statistics of each mixture of a batch (:func:`gaussmix.engine.estep.stacked_kernel`):
    ``n_groups`` mixtures whose components were stacked, with one log-likelihood each.

    ``family`` is the layout the mixtures' covariance model takes; ``"shared"`` pools each
    mixture's dense moments (every component's rows around its own point, as the shared layout
    holds them). The arrays are views of ``stats``.
    """
    k = len(stats.nk) // n_groups
    parts = []
    for g in range(n_groups):
        own = slice(g * k, (g + 1) * k)
        s2 = stats.s2[own].sum(axis=0) if family == "shared" else stats.s2[own]
        parts.append(SuffStats.of(
            family, stats.nk[own], stats.s1[own], s2, stats.shift[own],
            float(np.asarray(stats.loglik).reshape(-1)[g]), stats.weight, stats.n_samples,
            _extras_of(stats, g, own),
        ))
    return parts


def sample_covariances(stats, nk, mc, pooled_groups=None):
    """Weighted sample covariances in the statistics' layout: ``s2 / nk - mc mc^T`` per component
    (dense, symmetrised), pooled over components (shared), or per feature (diagonal).

    ``nk`` are the weight sums the M-step divides by, ``mc = s1 / nk`` the means around
    ``stats.shift``. The start of every covariance model's M-step. ``pooled_groups``: dense
    statistics of that many mixtures stacked (a batch of EM runs) give each mixture's pooled
    covariance, ``(pooled_groups, D, D)``.
    """
    if pooled_groups is not None:
        d = mc.shape[1]
        s2 = stats.s2.reshape(pooled_groups, -1, d, d).sum(axis=1)
        nk, mc = nk.reshape(pooled_groups, -1), mc.reshape(pooled_groups, -1, d)
        cov = (s2 - np.einsum("gk,gki,gkj->gij", nk, mc, mc)) / nk.sum(axis=1)[:, None, None]
        return 0.5 * (cov + cov.transpose(0, 2, 1))
    if stats.family == "dense":
        cov = stats.s2 / nk[:, None, None] - mc[:, :, None] * mc[:, None, :]
        return 0.5 * (cov + cov.transpose(0, 2, 1))
    if stats.family == "shared":
        cov = (stats.s2 - (nk * mc.T) @ mc) / nk.sum()
        return 0.5 * (cov + cov.T)
    return stats.s2 / nk[:, None] - mc**2


def cancelled_components(stats, dtype):
    """Components whose variances lost more than half of ``dtype``'s digits to cancellation:
    ``s2/nk - (s1/nk)^2`` below ``sqrt(eps)`` times ``s2/nk`` in some feature (shared: every
    component, if the pooled variance did)."""
    nk = np.maximum(stats.nk, np.finfo(np.float64).tiny)
    if stats.family == "dense":
        raw = np.diagonal(stats.s2, axis1=1, axis2=2) / nk[:, None]
    elif stats.family == "shared":
        raw = np.diag(stats.s2) / nk.sum()
    else:
        raw = stats.s2 / nk[:, None]
    mc = stats.s1 / nk[:, None]
    limit = np.sqrt(np.finfo(dtype).eps)
    if stats.family == "shared":
        variance = raw - (nk @ mc**2) / nk.sum()
        lost = np.any(variance < limit * raw)
        return np.arange(len(nk)) if lost else np.zeros(0, dtype=np.intp)
    lost = raw - mc**2 < limit * raw
    if not lost.any():  # the usual case
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(np.any(lost, axis=1) & (stats.nk > 0))


def recentre_from_responsibilities(stats, X, sample_weight, resp_chunks, components):
    """Retake the moments of ``components`` around their own means (a second pass over the same
    responsibilities), for components whose moments around the shared shift cancelled (see
    :func:`cancelled_components`). Shared statistics pool every component, so it retakes them
    all. Returns new statistics."""
    out = stats.copy()
    k_all = len(stats.nk)
    comps = np.arange(k_all) if stats.family == "shared" else np.asarray(components)
    nk = np.maximum(stats.nk[comps], np.finfo(np.float64).tiny)
    centres = stats.shift[comps] + stats.s1[comps] / nk[:, None]
    d = X.shape[1]
    s1 = np.zeros((len(comps), d))
    s2 = np.zeros((len(comps), d, d))
    for start, stop, resp in resp_chunks:
        rows = start if stop is None else slice(start, stop)
        x = np.asarray(X[rows], dtype=np.float64)
        r = np.asarray(resp, dtype=np.float64)[:, comps]
        if sample_weight is not None:
            r = r * np.asarray(sample_weight[rows], dtype=np.float64)[:, None]
        for i, centre in enumerate(centres):
            z = x - centre
            rz = z * r[:, i : i + 1]
            s1[i] += rz.sum(axis=0)
            s2[i] += rz.T @ z
    out.shift[comps] = centres
    out.s1[comps] = s1
    if stats.family == "dense":
        out.s2[comps] = s2
    elif stats.family == "shared":
        out.s2 = s2.sum(axis=0)
    else:
        out.s2[comps] = np.diagonal(s2, axis1=1, axis2=2)
    return out


def centred_rows(X, weights=None):
    """``X`` (float64) minus its weighted mean."""
    mean = np.average(X, axis=0, weights=weights).astype(np.float64)
    return np.asarray(X, dtype=np.float64) - mean


def principal_axes(centred, weights):
    """Eigenvalues and eigenvectors (columns) of the weighted covariance ``sum_i w_i x_i
    x_i^T / sum w`` of ``centred`` rows. With fewer rows than columns they come from the thin
    SVD of the rows (``O(n^2 D)``; ``n`` axes, the others have no spread), not from the
    ``D x D`` matrix's eigendecomposition (``O(D^3)``: 7 s for 20 rows of 2,000 columns)."""
    if len(centred) < centred.shape[1]:
        _, singular, vt = np.linalg.svd(centred * np.sqrt(weights / weights.sum())[:, None],
                                        full_matrices=False)
        return singular**2, vt.T
    return np.linalg.eigh((centred * weights[:, None]).T @ centred / weights.sum())
