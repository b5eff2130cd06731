"""EM as sufficient statistics: the E-step kernels, the additive statistics, and the M-step.

One E-step and one M-step per covariance type, and nothing else does EM arithmetic:

* :class:`Kernel` turns the current parameters into the arrays the E-step needs for one dtype.
* :func:`em_statistics` runs the E-step over a block of rows, chunk by chunk (optionally on several
  threads), and returns :class:`SuffStats`. Statistics of two blocks add (``a + b``), so in-memory,
  memory-mapped, streamed and Dask data all reduce the same way.
* :func:`m_step` turns summed statistics into weights, means and covariances.

How a chunk is processed (this is where the speed comes from). Each chunk of rows is centred on a
``shift`` near the data and written, feature-major (one row per feature, one column per data row),
into a feature matrix ``F`` held in a per-thread workspace that is reused, never reallocated:

==============  ==========================================  =======================================
type            F (one column per data row)                 E-step
==============  ==========================================  =======================================
full            ``[upper(x x^T) (D(D+1)/2) ; x (D) ; 1]``   one GEMM ``Theta @ F``, ``Theta`` holding
                                                            ``[-vech(P_k)/2 ; P_k m_k ; c_k]`` per
                                                            component; components too far from the
                                                            shift for that form's rounding (see
                                                            ``Kernel._init_full``) take one GEMM
                                                            ``[L_k^T | -L_k^T m_k] @ [x ; 1]`` and a
                                                            fused sum of squares instead
tied            ``[x (D) ; 1]``                             ``y = L^T x``, then one GEMM on ``[y ; 1]``
diag/spherical  ``[x*x (D) ; x (D) ; 1]``                   one GEMM ``Theta @ F``
==============  ==========================================  =======================================

(tied/diag/spherical components far from the shift take the stacked form too; see Precision.)

After the log-sum-exp (floored so that no responsibility is subnormal), one GEMM ``F @ R^T`` holds
every statistic of the chunk side by side: second moments, first moments and weight sums (tied adds
one small ``x x^T``). Statistics are float64 whatever the input dtype; the heavy per-chunk kernels
run in the input's dtype.

Precision: second moments are taken around one shift (the current mixture mean), so data far from
the origin loses nothing. A component far from the shift *relative to its own spread* would lose
digits to cancellation, in its second moments and in a shared-shift quadratic form alike. The
kernel bounds that loss per component (``Kernel._split_far``): a component beyond half the
dtype's digits takes the stacked E-step ``y = L_k^T (x - mean_k)`` (full factor, tied's shared
one, or the diagonal one), and its moments are taken around its own mean from those whitened rows
(``SuffStats.shift`` holds one point per component). Clusters 1e6 standard deviations apart keep
their covariances to ~1e-12 in float64; float32 at 1e3 stays within ~1e-6 of float64. The bound
uses the current parameters, so a component that shrinks a lot in one step can still cancel:
:func:`cancelled_components` spots it and :func:`em_step` redoes that iteration's statistics
with it around its own mean (:func:`recentre_from_responsibilities` does the same for a start's
M-step). :func:`resolution_floor` turns a spread below the data's resolution into the
collapse error.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np

from ._covariance import log_det_cholesky, precision_cholesky

LOG_2PI = np.log(2.0 * np.pi)

# Working-set target for one chunk's buffers, in bytes: small enough to stay in cache.
_CHUNK_BYTES = 4 * 1024 * 1024


def available_threads():
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _row_width(n_features, n_components, covariance_type):
    """Numbers held per row by a chunk's workspace."""
    d, k = n_features, n_components
    if covariance_type == "full":
        return d * (d + 1) // 2 + d + 1 + k * d + k
    if covariance_type == "tied":
        return 2 * d + 2 + k
    return 2 * d + 1 + k


