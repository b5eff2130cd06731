"""The E-step kernels: current parameters turned into per-chunk arithmetic for one dtype.

A :class:`Kernel` holds what the E-step needs for one kernel family (see
:mod:`gaussmix.engine.covariance.base`) and one dtype; :mod:`gaussmix.engine.estep` runs it over
rows. How a chunk is processed (this is where the speed comes from): each chunk of rows is
centred on a ``shift`` near the data and written, feature-major (one row per feature, one column
per data row), into a feature matrix ``F`` held in a per-thread workspace that is reused, never
reallocated:

==============  ==========================================  =======================================
family          F (one column per data row)                 E-step
==============  ==========================================  =======================================
dense           ``[upper(x x^T) (D(D+1)/2) ; x (D) ; 1]``   one GEMM ``Theta @ F``, ``Theta`` holding
                                                            ``[-vech(P_k)/2 ; P_k m_k ; c_k]`` per
                                                            component; components too far from the
                                                            shift for that form's rounding (see
                                                            ``Kernel._init_dense``) take one GEMM
                                                            ``[L_k^T | -L_k^T m_k] @ [x ; 1]`` and a
                                                            fused sum of squares instead
shared          ``[x (D) ; 1]``                             ``y = L^T x``, then one GEMM on ``[y ; 1]``
diagonal        ``[x*x (D) ; x (D) ; 1]``                   one GEMM ``Theta @ F``
==============  ==========================================  =======================================

(shared/diagonal components far from the shift take the stacked form too; see Precision.)

After the log-sum-exp (floored so that no responsibility is subnormal), one GEMM ``F @ R^T`` holds
every statistic of the chunk side by side: second moments, first moments and weight sums (shared
adds one small ``x x^T``). Statistics are float64 whatever the input dtype; the heavy per-chunk
kernels run in the input's dtype.

Precision: second moments are taken around one shift (the current mixture mean), so data far from
the origin loses nothing. A component far from the shift *relative to its own spread* would lose
digits to cancellation, in its second moments and in a shared-shift quadratic form alike. The
kernel bounds that loss per component (``Kernel._split_far``): a component beyond half the
dtype's digits takes the stacked E-step ``y = L_k^T (x - mean_k)`` (its dense factor, the shared
one, or the diagonal one), and its moments are taken around its own mean from those whitened rows
(``SuffStats.shift`` holds one point per component). Clusters 1e6 standard deviations apart keep
their covariances to ~1e-12 in float64; float32 at 1e3 stays within ~1e-6 of float64. The bound
uses the current parameters, so a component that shrinks a lot in one step can still cancel:
:func:`gaussmix.engine.stats.cancelled_components` spots it and
:func:`gaussmix.engine.em.e_step` redoes that iteration's statistics with it around its own mean.
"""

from __future__ import annotations

import numpy as np

from .layout import Layout, _outer_pairs, _pair_counts
from .missing import IncompleteRows
from .responsibilities import normalize_groups, normalize_inplace, size_blocks

LOG_2PI = np.log(2.0 * np.pi)


