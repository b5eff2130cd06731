"""EM as sufficient statistics: the E-step kernels, the additive statistics, and the M-step.

One E-step and one M-step per covariance type, and nothing else does EM arithmetic:

* :class:`Kernel` turns the current parameters into the arrays the E-step needs for one dtype
  (stacked precision factors, shifted means, per-component constants).
* :func:`em_statistics` runs the E-step over a block of rows, chunk by chunk, and returns
  :class:`SuffStats`. Statistics of two blocks add (``a + b``), so in-memory, memory-mapped, streamed
  and Dask data all reduce the same way.
* :func:`m_step` turns summed statistics into weights, means and covariances.

All second moments are taken around a ``shift`` (a point near the data, e.g. the current mixture
mean), so data far from the origin loses no precision. Statistics are float64 whatever the input
dtype; the heavy per-chunk kernels run in the input's dtype.
"""

from __future__ import annotations

import numpy as np

from ._covariance import log_det_cholesky

LOG_2PI = np.log(2.0 * np.pi)

# Working-set target for one chunk of the E-step, in bytes: small enough to stay in cache.
_CHUNK_BYTES = 2 * 1024 * 1024


def chunk_rows(n_features, n_components, covariance_type, itemsize, target=_CHUNK_BYTES):
    """Rows per chunk so that the chunk's temporaries fit in about ``target`` bytes."""
    if covariance_type == "full":
        width = n_components * n_features + n_features * n_features + n_components
    elif covariance_type == "tied":
        width = n_components * n_features + n_features + n_components
    else:
        width = 2 * n_features + 2 * n_components
    rows = target // max(1, width * itemsize)
    return int(min(max(rows, 256), 65536))


class SuffStats:
    """Additive sufficient statistics of a weighted, soft-assigned data block.

    Attributes
    ----------
    nk : ndarray of shape (n_components,)
        Sum of ``sample_weight * resp`` per component.
    s1 : ndarray of shape (n_components, n_features)
        Weighted first moment around ``shift``.
    s2 : ndarray
        Weighted second moment around ``shift``: ``(K, D, D)`` for full, ``(D, D)`` for tied (pooled
        over components), ``(K, D)`` for diag and spherical.
    loglik : float
        Sum of ``sample_weight * log p(x)`` (0 for statistics built from given responsibilities).
    weight : float
        Sum of sample weights.
    n_samples : int
        Number of rows seen.
    """

    __slots__ = ("nk", "s1", "s2", "loglik", "weight", "n_samples", "shift", "covariance_type")

    def __init__(self, n_components, n_features, covariance_type, shift):
        self.covariance_type = covariance_type
        self.shift = np.asarray(shift, dtype=np.float64)
        self.nk = np.zeros(n_components)
        self.s1 = np.zeros((n_components, n_features))
        if covariance_type == "full":
            self.s2 = np.zeros((n_components, n_features, n_features))
        elif covariance_type == "tied":
            self.s2 = np.zeros((n_features, n_features))
        else:
            self.s2 = np.zeros((n_components, n_features))
        self.loglik = 0.0
        self.weight = 0.0
        self.n_samples = 0

    def __iadd__(self, other):
        if not np.array_equal(self.shift, other.shift):
            raise ValueError("Cannot add statistics taken around different shifts.")
        self.nk += other.nk
        self.s1 += other.s1
        self.s2 += other.s2
        self.loglik += other.loglik
        self.weight += other.weight
        self.n_samples += other.n_samples
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
        return out

    def scale(self, factor):
        """Multiply every extensive quantity by ``factor`` (used by stepwise EM)."""
        out = self.copy()
        out.nk *= factor
        out.s1 *= factor
        out.s2 *= factor
        out.loglik *= factor
        out.weight *= factor
        return out

    def accumulate(self, xc, rw, sample_weight=None):
        """Add a chunk: ``xc`` are rows minus ``shift`` and ``rw`` the weighted responsibilities."""
        self.nk += rw.sum(axis=0, dtype=np.float64)
        self.s1 += rw.T @ xc
        ctype = self.covariance_type
        if ctype == "full":
            n, d = xc.shape
            outer = (xc[:, :, None] * xc[:, None, :]).reshape(n, d * d)
            self.s2 += (rw.T @ outer).reshape(-1, d, d)
        elif ctype == "tied":
            xw = xc if sample_weight is None else xc * sample_weight[:, None]
            self.s2 += xw.T @ xc
        else:
            self.s2 += rw.T @ (xc * xc)
        self.weight += float(len(xc) if sample_weight is None else sample_weight.sum(dtype=np.float64))
        self.n_samples += len(xc)


