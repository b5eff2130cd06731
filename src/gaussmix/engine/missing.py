"""Rows with missing values (NaN): their E-step on the observed coordinates, exactly.

EM for data missing at random (Ghahramani & Jordan 1994). A row ``x`` with observed coordinates
``o`` and missing ones ``m`` is scored under each component on the marginal of its observed part,
``log N(x_o | mu_o, S_oo)``, which gives its responsibilities and its log-likelihood. Its
contribution to the sufficient statistics is the *expected* one under each component: the missing
part is replaced by its conditional mean ``x_m^ = mu_m + S_mo S_oo^-1 (x_o - mu_o)`` and the
second moment gains the conditional covariance ``C = S_mm - S_mo S_oo^-1 S_om`` on the ``(m, m)``
block. The M-steps then run unchanged, and every iteration increases the observed-data
likelihood.

Rows are grouped by their pattern of missing coordinates, so that the factorisations of ``S_oo``
are shared by all rows with the same pattern (dense and shared families); for the diagonal family
the coordinates are independent given the component and no grouping is needed. Complete rows
never come here: they take the kernels of :mod:`gaussmix.engine.kernel` unchanged.

:class:`IncompleteRows` holds one mixture's parameters in the form these rows need. It is built
from the same per-family precision factors as the E-step kernel (``Kernel.incomplete_rows``).
"""

from __future__ import annotations

import numpy as np

from .responsibilities import normalize_inplace
from .stats import SuffStats

LOG_2PI = np.log(2 * np.pi)
# Elements of the (K, rows, D) temporaries per block of incomplete rows.
BLOCK_ELEMENTS = 1 << 20


def _observed_sums(x, w):
    """Per column, the (weighted) sum and count of the observed values of ``x``."""
    observed = ~np.isnan(x)
    w = np.ones(len(x)) if w is None else np.asarray(w, dtype=np.float64)
    totals = (np.where(observed, x, 0.0) * w[:, None]).sum(axis=0, dtype=np.float64)
    return totals, (observed * w[:, None]).sum(axis=0)


def _column_means(totals, counts):
    return np.divide(totals, counts, out=np.zeros_like(totals), where=counts > 0)


def fill_for_start(X, sample_weight=None):
    """``X`` with each NaN replaced by the (weighted) mean of its column's observed values, for
    the starts (which need complete rows); ``X`` itself when it holds no NaN.

    Examples
    --------
    >>> import numpy as np
    >>> fill_for_start(np.array([[1.0, np.nan], [3.0, 4.0]])).tolist()
    [[1.0, 4.0], [3.0, 4.0]]
    """
    missing = np.isnan(X)
    if not missing.any():
        return X
    means = _column_means(*_observed_sums(X, sample_weight))
    return np.where(missing, means.astype(X.dtype), X)


class FilledRows:
    """Rows of an array too large to copy (a memory-mapped file) as :func:`fill_for_start` would
    give them: each NaN read as its column's observed mean, filled as rows are read.

    Offers what the starts use: ``shape``, ``dtype``, ``len``, row indexing (a slice or an index
    array; a filled copy) and ``np.asarray`` (the whole array filled, for data that the starts
    read whole anyway).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, np.nan], [3.0, 4.0], [np.nan, 2.0]])
    >>> rows = FilledRows.of(X)
    >>> rows[[0, 2]].tolist()
    [[1.0, 3.0], [2.0, 2.0]]
    >>> np.array_equal(np.asarray(rows), fill_for_start(X))
    True
    """

    def __init__(self, X, means):
        self.X = X
        self.means = np.asarray(means).astype(X.dtype)
        self.shape, self.dtype, self.ndim = X.shape, X.dtype, X.ndim

    @classmethod
    def of(cls, X, sample_weight=None, block=65_536):
        """``FilledRows`` of ``X`` (the column means read block by block), or ``X`` itself when
        it holds no NaN."""
        totals = np.zeros(X.shape[1])
        counts = np.zeros(X.shape[1])
        any_missing = False
        for a in range(0, X.shape[0], block):
            x = np.asarray(X[a : a + block])
            w = None if sample_weight is None else sample_weight[a : a + block]
            t, c = _observed_sums(x, w)
            totals += t
            counts += c
            any_missing = any_missing or bool(np.isnan(x).any())
        return cls(X, _column_means(totals, counts)) if any_missing else X

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, rows):
        part = np.array(self.X[rows], dtype=self.dtype)
        missing = np.isnan(part)
        if missing.any():
            part[missing] = np.broadcast_to(self.means, part.shape)[missing]
        return part

    def __array__(self, dtype=None, copy=None):
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)