class Kernel(Layout):
    """The current parameters, prepared for the E-step of one kernel family and one dtype.

    ``log_prob`` gives ``log_weights_k + log N(x | mean_k, cov_k)`` for the rows in a workspace.

    Parameters
    ----------
    family : {'dense', 'shared', 'diagonal'}
        The covariance model's kernel family.
    log_weights : ndarray of shape (n_components,)
        Per-component log-weights (``log pi_k`` for EM; a variational mixture adds its
        expected-log terms here).
    means : ndarray of shape (n_components, n_features)
    factor : ndarray
        Precision factors in the family's layout: ``(K, D, D)`` dense, ``(D, D)`` shared,
        ``(K, D)`` diagonal (see ``CovarianceModel.kernel_factor``).
    log_det : ndarray of shape (n_components,) or float
        ``sum(log(diag(L)))`` per component (shared: one value).
    shift : ndarray of shape (n_features,)
        Centre of the chunks (e.g. the mixture mean).
    dtype : numpy float type
        The dtype the heavy kernels run in.
    far : sequence of int, default=()
        Components forced to the stacked form with moments around their own means.
    track_entropy : bool, default=False
        Also sum the responsibilities' ``-sum r log r`` into the statistics (``entropy``).
    groups : sequence of int, optional
        The components are mixtures stacked one after the other (a batch of EM runs, see
        :func:`gaussmix.engine.estep.stacked_kernel`) of these many components each: each is
        normalised on its own, and the E-step gives one log-likelihood per mixture.
    variances : ndarray of shape (n_components, n_features), optional
        Each component's variance per feature (else the dense family inverts the factors).
    density : object, optional
        A component family's E-step terms (:mod:`gaussmix.engine.families`): the kernel then
        computes ``row_scale_k * (-d_k(x)^2 / 2) + row_offset_k`` (``d_k`` the Mahalanobis
        distance; ``log_weights`` and ``log_det`` are not used) into the first K rows of the
        workspace's ``latent`` (the affine map folded into the forms' coefficients, free),
        ``density.log_density(latent, lp)`` turns those into the weighted log-densities and
        keeps what its sums need in ``latent``, and ``density.accumulate`` adds its sums to
        the statistics. ``None``: the Gaussian kernel.
    background : float, optional
        The log-density of a uniform noise component times its weight (``log w_0 - log V``),
        normalised with the components; its responsibilities' sum is the statistics'
        ``extras["background"]``.
    """

    #: Largest rounding bound ``eps * size`` accepted from the expanded dense form and from
    #: moments around the common shift; ``None``: ``sqrt(eps)`` of the dtype, i.e. at most
    #: half of its digits lost. See :meth:`_init_dense`.
    expanded_error = None

    def __init__(self, family, log_weights, means, factor, log_det, shift, dtype, far=(),
                 track_entropy=False, groups=None, variances=None, density=None,
                 background=None):
        means = np.asarray(means, dtype=np.float64)
        factor = np.asarray(factor, dtype=np.float64)
        n_components, n_features = means.shape
        super().__init__(n_components, n_features, family, shift, dtype)
        self.track_entropy = bool(track_entropy)
        self.density = density
        self.background = None if background is None else float(background)
        if (density is not None or background is not None) and (
                groups is not None and len(groups) > 1 or track_entropy):
            raise ValueError("A component family's terms or a noise component cannot be "
                             "stacked in a batch or tracked for a variational bound.")
        # a batch's mixtures in runs of equal size (normalize_groups), when their sizes differ
        self.n_groups, self.group_blocks = 1, None
        if groups is not None and len(groups) > 1:
            if sum(groups) != n_components or track_entropy:
                raise ValueError(
                    f"{n_components} components do not split into mixtures of "
                    f"{list(groups)} components, or the entropy was asked of a batch."
                )
            self.n_groups = len(groups)
            blocks = size_blocks(groups)
            self.group_blocks = blocks if len(blocks) > 1 else None
        self._parameters = (log_weights, means, factor)
        self._incomplete = None
        mc = means - self.shift
        if density is None:
            const = log_weights + log_det
            const = const - 0.5 * n_features * LOG_2PI
            row_scale = np.ones(n_components)
        else:
            # the family reads its rows as ``scale_k (-d^2/2) + offset_k``: both folded into
            # the forms' coefficients below (rows ``scale (-d^2/2 + offset / scale)``), free
            row_scale = np.asarray(density.row_scale, dtype=np.float64)
            const = np.asarray(density.row_offset, dtype=np.float64) / row_scale
        if family == "dense":
            prec = self._init_dense(factor, mc, const, dtype, row_scale)
            size = _term_size(mc, np.abs(prec))
            if variances is None:
                inverse = np.linalg.inv(factor)
                variances = np.sum(inverse**2, axis=-2)  # diag of (L L^T)^-1

            def factors(idx):
                return factor[idx], np.linalg.inv(factor[idx])
        elif family == "shared":
            # ||y - B_k||^2 = ||y||^2 - 2 y.B_k + ||B_k||^2 with y = L^T x, B_k = L^T mc_k: one
            # GEMM on the rows [y; 1; ||y||^2] (see log_prob)
            self.Lt = np.ascontiguousarray(factor.T).astype(dtype)
            B = mc @ factor
            c0 = const - 0.5 * np.sum(B**2, axis=1)
            self.theta = (row_scale[:, None] * np.hstack(
                [B, c0[:, None], np.full((n_components, 1), -0.5)])).astype(dtype)
            size = _term_size(mc, np.abs(factor @ factor.T))
            inverse = np.linalg.inv(factor)
            variances = np.sum(inverse**2, axis=-2)[None, :]

            def factors(idx):
                shape = (len(idx), n_features, n_features)
                return np.broadcast_to(factor, shape), np.broadcast_to(inverse, shape)
        else:
            p = factor
            p2 = p**2
            c0 = const - 0.5 * np.sum(mc**2 * p2, axis=1)
            self.theta = (row_scale[:, None] * np.hstack(
                [-0.5 * p2, mc * p2, c0[:, None]])).astype(dtype)
            size = np.sum(mc**2 * p2, axis=1) + n_features
            variances = 1.0 / p2

            def factors(idx):  # diagonal: the factors' diagonals, (len(idx), D)
                return p[idx], 1.0 / p[idx]
        # how many times its own variance each component's squared offset from the shift is:
        # the factor by which its shared-shift second moments cancel
        with np.errstate(divide="ignore", invalid="ignore"):
            cancel = np.max(mc**2 / variances, axis=1)
        self._split_far(size, cancel, factors, mc, const, dtype, far, row_scale)

    def incomplete_rows(self):
        """The :class:`~gaussmix.engine.missing.IncompleteRows` of these parameters (built on
        first use): the E-step of rows with missing values."""
        if self._incomplete is None:
            log_weights, means, factor = self._parameters
            self._incomplete = IncompleteRows(self.family, log_weights, means, factor,
                                              self.centres)
        return self._incomplete

    def _init_dense(self, prec_chol, mc, const, dtype, row_scale):
        """Split the components between the two dense E-step forms.

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
        quad = -0.5 * prec[:, rows, cols] * _pair_counts(d)
        lin = np.einsum("kij,kj->ki", prec, mc)
        theta = np.empty((len(mc), quad.shape[1] + d + 1), dtype=dtype)
        scale = row_scale[:, None]
        theta[:, : quad.shape[1]] = scale * quad
        theta[:, quad.shape[1] : -1] = scale * lin
        theta[:, -1] = row_scale * (const - 0.5 * np.einsum("ki,ki->k", lin, mc))
        self.theta_exp = theta
        return prec

    def _split_far(self, size, cancel, factors, mc, const, dtype, forced, row_scale):
        """Find the components too far from the shift for the shared-shift forms (see
        :meth:`_init_dense`) and prepare their stacked form: ``y_k = L_k^T (x - m_k)`` for all of
        them in one GEMM ``[L_k^T | -L_k^T m_k] @ [x ; 1]``, with ``L_k`` the precision factor
        (dense), the shared one or the diagonal one. Their E-step rows
        are ``-|y_k|^2 / 2 + c_k``. Those whose shared-shift moments would also lose over half
        the digits (``eps * cancel`` above the bound) take their moments around their own means
        from ``y`` (only those: that costs a small GEMM per component and chunk).
        """
        k, d = mc.shape
        eps = np.finfo(dtype).eps
        limit = np.sqrt(eps) if self.expanded_error is None else self.expanded_error
        whitened = ~(cancel * eps <= limit)  # NaN goes the precise way
        if len(forced):
            whitened[np.asarray(forced, dtype=np.intp)] = True  # e.g. moments that cancelled
        far = whitened | ~(size * eps <= limit)
        self.near_rows = np.ones(k, dtype=bool)
        if not far.any():  # the usual case: every component takes the shared-shift forms
            self.needs_outer = self.family == "dense"
            self.theta_far = self.const_far = self.far_inverse_factors = None
            return
        self.far = far = np.flatnonzero(far)
        self.whitened = np.flatnonzero(whitened[far])
        self.needs_outer = self.family == "dense" and len(far) < k
        # (far, D, D) precision factors and their inverses; diagonal ones as (far, D), so that
        # wide data cost O(K D) here, not O(K D^2) (20 rows of 2,000 columns: gigabytes)
        L, L_inverse = factors(far)
        if L.ndim == 2:  # y_k = p_k * x - p_k * m_k, elementwise
            self.theta_far = None
            self.diagonal_far = (L.astype(dtype)[:, :, None], (mc[far] * L).astype(dtype)[:, :, None])
        else:
            lt = L.transpose(0, 2, 1).reshape(-1, d)
            b = np.einsum("kd,kde->ke", mc[far], L).reshape(-1, 1)
            self.theta_far = np.hstack([lt, -b]).astype(dtype)
        scale = row_scale[far]
        self.scale_far = (-0.5 * scale).astype(dtype)[:, None]
        self.const_far = (scale * const[far]).astype(dtype)[:, None]
        comps = far[self.whitened]
        self.centres[comps] = mc[comps] + self.shift
        # x - mean_k = A_k y with A_k = L_k^-T (statistics()); shared pools every other row
        self.far_inverse_factors = (L_inverse[self.whitened] if L.ndim == 2
                                    else L_inverse[self.whitened].transpose(0, 2, 1))
        self.near_rows[comps] = False

    def _log_prob_far(self, ws, F, lp, n):
        """Stacked-form rows of the far components, over whatever ``lp`` holds for them."""
        d, far = self.n_features, self.far
        y = ws.Yf[:, :n]
        y3 = y.reshape(len(far), d, n)
        if self.theta_far is None:  # diagonal factors
            factor, offset = self.diagonal_far
            np.multiply(factor, F[self.x_at : self.x_at + d], out=y3)
            y3 -= offset
        else:
            np.matmul(self.theta_far, F[self.x_at :], out=y)
        # all components far: write in place; otherwise overwrite their shared-shift rows
        out = lp if len(far) == self.n_components else ws.lp_far[:, :n]
        np.einsum("kdn,kdn->kn", y3, y3, out=out)  # one read of y, no squared copy
        out *= self.scale_far
        out += self.const_far
        if out is not lp:
            lp[far] = out

    def log_prob(self, ws, n, lp=None):
        """Weighted log-probabilities ``(K, n)`` of the rows loaded in ``ws`` (a view of ``ws``;
        for a family's ``density``, its rows ``scale (-d^2/2) + offset``), into ``lp`` if given."""
        F = ws.F[:, :n]
        lp = ws.lp[:, :n] if lp is None else lp
        family, d = self.family, self.n_features
        all_far = len(self.far) == self.n_components
        if family == "dense":
            if self.needs_outer:
                np.matmul(self.theta_exp, F, out=lp)
        elif all_far:
            pass
        elif family == "shared":
            ya = ws.Y[:, :n]  # [L^T x; 1; ||L^T x||^2]
            np.matmul(self.Lt, F[:d], out=ya[:d])
            np.einsum("dn,dn->n", ya[:d], ya[:d], out=ya[d + 1])
            np.matmul(self.theta, ya, out=lp)
        else:
            np.matmul(self.theta, F, out=lp)
        if len(self.far):
            self._log_prob_far(ws, F, lp, n)
        return lp

    def e_step(self, ws, rows, moments=False):
        """Load ``rows``; return responsibilities ``(K, n)`` (a view of ``ws``) and ``log p(x)``.

        With ``track_entropy``, ``ws.plogp[:n]`` then holds each row's ``sum_k r log r``.
        """
        return self.e_step_loaded(ws, self.load(ws, rows, moments))

    def e_step_loaded(self, ws, n):
        """:meth:`e_step` of the ``n`` rows already loaded in ``ws`` (centred on this kernel's
        shift)."""
        if self.density is None:
            lp = self.log_prob(ws, n)
        else:
            latent = ws.latent[:, :n]
            self.log_prob(ws, n, latent[: self.n_components])
            lp = self.density.log_density(latent, ws.lp[:, :n])
        if self.background is not None:
            return lp, _with_background(lp, normalize_inplace(lp), self.background,
                                        ws.background[:n])
        if self.track_entropy:
            return lp, normalize_inplace(lp, ws.shifted[:, :n], ws.plogp[:n])
        if self.group_blocks is not None:  # (n_groups, n) log-likelihoods, one mixture per row
            return lp, normalize_groups(lp, self.group_blocks)
        if self.n_groups > 1:
            return lp, normalize_inplace(lp.reshape(self.n_groups, -1, n))
        return lp, normalize_inplace(lp)


def _with_background(resp, log_norm, background, noise):
    """Responsibilities ``resp`` of the components (normalised among themselves, in place) and
    their log-density ``log_norm``, rescaled for a noise component of weighted log-density
    ``background``: fills ``noise`` with its responsibilities and returns the rows'
    log-densities with it."""
    total = np.logaddexp(log_norm, background)
    np.subtract(background, total, out=noise)
    np.exp(noise, out=noise)
    resp *= np.exp(log_norm - total)
    return total


def _term_size(mc, abs_prec):
    """``|m_k|^T |P_k| |m_k| + D``: the magnitude of a shared-shift quadratic form's terms at each
    component's own mean (``abs_prec`` one matrix per component, or one shared)."""
    m = np.abs(mc)
    if abs_prec.ndim == 2:
        return np.einsum("ki,ij,kj->k", m, abs_prec, m) + mc.shape[1]
    return np.einsum("ki,kij,kj->k", m, abs_prec, m) + mc.shape[1]