class Kernel:
    """The current parameters, prepared for the E-step of one dtype.

    ``log_prob(xc)`` returns ``log(weight_k) + log N(x | mean_k, cov_k)`` for rows ``xc = x - shift``.
    """

    def __init__(self, weights, means, prec_chol, covariance_type, shift, dtype):
        weights = np.asarray(weights, dtype=np.float64)
        means = np.asarray(means, dtype=np.float64)
        prec_chol = np.asarray(prec_chol, dtype=np.float64)
        n_components, n_features = means.shape
        self.covariance_type = covariance_type
        self.shift = np.asarray(shift, dtype=np.float64)
        self.dtype = np.dtype(dtype)
        self.n_components = n_components
        mc = means - self.shift
        with np.errstate(divide="ignore"):
            log_weights = np.log(weights)
        const = log_weights + log_det_cholesky(prec_chol, covariance_type, n_features)
        const = const - 0.5 * n_features * LOG_2PI
        if covariance_type == "full":
            # y_k = xc @ L_k - mc_k @ L_k for all k in one GEMM against [L_1 ... L_K].
            self.W = prec_chol.transpose(1, 0, 2).reshape(n_features, -1).astype(dtype)
            self.b = np.einsum("kd,kde->ke", mc, prec_chol).reshape(-1).astype(dtype)
        elif covariance_type == "tied":
            self.L = prec_chol.astype(dtype)
            self.B = (mc @ prec_chol).astype(dtype)
        elif covariance_type == "diag":
            p2 = prec_chol**2
            self.quad = (-0.5 * p2.T).astype(dtype)  # (D, K), multiplies xc**2
            self.lin = (mc * p2).T.astype(dtype)  # (D, K), multiplies xc
            const = const - 0.5 * np.sum(mc**2 * p2, axis=1)
        else:
            p2 = prec_chol**2
            self.quad = (-0.5 * p2).astype(dtype)  # (K,), multiplies ||xc||**2
            self.lin = (mc * p2[:, None]).T.astype(dtype)
            const = const - 0.5 * p2 * np.sum(mc**2, axis=1)
        self.const = const.astype(dtype)

    def log_prob(self, xc):
        """Weighted log-probabilities ``(n, K)`` of the centred rows ``xc``."""
        ctype = self.covariance_type
        n = xc.shape[0]
        if ctype == "full":
            y = xc @ self.W
            y -= self.b
            y *= y
            out = y.reshape(n, self.n_components, -1).sum(axis=2)
            out *= -0.5
        elif ctype == "tied":
            y = (xc @ self.L)[:, None, :] - self.B[None, :, :]
            y *= y
            out = y.sum(axis=2)
            out *= -0.5
        elif ctype == "diag":
            out = (xc * xc) @ self.quad
            out += xc @ self.lin
        else:
            sq = np.einsum("nd,nd->n", xc, xc)
            out = sq[:, None] * self.quad[None, :]
            out += xc @ self.lin
        out += self.const
        return out


def e_step(kernel, xc):
    """Responsibilities ``(n, K)`` and per-row log-likelihood ``(n,)`` of centred rows."""
    log_prob = kernel.log_prob(xc)
    log_norm = _log_normalize_inplace(log_prob)
    return log_prob, log_norm


def _log_normalize_inplace(log_prob):
    """Turn weighted log-probabilities into responsibilities in place; return log-sum-exp per row."""
    top = log_prob.max(axis=1, keepdims=True)
    top[~np.isfinite(top)] = 0.0
    log_prob -= top
    np.exp(log_prob, out=log_prob)
    total = log_prob.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        log_norm = np.log(total[:, 0]) + top[:, 0]
    log_prob /= total
    return log_norm


def centred(x, shift, dtype):
    """``x - shift`` in ``dtype`` (a new array, safe to modify)."""
    return np.subtract(x, shift.astype(dtype), dtype=dtype)


def em_statistics(X, sample_weight, kernel, chunk_size):
    """E-step over all rows of ``X`` (any array supporting row slicing), chunk by chunk."""
    n_samples, n_features = X.shape
    stats = SuffStats(kernel.n_components, n_features, kernel.covariance_type, kernel.shift)
    for start in range(0, n_samples, chunk_size):
        stop = min(start + chunk_size, n_samples)
        xc = centred(X[start:stop], kernel.shift, kernel.dtype)
        resp, log_norm = e_step(kernel, xc)
        w = None if sample_weight is None else sample_weight[start:stop].astype(kernel.dtype)
        if w is None:
            stats.loglik += float(np.sum(log_norm, dtype=np.float64))
            stats.accumulate(xc, resp)
        else:
            stats.loglik += float(np.dot(w.astype(np.float64), log_norm.astype(np.float64)))
            resp *= w[:, None]
            stats.accumulate(xc, resp, w)
    return stats


def resp_statistics(X, sample_weight, resp_chunks, n_components, covariance_type, shift, dtype):
    """Statistics from given responsibilities; ``resp_chunks`` yields ``(start, stop, resp)``."""
    n_features = X.shape[1]
    stats = SuffStats(n_components, n_features, covariance_type, shift)
    for start, stop, resp in resp_chunks:
        rows = start if stop is None else slice(start, stop)  # an index array, or a row range
        xc = centred(X[rows], stats.shift, dtype)
        resp = np.asarray(resp, dtype=dtype)
        w = None if sample_weight is None else sample_weight[rows].astype(dtype)
        if w is not None:
            resp = resp * w[:, None]
        stats.accumulate(xc, resp, w)
    return stats


def m_step(stats, reg_covar, nk_eps):
    """Weights, means and covariances (float64) from summed statistics.

    ``nk_eps`` is added to every component's weight sum, as scikit-learn does, so that an empty
    component gives a finite mean instead of 0/0.
    """
    ctype = stats.covariance_type
    nk = stats.nk + nk_eps
    weights = nk / nk.sum()
    mc = stats.s1 / nk[:, None]
    means = mc + stats.shift
    if ctype == "full":
        cov = stats.s2 / nk[:, None, None] - mc[:, :, None] * mc[:, None, :]
        cov = 0.5 * (cov + cov.transpose(0, 2, 1))
        n_features = cov.shape[1]
        cov.reshape(len(nk), -1)[:, :: n_features + 1] += reg_covar
    elif ctype == "tied":
        cov = (stats.s2 - (nk * mc.T) @ mc) / nk.sum()
        cov = 0.5 * (cov + cov.T)
        cov.flat[:: cov.shape[0] + 1] += reg_covar
    elif ctype == "diag":
        cov = stats.s2 / nk[:, None] - mc**2 + reg_covar
    else:
        cov = (stats.s2 / nk[:, None] - mc**2).mean(axis=1) + reg_covar
    return weights, means, cov