def patterns(missing):
    """Iterate ``(rows, observed, absent)``: the row indices sharing each pattern of missing
    coordinates, and that pattern's observed and missing coordinates.

    Examples
    --------
    >>> import numpy as np
    >>> [(r.tolist(), a.tolist()) for r, _, a in patterns(np.array([[1, 0], [0, 0], [1, 0]], bool))]
    [([1], []), ([0, 2], [0])]
    """
    packed = np.packbits(missing, axis=1)  # one code per row: 8 coordinates per byte
    codes = packed.view(np.dtype((np.void, packed.shape[1]))).reshape(-1)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    for lo, hi in zip(starts, np.r_[starts[1:], len(order)], strict=True):
        rows = order[lo:hi]
        pattern = missing[rows[0]]
        yield rows, np.flatnonzero(~pattern), np.flatnonzero(pattern)


class IncompleteRows:
    """A mixture's parameters in the form rows with missing values need (see the module
    docstring).

    Parameters
    ----------
    family : {'dense', 'shared', 'diagonal'}
        The kernel family (the layout of the second moments).
    log_weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    factor : ndarray
        Precision factors in the family's layout, as the E-step kernel takes them: ``(K, D, D)``
        with ``P_k = L_k L_k^T`` (dense), one ``(D, D)`` (shared), ``(K, D)`` square roots of the
        precisions (diagonal).
    centres : ndarray of shape (n_components, n_features)
        The point each component's moments are taken around (the kernel's ``centres``).

    Examples
    --------
    With the second coordinate missing, a row is scored on the first alone:

    >>> import numpy as np
    >>> rows = IncompleteRows("diagonal", np.log([1.0]), np.zeros((1, 2)), np.ones((1, 2)),
    ...                       np.zeros((1, 2)))
    >>> lp = rows.log_prob(np.array([[0.0, np.nan]]))
    >>> bool(np.isclose(lp[0, 0], -0.5 * np.log(2 * np.pi)))
    True
    """

    def __init__(self, family, log_weights, means, factor, centres):
        self.family = family
        self.log_weights = np.asarray(log_weights, dtype=np.float64)
        self.means = np.asarray(means, dtype=np.float64)
        self.centres = np.asarray(centres, dtype=np.float64)
        factor = np.asarray(factor, dtype=np.float64)
        k, d = self.means.shape
        if family == "diagonal":
            self.variances = 1.0 / factor**2  # (K, D)
        else:
            inverse = np.linalg.inv(factor)  # P = L L^T  =>  S = L^-T L^-1
            cov = np.swapaxes(inverse, -1, -2) @ inverse
            self.covariances = np.broadcast_to(cov, (k, d, d))

    @property
    def n_components(self):
        return self.means.shape[0]

    # ------------------------------------------------------------------ per block of rows
    def _blocks(self, n_rows):
        k, d = self.means.shape
        step = max(1, BLOCK_ELEMENTS // max(1, k * d))
        for lo in range(0, n_rows, step):
            yield slice(lo, min(lo + step, n_rows))

    def _diagonal_terms(self, x, missing):
        """``(log_prob (K, n), completed (K, n, D), conditional variances (K, n, D))`` of the
        diagonal family: the coordinates are independent given the component."""
        observed = ~missing
        z = np.where(observed, x, 0.0)[None] - self.means[:, None, :]  # (K, n, D)
        precision = 1.0 / self.variances[:, None, :]
        terms = -0.5 * (z**2 * precision + np.log(self.variances)[:, None, :] + LOG_2PI)
        lp = self.log_weights[:, None] + np.sum(terms * observed, axis=2)
        completed = np.where(observed, x[None], self.means[:, None, :])
        variances = np.where(observed, 0.0, self.variances[:, None, :])
        return lp, completed, variances

    def _pattern_terms(self, x, observed, absent):
        """``(log_prob (K, n), completed (K, n, D), C (K, |m|, |m|))`` of rows sharing one
        pattern (dense and shared families)."""
        cov = self.covariances
        s_oo = cov[:, observed][:, :, observed]
        try:
            chol = np.linalg.cholesky(s_oo)
        except np.linalg.LinAlgError:
            raise ValueError(
                "A component's covariance restricted to the observed features of some rows is "
                "not positive definite; increase reg_covar."
            ) from None
        z = x[None, :, observed] - self.means[:, None, observed]  # (K, n, |o|)
        y = np.linalg.solve(chol, np.swapaxes(z, 1, 2))  # (K, |o|, n)
        log_det = 2.0 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)
        lp = self.log_weights[:, None] - 0.5 * (
            len(observed) * LOG_2PI + log_det[:, None] + np.sum(y**2, axis=1)
        )
        completed = np.broadcast_to(x[None], (len(cov),) + x.shape).copy()
        if len(absent):
            s_om = cov[:, observed][:, :, absent]  # (K, |o|, |m|)
            gain = np.linalg.solve(s_oo, s_om)  # S_oo^-1 S_om
            completed[:, :, absent] = self.means[:, None, absent] + z @ gain
            s_mm = cov[:, absent][:, :, absent]
            conditional = s_mm - np.swapaxes(s_om, 1, 2) @ gain
        else:
            conditional = np.zeros((len(cov), 0, 0))
        return lp, completed, conditional

    def _grouped(self, x, missing):
        """Iterate ``(rows, absent, log_prob, completed, conditional)`` over pattern groups (dense,
        shared) or blocks of rows (diagonal; ``absent`` is then None and ``conditional`` holds
        the per-row conditional variances)."""
        if self.family == "diagonal":
            for rows in self._blocks(len(x)):
                yield (rows, None, *self._diagonal_terms(x[rows], missing[rows]))
            return
        for rows, observed, absent in patterns(missing):
            if not len(observed):
                raise ValueError("A row has every value missing; drop such rows before fitting.")
            for block in self._blocks(len(rows)):
                sub = rows[block]
                yield (sub, absent, *self._pattern_terms(x[sub], observed, absent))

    def log_prob(self, x, missing=None):
        """Weighted log-probabilities ``log pi_k + log N(x_o | mu_o, S_oo)``, shape ``(n, K)``."""
        missing = np.isnan(x) if missing is None else missing
        x = np.asarray(x, dtype=np.float64)
        out = np.empty((len(x), self.n_components))
        for rows, _, lp, _, _ in self._grouped(x, missing):
            out[rows] = lp.T
        return out

    def e_step(self, x):
        """``(resp (n, K), log p(x_o) (n,))`` of rows with missing values."""
        resp = np.ascontiguousarray(self.log_prob(x).T)
        log_norm = normalize_inplace(resp)
        return resp.T, log_norm

    def statistics(self, x, sample_weight=None):
        """Expected sufficient statistics (:class:`~gaussmix.engine.stats.SuffStats`, around
        ``centres``) of rows with missing values, with their observed-data log-likelihood."""
        x = np.asarray(x, dtype=np.float64)
        missing = np.isnan(x)
        k, d = self.means.shape
        w_all = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        nk, s1 = np.zeros(k), np.zeros((k, d))
        s2 = np.zeros((d, d) if self.family == "shared" else
                      ((k, d, d) if self.family == "dense" else (k, d)))
        loglik = 0.0
        for rows, absent, lp, completed, conditional in self._grouped(x, missing):
            resp = lp  # (K, n), normalised in place
            log_norm = normalize_inplace(resp)
            w = None if w_all is None else w_all[rows]
            loglik += float(np.sum(log_norm) if w is None else w @ log_norm)
            if w is not None:
                resp = resp * w
            centred = completed - self.centres[:, None, :]
            mass = resp.sum(axis=1)
            nk += mass
            s1 += np.einsum("kn,knd->kd", resp, centred)
            if self.family == "diagonal":
                s2 += np.einsum("kn,knd->kd", resp, centred**2 + conditional)
                continue
            second = np.swapaxes(centred * resp[:, :, None], 1, 2) @ centred  # (K, D, D)
            if len(absent):
                block = np.ix_(np.arange(k), absent, absent)
                second[block] += mass[:, None, None] * conditional
            s2 += second.sum(axis=0) if self.family == "shared" else second
        weight = float(len(x) if w_all is None else w_all.sum())
        return SuffStats.of(self.family, nk, s1, s2, self.centres.copy(), loglik, weight, len(x))

    def impute(self, x):
        """``(filled, std)``: each missing entry's conditional mean under the mixture and its
        conditional standard deviation (0 where observed), for rows with missing values."""
        x = np.asarray(x, dtype=np.float64)
        missing = np.isnan(x)
        filled = np.where(missing, 0.0, x)
        var = np.zeros_like(filled)
        for rows, absent, lp, completed, conditional in self._grouped(x, missing):
            resp = lp  # (K, n), normalised in place
            normalize_inplace(resp)
            mean = np.einsum("kn,knd->nd", resp, completed)
            second = np.einsum("kn,knd->nd", resp, completed**2)
            if self.family == "diagonal":
                second += np.einsum("kn,knd->nd", resp, conditional)
            elif len(absent):
                diag = np.diagonal(conditional, axis1=1, axis2=2)  # (K, |m|)
                second[:, absent] += resp.T @ diag
            filled[rows] = np.where(missing[rows], mean, x[rows])
            var[rows] = np.where(missing[rows], np.maximum(second - mean**2, 0.0), 0.0)
        return filled, np.sqrt(var)
