"""Where a chunk's rows sit for the E-step kernels: the feature matrix ``F`` and its workspace.

Each chunk of rows is centred on a ``shift`` near the data and written, feature-major (one row
per feature, one column per data row), into ``F`` in a per-thread workspace that is reused:
``[upper(x x^T) ; x ; 1]`` for the dense kernels, ``[x ; 1]`` for the shared one, ``[x*x ; x ;
1]`` for the diagonal ones, so that one GEMM ``F @ R^T`` of the responsibilities gives every
statistic of the chunk (:class:`Layout`, the base of :class:`~gaussmix.engine.kernel.Kernel`).
Also here: how many rows a chunk holds (:func:`chunk_rows`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from .stats import SuffStats

# Working-set target for one chunk's buffers, in bytes: small enough to stay in cache.
_CHUNK_BYTES = 4 * 1024 * 1024


def _row_width(n_features, n_components, family):
    """Numbers held per row by a chunk's workspace."""
    d, k = n_features, n_components
    if family == "dense":
        return d * (d + 1) // 2 + d + 1 + k * d + k
    if family == "shared":
        return 2 * d + 2 + k
    return 2 * d + 1 + k


def chunk_rows(n_features, n_components, family, itemsize, target=_CHUNK_BYTES):
    """Rows per chunk so that the chunk's workspace fits in about ``target`` bytes."""
    width = _row_width(n_features, n_components, family)
    rows = int(min(max(target // max(1, width * itemsize), 256), 4096))
    if (rows * itemsize) % 4096 == 0:
        # Feature rows a multiple of 4 KiB apart share cache sets: 10% slower E-step measured.
        rows -= 64 // itemsize
    return rows


class _Workspace:
    """Per-thread buffers for one chunk, feature-major (one row per feature, one column per data
    row) so every NumPy loop runs along the long chunk axis: features ``F``, the shared
    family's ``y = L^T x`` in ``Y``, the far components' whitened rows ``Yf`` (see :meth:`Kernel._split_far`), and
    log-probabilities / responsibilities ``lp`` of shape ``(K, rows)``; for a kernel that
    tracks the responsibilities' entropy, the shifted log-probabilities ``shifted`` and each
    row's ``sum_k r log r`` in ``plogp``."""

    __slots__ = ("F", "Y", "Yf", "Yr", "_outer", "background", "latent", "lp", "lp_far",
                 "plogp", "shifted")

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
        if layout.family == "shared":
            self.Y = np.empty((d + 2, rows), dtype=layout.dtype)  # [L^T x; 1; ||L^T x||^2]
            self.Y[d] = 1
        self.lp = np.empty((k, rows), dtype=layout.dtype)
        self.shifted = self.plogp = self.latent = self.background = None
        if layout.density is not None:  # a family's per-row terms (see engine.families)
            self.latent = np.empty((layout.density.n_latent * k, rows), dtype=layout.dtype)
        if layout.background is not None:  # the noise component's responsibilities
            self.background = np.empty(rows, dtype=layout.dtype)
        if layout.track_entropy:
            self.shifted = np.empty((k, rows), dtype=layout.dtype)
            self.plogp = np.empty(rows, dtype=layout.dtype)

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


@functools.lru_cache(maxsize=64)
def _pair_counts(n_features):
    """1 for the diagonal pairs of :func:`_outer_pairs`, 2 for the others (``x_i x_j`` stands
    for both ``(i, j)`` and ``(j, i)``)."""
    rows, cols = _outer_pairs(n_features)
    return np.where(rows == cols, 1.0, 2.0)


@functools.lru_cache(maxsize=64)
def _outer_pairs(n_features):
    """``(i, j)``, ``i <= j``, of the rows of ``F`` that hold ``x_i x_j``: the upper triangle of
    ``x x^T`` diagonal by diagonal (main diagonal first), so that filling one diagonal is a
    single product of two contiguous blocks of ``x``."""
    rows = np.concatenate([np.arange(n_features - o) for o in range(n_features)])
    cols = np.concatenate([np.arange(o, n_features) for o in range(n_features)])
    return rows, cols


@dataclass
class Accumulator:
    """A block's running sums, before :meth:`Layout.statistics` unpacks them.

    ``moments``: ``F @ resp.T`` (every moment and weight sum, ``(width, K)``); ``xtx``: the
    shared family's pooled ``x^T x``; ``weight`` and ``n_samples``: the rows' total weight and
    count; ``whitened_yy`` and ``whitened_y``: the far components' moments of their whitened
    rows (``None`` when no component is far); ``extras``: a family's further sums."""

    moments: np.ndarray
    xtx: np.ndarray | None = None
    weight: float = 0.0
    n_samples: int = 0
    whitened_yy: np.ndarray | None = None
    whitened_y: np.ndarray | None = None
    extras: dict = field(default_factory=dict)


class Layout:
    """Where the centred rows, their squares or outer products, and the 1s sit in ``F``.

    ``F`` has one row per feature of the statistics: for ``dense`` the upper triangle of
    ``x x^T`` (``D (D + 1) / 2`` rows, in :func:`_outer_pairs` order), then ``x`` (``D``), then 1;
    for ``shared`` ``x`` then 1; for ``diagonal`` ``x * x``, then ``x``, then 1. ``resp @ F.T``
    is then every statistic of the chunk at once.
    """

    def __init__(self, n_components, n_features, family, shift, dtype):
        self.n_components = n_components
        self.n_features = n_features
        self.family = family
        self.shift = np.asarray(shift, dtype=np.float64)
        self.dtype = np.dtype(dtype)
        self._shift_dt = self.shift.astype(self.dtype)[:, None]
        d = n_features
        if family == "dense":
            self.x_at = d * (d + 1) // 2
        elif family == "shared":
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
        self.centres = np.repeat(self.shift[None], n_components, axis=0)
        # Whether the E-step also sums sum_k r log r per row (a variational lower bound needs
        # the responsibilities' entropy; EM does not, and skips the extra pass).
        self.track_entropy = False
        # Whether rows holding NaN are scored on their observed values (see
        # gaussmix.engine.missing); off, the chunks are never scanned for them.
        self.allow_missing = False
        # A component family's E-step terms (gaussmix.engine.families: log-densities from the
        # squared distances, per-row latent weights, further sums) and the noise component's
        # log-density (log weight - log volume); None for a plain Gaussian mixture.
        self.density = None
        self.background = None

    def workspace(self, rows):
        return _Workspace(self, rows)

    def load(self, ws, rows, moments):
        """Centre ``rows`` into the workspace; with ``moments`` also fill the second-moment part."""
        n, d = rows.shape[0], self.n_features
        xt = ws.F[self.x_at : self.x_at + d, :n]
        np.subtract(rows.T, self._shift_dt, out=xt, casting="unsafe")
        if self.family == "dense":
            if moments or self.needs_outer:
                for a, b, out in ws.outer_products(self.x_at, d, n):
                    np.multiply(a, b, out=out)
        elif self.family == "diagonal":
            np.multiply(xt, xt, out=ws.F[:d, :n])
        return n

    def new_accumulator(self):
        """A zeroed :class:`Accumulator` for this layout."""
        d, n_w = self.n_features, len(self.whitened)
        acc = Accumulator(np.zeros((self.width, self.n_components)))
        if self.family == "shared":
            acc.xtx = np.zeros((d, d))
        if n_w:  # their second moments: the diagonals alone for diagonal factors
            shape = (n_w, d) if self.family == "diagonal" else (n_w, d, d)
            acc.whitened_yy, acc.whitened_y = np.zeros(shape), np.zeros((n_w, d))
        return acc

    def accumulate(self, acc, ws, n, resp, weight):
        """Add one chunk to ``acc``; ``resp`` ``(K, n)`` is modified in place."""
        F = ws.F[:, :n]
        if weight is not None:
            resp *= weight
        if self.background is not None:
            part = ws.background[:n] if weight is None else ws.background[:n] * weight
            acc.extras["background"] = acc.extras.get("background", 0.0) + float(
                np.sum(part, dtype=np.float64))
        scale = None  # the moments' weights are resp times this, per component
        if self.density is not None:  # its sums, and the moments' weights (r u = r / q * s)
            scale = self.density.accumulate(acc.extras, resp, ws.latent[:, :n])
        if scale is None:
            acc.moments += F @ resp.T  # this orientation is the faster GEMM for BLAS
        else:
            acc.moments += np.multiply(F @ resp.T, scale)
        if self.family == "shared":
            xt = F[: self.n_features]
            if len(self.whitened) or self.density is not None or self.background is not None:
                # each row's total moment weight (pooled over the near components), into the
                # E-step's spent y = L^T x
                near = slice(None) if self.near_rows.all() else self.near_rows  # no copy
                total = resp[near].sum(axis=0) if scale is None else (
                    scale[near].astype(resp.dtype) @ resp[near])
                xw = np.multiply(xt, total, out=ws.Y[: self.n_features, :n])
            else:
                xw = xt if weight is None else np.multiply(xt, weight,
                                                           out=ws.Y[: self.n_features, :n])
            acc.xtx += xw @ xt.T
        acc.weight += float(n if weight is None else np.sum(weight, dtype=np.float64))
        acc.n_samples += n
        if acc.whitened_yy is not None:
            # y = L_k^T (x - mean_k) of the far components, left in Yf by the E-step
            d, w = self.n_features, self.whitened
            y = ws.Yf[:, :n].reshape(len(self.far), d, n)
            if len(w) < len(self.far):
                y = y[w]
            r = resp[self.far[w]][:, :, None]  # (whitened, n, 1)
            if scale is not None:
                r = r * scale[self.far[w]][:, None, None]
            yr = np.multiply(y, r.transpose(0, 2, 1), out=ws.Yr[:, :n].reshape(y.shape))
            if self.family == "diagonal":
                acc.whitened_yy += np.einsum("kdn,kdn->kd", yr, y)
            else:
                acc.whitened_yy += yr @ y.transpose(0, 2, 1)
            acc.whitened_y += (y @ r)[:, :, 0]

    def statistics(self, acc, loglik=0.0):
        """Unpack an accumulator into :class:`SuffStats`."""
        rtf = acc.moments.T
        k, d = self.n_components, self.n_features
        if self.family == "dense":
            rows, cols = _outer_pairs(d)
            s2 = np.empty((k, d, d))
            s2[:, rows, cols] = rtf[:, : self.x_at]
            s2[:, cols, rows] = rtf[:, : self.x_at]
        elif self.family == "shared":
            s2 = acc.xtx.copy()
        else:
            s2 = rtf[:, :d].copy()
        stats = SuffStats.of(self.family, rtf[:, -1].copy(), rtf[:, self.x_at : self.x_at + d].copy(),
                             s2, self.centres.copy())
        if acc.whitened_yy is not None:
            # x - mean_k = A_k y with A_k = L_k^-T: moments around the component's own mean
            syy, sy = acc.whitened_yy, acc.whitened_y
            A, comps = self.far_inverse_factors, self.far[self.whitened]
            if self.family == "diagonal":  # A and the second moments as diagonals
                stats.s1[comps] = A * sy
                stats.s2[comps] = A**2 * syy
            else:
                stats.s1[comps] = np.einsum("kij,kj->ki", A, sy)
                s2 = A @ syy @ A.transpose(0, 2, 1)
                if self.family == "dense":
                    stats.s2[comps] = s2
                else:  # shared
                    stats.s2 += s2.sum(axis=0)
        # one log-likelihood per mixture of a batch (see Kernel.n_groups), else a float
        stats.loglik = float(loglik) if np.ndim(loglik) == 0 else np.array(loglik, dtype=float)
        stats.weight = acc.weight
        stats.n_samples = acc.n_samples
        stats.extras = dict(acc.extras)
        return stats