def chunk_rows(n_features, n_components, covariance_type, itemsize, target=_CHUNK_BYTES):
    """Rows per chunk so that the chunk's workspace fits in about ``target`` bytes."""
    width = _row_width(n_features, n_components, covariance_type)
    rows = int(min(max(target // max(1, width * itemsize), 256), 4096))
    if (rows * itemsize) % 4096 == 0:
        # Feature rows a multiple of 4 KiB apart share cache sets: 10% slower E-step measured.
        rows -= 64 // itemsize
    return rows


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
    shift : ndarray of shape (n_components, n_features)
        The point each component's moments are taken around: the common shift near the data,
        or, for a component far from it relative to its spread, that component's own mean
        (tied: ``s2`` pools each component's rows around its own point).
    """

    __slots__ = ("covariance_type", "loglik", "n_samples", "nk", "s1", "s2", "shift", "weight")

    def __init__(self, n_components, n_features, covariance_type, shift):
        self.covariance_type = covariance_type
        shift = np.asarray(shift, dtype=np.float64)
        self.shift = np.array(np.broadcast_to(shift, (n_components, n_features)))
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
        if self.covariance_type == "full":
            out.s2 = self.s2 - cross + square
        elif self.covariance_type == "tied":
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
        out.weight *= factor
        return out


class _Workspace:
    """Per-thread buffers for one chunk, feature-major (one row per feature, one column per data
    row) so every NumPy loop runs along the long chunk axis: features ``F``, tied's ``y = L^T x``
    in ``Y``, the far components' whitened rows ``Yf`` (see :meth:`Kernel._split_far`), and
    log-probabilities / responsibilities ``lp`` of shape ``(K, rows)``."""

    __slots__ = ("F", "Y", "Yf", "Yr", "_outer", "lp", "lp_far")

    def __init__(self, layout, rows):
        d, k = layout.n_features, layout.n_components
        self._outer = {}
        self.F = np.empty((layout.width, rows), dtype=layout.dtype)
        self.F[-1] = 1
        self.Y = self.Yf = self.Yr = self.lp_far = None
        n_far = len(layout.far)
        if n_far:  # whitened rows of the far components, their log-densities, and the
            # responsibility-weighted rows of those whose moments come from them
            self.Yf = np.empty((n_far * d, rows), dtype=layout.dtype)
            self.Yr = np.empty((len(layout.whitened) * d, rows), dtype=layout.dtype)
            if n_far < k:
                self.lp_far = np.empty((n_far, rows), dtype=layout.dtype)
        if layout.covariance_type == "tied":
            self.Y = np.empty((d + 1, rows), dtype=layout.dtype)
            self.Y[-1] = 1
        self.lp = np.empty((k, rows), dtype=layout.dtype)

    def outer_products(self, x_at, n_features, n):
        """``(a, b, out)`` views such that ``a * b -> out`` for each diagonal fills the outer
        products of the first ``n`` columns (see :func:`_outer_pairs`); kept, since slicing
        them anew cost half of a small chunk's Python overhead."""
        views = self._outer.get(n)
        if views is None:
            d, F = n_features, self.F[:, :n]
            xt, views, at = F[x_at : x_at + d], [], 0
            for offset in range(d):
                views.append((xt[: d - offset], xt[offset:], F[at : at + d - offset]))
                at += d - offset
            if len(self._outer) > 1:  # the full width and one last, shorter chunk
                self._outer.clear()
            self._outer[n] = views
        return views


def _outer_pairs(n_features):
    """``(i, j)``, ``i <= j``, of the rows of ``F`` that hold ``x_i x_j``: the upper triangle of
    ``x x^T`` diagonal by diagonal (main diagonal first), so that filling one diagonal is a
    single product of two contiguous blocks of ``x``."""
    rows = np.concatenate([np.arange(n_features - o) for o in range(n_features)])
    cols = np.concatenate([np.arange(o, n_features) for o in range(n_features)])
    return rows, cols


class _Layout:
    """Where the centred rows, their squares or outer products, and the 1s sit in ``F``.

    ``F`` has one row per feature of the statistics: for ``full`` the upper triangle of ``x x^T``
    (``D (D + 1) / 2`` rows, in :func:`_outer_pairs` order), then ``x`` (``D``), then 1; for ``tied`` ``x`` then 1; for ``diag``
    and ``spherical`` ``x * x``, then ``x``, then 1. ``resp @ F.T`` is then every statistic of the
    chunk at once.
    """

    def __init__(self, n_components, n_features, covariance_type, shift, dtype):
        self.n_components = n_components
        self.n_features = n_features
        self.covariance_type = covariance_type
        self.shift = np.asarray(shift, dtype=np.float64)
        self.dtype = np.dtype(dtype)
        self._shift_dt = self.shift.astype(self.dtype)[:, None]
        d = n_features
        if covariance_type == "full":
            self.x_at = d * (d + 1) // 2
        elif covariance_type == "tied":
            self.x_at = 0
        else:
            self.x_at = d
        self.width = self.x_at + d + 1
        self.needs_outer = False  # whether the E-step reads the outer products in F
        # Components whose E-step takes the stacked form (whitened rows in Yf), the positions
        # among them whose moments come from those rows, around their own mean (see
        # Kernel._split_far), and the point each component's moments are taken around.
        self.far = np.zeros(0, dtype=np.intp)
        self.whitened = np.zeros(0, dtype=np.intp)
        self.centres = np.array(np.broadcast_to(self.shift, (n_components, n_features)))

    def workspace(self, rows):
        return _Workspace(self, rows)

    def load(self, ws, rows, moments):
        """Centre ``rows`` into the workspace; with ``moments`` also fill the second-moment part."""
        n, d = rows.shape[0], self.n_features
        xt = ws.F[self.x_at : self.x_at + d, :n]
        np.subtract(rows.T, self._shift_dt, out=xt, casting="unsafe")
        if self.covariance_type == "full":
            if moments or self.needs_outer:
                for a, b, out in ws.outer_products(self.x_at, d, n):
                    np.multiply(a, b, out=out)
        elif self.covariance_type != "tied":
            np.multiply(xt, xt, out=ws.F[:d, :n])
        return n

    def new_accumulator(self):
        """Zeroed per-block running sums: ``F @ resp.T``, for tied ``x^T x``, and for far
        components the whitened moments ``sum r y y^T`` and ``sum r y``."""
        d, n_w = self.n_features, len(self.whitened)
        xtx = np.zeros((d, d)) if self.covariance_type == "tied" else None
        whitened = [np.zeros((n_w, d, d)), np.zeros((n_w, d))] if n_w else None
        return [np.zeros((self.width, self.n_components)), xtx, 0.0, 0, whitened]

    def accumulate(self, acc, ws, n, resp, weight):
        """Add one chunk to ``acc``; ``resp`` ``(K, n)`` is modified in place."""
        F = ws.F[:, :n]
        if weight is not None:
            resp *= weight
        acc[0] += F @ resp.T  # this orientation is the faster GEMM for BLAS
        if self.covariance_type == "tied":
            xt = F[: self.n_features]
            if len(self.whitened):  # pool the other components' rows; these come below
                xw = xt * resp[self.near_rows].sum(axis=0)
            else:
                xw = xt if weight is None else xt * weight
            acc[1] += xw @ xt.T
        acc[2] += float(n if weight is None else np.sum(weight, dtype=np.float64))
        acc[3] += n
        if acc[4] is not None:
            # y = L_k^T (x - mean_k) of the far components, left in Yf by the E-step
            d, w = self.n_features, self.whitened
            y = ws.Yf[:, :n].reshape(len(self.far), d, n)
            if len(w) < len(self.far):
                y = y[w]
            r = resp[self.far[w]][:, :, None]  # (whitened, n, 1)
            yr = np.multiply(y, r.transpose(0, 2, 1), out=ws.Yr[:, :n].reshape(y.shape))
            acc[4][0] += yr @ y.transpose(0, 2, 1)
            acc[4][1] += (y @ r)[:, :, 0]

    def statistics(self, acc, loglik=0.0):
        """Unpack an accumulator into :class:`SuffStats`."""
        ftr, xtx, weight, n_samples, whitened = acc
        rtf = ftr.T
        k, d = self.n_components, self.n_features
        stats = SuffStats(k, d, self.covariance_type, self.centres)
        stats.s1 += rtf[:, self.x_at : self.x_at + d]
        stats.nk += rtf[:, -1]
        if self.covariance_type == "full":
            rows, cols = _outer_pairs(d)
            stats.s2[:, rows, cols] = rtf[:, : self.x_at]
            stats.s2[:, cols, rows] = rtf[:, : self.x_at]
        elif self.covariance_type == "tied":
            stats.s2 += xtx
        else:
            stats.s2 += rtf[:, :d]
        if whitened is not None:
            # x - mean_k = A_k y with A_k = L_k^-T: moments around the component's own mean
            syy, sy = whitened
            A, comps = self.far_inverse_factors, self.far[self.whitened]
            stats.s1[comps] = np.einsum("kij,kj->ki", A, sy)
            s2 = A @ syy @ A.transpose(0, 2, 1)
            if self.covariance_type == "full":
                stats.s2[comps] = s2
            elif self.covariance_type == "tied":
                stats.s2 += s2.sum(axis=0)
            else:
                stats.s2[comps] = np.diagonal(s2, axis1=1, axis2=2)
        stats.loglik = float(loglik)
        stats.weight = weight
        stats.n_samples = n_samples
        return stats


class Kernel(_Layout):
    """The current parameters, prepared for the E-step of one dtype.

    ``log_prob`` gives ``log(weight_k) + log N(x | mean_k, cov_k)`` for the rows in a workspace.
    """

    #: Largest rounding bound ``eps * size`` accepted from the expanded full-covariance form and
    #: from moments around the common shift; ``None``: ``sqrt(eps)`` of the dtype, i.e. at most
    #: half of its digits lost. See :meth:`_init_full`.
    expanded_error = None

    def __init__(self, weights, means, prec_chol, covariance_type, shift, dtype, far=()):
        weights = np.asarray(weights, dtype=np.float64)
        means = np.asarray(means, dtype=np.float64)
        prec_chol = np.asarray(prec_chol, dtype=np.float64)
        n_components, n_features = means.shape
        super().__init__(n_components, n_features, covariance_type, shift, dtype)
        mc = means - self.shift
        with np.errstate(divide="ignore"):
            log_weights = np.log(weights)
        const = log_weights + log_det_cholesky(prec_chol, covariance_type, n_features)
        const = const - 0.5 * n_features * LOG_2PI
        if covariance_type == "full":
            prec = self._init_full(prec_chol, mc, const, dtype)
            size = _term_size(mc, np.abs(prec))
            inverse = np.linalg.inv(prec_chol)
            variances = np.sum(inverse**2, axis=-2)  # diag of (L L^T)^-1

            def factors(idx):
                return prec_chol[idx], inverse[idx]
        elif covariance_type == "tied":
            # ||y - B_k||^2 = ||y||^2 - 2 y.B_k + ||B_k||^2 with y = L^T x, B_k = L^T mc_k.
            self.Lt = np.ascontiguousarray(prec_chol.T).astype(dtype)
            B = mc @ prec_chol
            c0 = const - 0.5 * np.sum(B**2, axis=1)
            self.theta = np.hstack([B, c0[:, None]]).astype(dtype)
            size = _term_size(mc, np.abs(prec_chol @ prec_chol.T))
            inverse = np.linalg.inv(prec_chol)
            variances = np.sum(inverse**2, axis=-2)[None, :]

            def factors(idx):
                shape = (len(idx), n_features, n_features)
                return np.broadcast_to(prec_chol, shape), np.broadcast_to(inverse, shape)
        else:
            p = prec_chol if covariance_type == "diag" else np.outer(prec_chol, np.ones(n_features))
            p2 = p**2
            c0 = const - 0.5 * np.sum(mc**2 * p2, axis=1)
            self.theta = np.hstack([-0.5 * p2, mc * p2, c0[:, None]]).astype(dtype)
            size = np.sum(mc**2 * p2, axis=1) + n_features
            variances = 1.0 / p2

            def factors(idx):
                eye = np.eye(n_features)
                return p[idx][:, :, None] * eye, (1.0 / p[idx])[:, :, None] * eye
        # how many times its own variance each component's squared offset from the shift is:
        # the factor by which its shared-shift second moments cancel
        with np.errstate(divide="ignore", invalid="ignore"):
            cancel = np.max(mc**2 / variances, axis=1)
        self._split_far(size, cancel, factors, mc, const, dtype, far)

    def _init_full(self, prec_chol, mc, const, dtype):
        """Split the components between the two full-covariance E-step forms.

        *Expanded* (one GEMM ``Theta @ F`` on the outer products ``F`` that the statistics need
        anyway): ``-(x-m)^T P (x-m) / 2 = -vech(P).vech(x x^T) / 2 + (P m).x - m^T P m / 2``.
        Half the arithmetic of the stacked form and no ``(K D, n)`` intermediate (1.4x faster
        E-step at D=16, K=16), but its terms are as large as ``m^T |P| m`` and cancel, so its
        rounding grows with the squared whitened distance of the component from the shift.
        *Stacked*: ``y = L^T x - L^T m`` for all such components in one GEMM, then a sum of
        squares; its rounding grows only linearly with that distance.

        A component takes the expanded form while ``eps * size``, ``size = |m|^T |P| |m| + D``
        (the magnitude of that form's terms at the component's mean), stays within
        ``sqrt(eps)``: its log-densities then keep at least half of the dtype's digits (float64:
        1.5e-8 nats, components up to ~1e4 standard deviations from the shift; float32: 2.4e-4
        nats, ~60 at D=16). The same bound governs the second moments taken around the shift,
        which cancel the same way, so a component beyond it ("far") also takes its statistics
        around its own mean, from the whitened ``y`` of the stacked form. Measured on the speed
        benchmark's float32 data (bound ~1e-4, all expanded): log-likelihood moved by 7e-7 nats
        per sample, fitted parameters by < 1e-9.
        """
        d = mc.shape[1]
        prec = prec_chol @ prec_chol.transpose(0, 2, 1)
        rows, cols = _outer_pairs(d)
        quad = -0.5 * prec[:, rows, cols] * np.where(rows == cols, 1.0, 2.0)
        lin = np.einsum("kij,kj->ki", prec, mc)
        c0 = const - 0.5 * np.einsum("ki,ki->k", lin, mc)
        self.theta_exp = np.hstack([quad, lin, c0[:, None]]).astype(dtype)
        return prec

    def _split_far(self, size, cancel, factors, mc, const, dtype, forced=()):
        """Find the components too far from the shift for the shared-shift forms (see
        :meth:`_init_full`) and prepare their stacked form: ``y_k = L_k^T (x - m_k)`` for all of
        them in one GEMM ``[L_k^T | -L_k^T m_k] @ [x ; 1]``, with ``L_k`` the precision factor
        (full), the shared one (tied) or the diagonal one (diag/spherical). Their E-step rows
        are ``-|y_k|^2 / 2 + c_k``. Those whose shared-shift moments would also lose over half
        the digits (``eps * cancel`` above the bound) take their moments around their own means
        from ``y`` (only those: that costs a small GEMM per component and chunk).
        """
        k, d = mc.shape
        eps = np.finfo(dtype).eps
        limit = np.sqrt(eps) if self.expanded_error is None else self.expanded_error
        whitened = ~(cancel * eps <= limit)  # NaN goes the precise way
        whitened[np.asarray(forced, dtype=np.intp)] = True  # e.g. moments that cancelled
        far = whitened | ~(size * eps <= limit)
        self.far = far = np.flatnonzero(far)
        self.whitened = np.flatnonzero(whitened[far])
        self.needs_outer = self.covariance_type == "full" and len(far) < k
        L, L_inverse = factors(far)  # (far, D, D) precision factors and their inverses
        lt = L.transpose(0, 2, 1).reshape(-1, d)
        b = np.einsum("kd,kde->ke", mc[far], L).reshape(-1, 1)
        self.theta_far = np.hstack([lt, -b]).astype(dtype)
        self.const_far = const[far].astype(dtype)[:, None]
        comps = far[self.whitened]
        self.centres[comps] = mc[comps] + self.shift
        # x - mean_k = A_k y with A_k = L_k^-T (statistics()); tied pools every other row
        self.far_inverse_factors = L_inverse[self.whitened].transpose(0, 2, 1)
        self.near_rows = np.ones(k, dtype=bool)
        self.near_rows[comps] = False

    def _log_prob_far(self, ws, F, lp, n):
        """Stacked-form rows of the far components, over whatever ``lp`` holds for them."""
        d, far = self.n_features, self.far
        y = ws.Yf[:, :n]
        np.matmul(self.theta_far, F[self.x_at :], out=y)
        y3 = y.reshape(len(far), d, n)
        # all components far: write in place; otherwise overwrite their shared-shift rows
        out = lp if len(far) == self.n_components else ws.lp_far[:, :n]
        np.einsum("kdn,kdn->kn", y3, y3, out=out)  # one read of y, no squared copy
        out *= -0.5
        out += self.const_far
        if out is not lp:
            lp[far] = out

    def log_prob(self, ws, n):
        """Weighted log-probabilities ``(K, n)`` of the rows loaded in ``ws`` (a view of ``ws``)."""
        F, lp = ws.F[:, :n], ws.lp[:, :n]
        ctype, d = self.covariance_type, self.n_features
        all_far = len(self.far) == self.n_components
        if ctype == "full":
            if self.needs_outer:
                np.matmul(self.theta_exp, F, out=lp)
        elif all_far:
            pass
        elif ctype == "tied":
            ya = ws.Y[:, :n]
            np.matmul(self.Lt, F[:d], out=ya[:d])
            np.matmul(self.theta, ya, out=lp)
            sq = np.einsum("dn,dn->n", ya[:d], ya[:d])
            sq *= -0.5
            lp += sq
        else:
            np.matmul(self.theta, F, out=lp)
        if len(self.far):
            self._log_prob_far(ws, F, lp, n)
        return lp

    def e_step(self, ws, rows, moments=False):
        """Load ``rows``; return responsibilities ``(K, n)`` (a view of ``ws``) and ``log p(x)``."""
        n = self.load(ws, rows, moments)
        lp = self.log_prob(ws, n)
        return lp, _log_normalize_inplace(lp)


def _term_size(mc, abs_prec):
    """``|m_k|^T |P_k| |m_k| + D``: the magnitude of a shared-shift quadratic form's terms at each
    component's own mean (``abs_prec`` one matrix per component, or one shared)."""
    m = np.abs(mc)
    if abs_prec.ndim == 2:
        return np.einsum("ki,ij,kj->k", m, abs_prec, m) + mc.shape[1]
    return np.einsum("ki,kij,kj->k", m, abs_prec, m) + mc.shape[1]


def _log_normalize_inplace(log_prob):
    """Turn weighted log-probabilities ``(K, n)`` into responsibilities in place.

    Returns the log-sum-exp over components of each column (the row's log-likelihood).
    """
    top = log_prob.max(axis=0)
    lost = None
    if not np.isfinite(top).all():  # every component -inf: the row has zero density
        lost = ~np.isfinite(top)
        top[lost] = 0.0
    log_prob -= top
    # exp() below ~-708 (float64) or ~-87 (float32) gives subnormal numbers, and arithmetic on
    # them is microcoded: the statistics GEMM ran twice as slow on well-separated clusters.
    # Responsibilities this small (< 1e-307 resp. 1e-37) are rounding noise next to 1 anyway.
    np.maximum(log_prob, _exp_floor(log_prob.dtype), out=log_prob)
    np.exp(log_prob, out=log_prob)
    total = log_prob.sum(axis=0)
    log_prob /= total
    log_norm = np.log(total, out=total)
    log_norm += top
    if lost is not None:
        log_norm[lost] = -np.inf
    return log_norm


def _exp_floor(dtype):
    """Smallest argument whose exp() is a normal (not subnormal) number of ``dtype``."""
    floor = _EXP_FLOOR.get(dtype)
    if floor is None:
        floor = _EXP_FLOOR[dtype] = dtype.type(np.log(np.finfo(dtype).tiny) + 1.0)
    return floor


_EXP_FLOOR = {}


def iter_e_step(kernel, X, chunk_size):
    """Yield ``(start, stop, resp, log_norm)`` over chunks of ``X``.

    ``resp`` is an ``(n, K)`` view of a reused buffer: consume or copy it before the next step.
    """
    ws = kernel.workspace(min(chunk_size, max(X.shape[0], 1)))
    for start in range(0, X.shape[0], chunk_size):
        stop = min(start + chunk_size, X.shape[0])
        with single_threaded_blas():
            resp, log_norm = kernel.e_step(ws, X[start:stop])
        yield start, stop, resp.T, log_norm


def _em_block(X, sample_weight, kernel, chunk_size, start, stop):
    acc = kernel.new_accumulator()
    loglik = 0.0
    ws = kernel.workspace(min(chunk_size, stop - start))
    for lo in range(start, stop, chunk_size):
        hi = min(lo + chunk_size, stop)
        resp, log_norm = kernel.e_step(ws, X[lo:hi], moments=True)
        if sample_weight is None:
            weight = None
            loglik += float(np.sum(log_norm, dtype=np.float64))
        else:
            w64 = np.asarray(sample_weight[lo:hi], dtype=np.float64)
            loglik += float(np.dot(w64, log_norm.astype(np.float64)))
            weight = w64.astype(kernel.dtype)
        kernel.accumulate(acc, ws, hi - lo, resp, weight)
    return kernel.statistics(acc, loglik)


_POOLS = {}
_BLAS = []


def single_threaded_blas():
    """Context manager limiting BLAS to one thread.

    The chunk GEMMs are small: a multi-threaded BLAS gains nothing on them and, when the cores are
    busy, its threads wait on each other for orders of magnitude longer than the work itself. The
    E-step gets its parallelism from :func:`em_statistics`' own threads instead.
    """
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


def _run_threaded(fn, tasks, n_threads):
    """Run ``fn(*task)`` on ``n_threads`` threads (the caller limits BLAS threads)."""
    pool = _POOLS.get(n_threads)
    if pool is None:
        pool = _POOLS[n_threads] = ThreadPoolExecutor(n_threads, thread_name_prefix="gaussmix")
    return list(pool.map(lambda task: fn(*task), tasks))


def em_statistics(X, sample_weight, kernel, chunk_size, n_threads=1):
    """E-step over all rows of ``X`` (any array supporting row slicing), chunk by chunk.

    With ``n_threads > 1`` the rows are split into that many contiguous blocks, each processed by
    its own thread (NumPy and single-threaded BLAS release the GIL), and the statistics are added
    in block order, so the result is deterministic for a given ``n_threads``.
    """
    n_samples = X.shape[0]
    n_blocks = min(int(n_threads), -(-n_samples // chunk_size))
    with single_threaded_blas():
        if n_blocks <= 1:
            return _em_block(X, sample_weight, kernel, chunk_size, 0, n_samples)
        chunks_per_block = -(-n_samples // chunk_size) // n_blocks
        edges = [min(i * chunks_per_block * chunk_size, n_samples) for i in range(n_blocks)]
        edges.append(n_samples)
        tasks = [(X, sample_weight, kernel, chunk_size, a, b) for a, b in pairwise(edges)]
        parts = _run_threaded(_em_block, tasks, n_blocks)
    total = parts[0]
    for part in parts[1:]:
        total += part
    return total


def resp_statistics(X, sample_weight, resp_chunks, n_components, covariance_type, shift, dtype):
    """Statistics from given responsibilities; ``resp_chunks`` yields ``(start, stop, resp)``
    with ``resp`` of shape ``(n, K)``.

    ``stop`` may be ``None``, in which case ``start`` is an array of row indices.
    """
    layout = _Layout(n_components, X.shape[1], covariance_type, shift, dtype)
    acc = layout.new_accumulator()
    ws = None
    for start, stop, resp in resp_chunks:
        rows = start if stop is None else slice(start, stop)  # an index array, or a row range
        x = X[rows]
        if ws is None or ws.F.shape[1] < len(x):
            ws = layout.workspace(len(x))
        n = layout.load(ws, x, moments=True)
        resp_t = np.array(np.asarray(resp).T, dtype=dtype)
        w = None if sample_weight is None else np.asarray(sample_weight[rows]).astype(dtype)
        layout.accumulate(acc, ws, n, resp_t, w)
    return layout.statistics(acc)


def recentre_from_responsibilities(stats, X, sample_weight, resp_chunks, components):
    """Retake the moments of ``components`` around their own means (a second pass over the same
    responsibilities), for components whose moments around the shared shift cancelled (see
    :func:`cancelled_components`). Tied pools every component, so it retakes them all.
    Returns new statistics."""
    out = stats.copy()
    k_all = len(stats.nk)
    comps = np.arange(k_all) if stats.covariance_type == "tied" else np.asarray(components)
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
    if stats.covariance_type == "full":
        out.s2[comps] = s2
    elif stats.covariance_type == "tied":
        out.s2 = s2.sum(axis=0)
    else:
        out.s2[comps] = np.diagonal(s2, axis1=1, axis2=2)
    return out


def em_step(X, sample_weight, params, covariance_type, reg_covar, dtype, chunk_size,
            n_threads=1, statistics=None):
    """One EM iteration: E-step statistics of ``params`` over ``X``, then the M-step.

    ``params`` is ``(weights, means, covariances, precision_factors)`` in float64;
    ``statistics`` is the E-step reduction (default :func:`em_statistics`; the Dask backend passes
    its own). Returns ``(lower_bound, new_params)``, the lower bound being the mean log-likelihood
    of ``params`` (scikit-learn's convention).
    """
    weights, means, _, prec_chol = params
    kernel = Kernel(weights, means, prec_chol, covariance_type, weights @ means, dtype)
    stats = (statistics or em_statistics)(X, sample_weight, kernel, chunk_size, n_threads)
    redo = np.setdiff1d(cancelled_components(stats, dtype), kernel.far)
    if redo.size:  # a component shrank so much that its shared-shift moments cancelled: again,
        # with its moments around its current mean (rare: one more pass in such iterations)
        kernel = Kernel(weights, means, prec_chol, covariance_type, weights @ means, dtype,
                        far=np.union1d(kernel.far, redo))
        stats = (statistics or em_statistics)(X, sample_weight, kernel, chunk_size, n_threads)
    weights, means, covariances = m_step(stats, reg_covar, 10 * np.finfo(dtype).eps)
    floor = resolution_floor(weights, means, covariances, covariance_type, dtype)
    prec_chol = precision_cholesky(covariances, covariance_type, floor)
    return stats.loglik / stats.weight, (weights, means, covariances, prec_chol)


def cancelled_components(stats, dtype):
    """Components whose variances lost more than half of ``dtype``'s digits to cancellation:
    ``s2/nk - (s1/nk)^2`` below ``sqrt(eps)`` times ``s2/nk`` in some feature (tied: every
    component, if the pooled variance did)."""
    nk = np.maximum(stats.nk, np.finfo(np.float64).tiny)
    if stats.covariance_type == "full":
        raw = np.diagonal(stats.s2, axis1=1, axis2=2) / nk[:, None]
    elif stats.covariance_type == "tied":
        raw = np.diag(stats.s2) / nk.sum()
    else:
        raw = stats.s2 / nk[:, None]
    mc = stats.s1 / nk[:, None]
    limit = np.sqrt(np.finfo(dtype).eps)
    if stats.covariance_type == "tied":
        variance = raw - (nk @ mc**2) / nk.sum()
        lost = np.any(variance < limit * raw)
        return np.arange(len(nk)) if lost else np.zeros(0, dtype=np.intp)
    variance = raw - mc**2
    return np.flatnonzero(np.any(variance < limit * raw, axis=1) & (stats.nk > 0))


def resolution_floor(weights, means, covariances, covariance_type, dtype):
    """Per component, the variance below which a fitted spread is rounding noise, not data.

    ``(10 eps scale)^2``, with ``scale`` the larger of the component's largest ``|mean|`` and the
    whole mixture's largest standard deviation: a spread of under ten units in the last place of
    the values it describes (copies of one point, collapsed onto by a component with
    ``reg_covar=0``). ``eps`` is the data dtype's.
    """
    mixture_mean = weights @ means
    if covariance_type == "full":
        variances = np.diagonal(covariances, axis1=1, axis2=2)
    elif covariance_type == "tied":
        variances = np.broadcast_to(np.diag(covariances), means.shape)
    elif covariance_type == "diag":
        variances = covariances
    else:
        variances = np.broadcast_to(covariances[:, None], means.shape)
    total = weights @ (variances + (means - mixture_mean) ** 2)
    scale = np.maximum(np.abs(means).max(axis=1), np.sqrt(total.max()))
    floor = (10.0 * np.finfo(dtype).eps * scale) ** 2
    return floor.max() if covariance_type == "tied" else floor


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
