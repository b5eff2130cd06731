"""The Student-t family: multivariate t components fitted by ECM (Peel & McLachlan 2000).

A row's t-density under component ``k`` with scale ``S_k``, location ``m_k`` and ``nu_k``
degrees of freedom, from its squared Mahalanobis distance ``delta``::

    log t = lgamma((nu + D)/2) - lgamma(nu/2) - D/2 log(nu pi) + log|L_k|
            - (nu + D)/2 log(1 + delta/nu)

The E-step's latent weight of the row is ``u = (nu + D) / (nu + delta)`` (its expected
precision scale): the moments are taken with weights ``r u`` (rows far out count less), the
sums ``sum r`` and ``sum r (log u - u)`` go to the statistics' extras, and the degrees of
freedom solve the ECM equation of :func:`update_dofs`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from .protocol import ComponentFamily, FamilyStep, moment_step

#: Degrees of freedom are kept in ``[MIN_DOF, MAX_DOF]``. On Gaussian data the ECM equation's
#: root runs off to infinity; above 1000 a t and a Gaussian differ by less than the sampling
#: noise of any data set of practical size (excess kurtosis 6/(nu-4) < 0.7%) and the t's
#: log-density terms start to lose digits to cancellation; below 0.2 the density has no
#: usable tails (the first moment is infinite below 1 already).
MIN_DOF, MAX_DOF = 0.2, 1000.0


class StudentTerms:
    """The Student-t E-step terms of one iteration (the kernel's ``density``).

    ``log w + log t = half log q + const`` with ``q = 1 + d^2/nu`` and ``half = -(nu + D)/2``,
    which is ``half log(c q)`` with ``log c = const / half``. The kernel writes ``c q`` into
    ``latent[:K]`` (``row_scale`` times its ``-d^2/2`` plus ``row_offset``, folded into its own
    coefficients at no cost), so :meth:`log_density` is a ``log`` and a product; it keeps
    ``log(c q)`` in ``latent[K:]``. The latent weight ``u = (nu + D) / (nu + d^2) = ratio c /
    (c q)`` is never stored: the moments take ``r / (c q)`` and are scaled by ``ratio c`` per
    component after their GEMM. ``c`` is folded in only while ``|log c|`` is at most an eighth
    of the dtype's largest exponent (88 in float64, 11 in float32), so that ``c q`` is
    representable wherever ``q`` is, short of rows ~1e16 standard deviations out in float32;
    a component beyond that keeps ``c = 1`` and adds ``const`` (one more pass).
    """

    #: Per-row arrays of K rows each the kernel keeps for these terms: ``c q`` and its log.
    n_latent = 2

    def __init__(self, log_weights, log_det, dofs, n_features, dtype):
        nu = np.asarray(dofs, dtype=np.float64)
        d = n_features
        const = (np.asarray(log_weights, dtype=np.float64) + log_det
                 + gammaln(0.5 * (nu + d)) - gammaln(0.5 * nu) - 0.5 * d * np.log(nu * np.pi))
        half = -0.5 * (nu + d)
        log_c = const / half
        folded = np.abs(log_c) <= np.log(np.finfo(dtype).max) / 8  # NaN: not folded
        self.log_c = np.where(folded, log_c, 0.0)
        c = np.exp(self.log_c)
        self.row_scale = -2.0 / nu * c  # -d^2/2 -> c (1 + d^2/nu)
        self.row_offset = c
        self.half = half.astype(dtype)[:, None]
        # the components whose const stays a separate term
        self.rest = [(k, np.dtype(dtype).type(const[k])) for k in np.flatnonzero(~folded)]
        self.moment_scale = (nu + d) / nu * c

    def log_density(self, latent, lp):
        """Fill ``lp`` (``(K, n)``) with ``log w_k + log t_k`` from ``c q`` in ``latent[:K]``,
        keeping ``log(c q)`` in ``latent[K:]``; returns ``lp``. Two passes: ``log`` of
        ``c q`` loses nothing that matters (its absolute error is one rounding, as
        ``log1p(d^2/nu)`` plus ``const``'s; rounding may leave ``q`` a hair below 1)."""
        k = len(lp)
        log_q = np.log(latent[:k], out=latent[k:])
        np.multiply(log_q, self.half, out=lp)
        for j, const in self.rest:
            lp[j] += const
        return lp

    def accumulate(self, extras, resp, latent):
        """Add ``sum r`` and ``sum r log(1 + d^2/nu)`` of the chunk (``resp`` weighted by the
        sample weights) to ``extras``; turn ``resp`` into ``r / (c q)`` in place and return
        ``ratio c``, the per-component factor that makes those the moments' weights ``r u``.
        (``sum r u``, which the degrees of freedom also need, is the moments' weight sum.)"""
        k = len(resp)
        resp_sum = resp.sum(axis=1, dtype=np.float64)
        extras["resp"] = extras.get("resp", 0.0) + resp_sum
        extras["resp_log"] = extras.get("resp_log", 0.0) + (np.einsum(
            "kn,kn->k", resp, latent[k:]).astype(np.float64) - self.log_c * resp_sum)
        np.divide(resp, latent[:k], out=resp)
        return self.moment_scale


def update_dofs(dofs, resp_sums, dof_sums, n_features, shared=False):
    """The ECM update of the degrees of freedom (Peel & McLachlan 2000, eq. 30): each new
    ``nu`` solves ``log(nu/2) - digamma(nu/2) + 1 + c = 0`` with ``c = dof_sum / resp_sum +
    digamma((nu_old + D)/2) - log((nu_old + D)/2)`` (``dof_sum = sum r (log u - u)`` under the
    old ``nu``); ``shared`` pools the components into one equation. The left side falls from
    ``+inf`` to ``1 + c < 0``, so the root is unique; it is kept in ``[MIN_DOF, MAX_DOF]``."""
    dofs = np.asarray(dofs, dtype=np.float64)
    half = 0.5 * (dofs + n_features)
    shift = digamma(half) - np.log(half)
    if shared:
        total = float(np.sum(resp_sums))
        c = np.array([(np.sum(dof_sums) + np.sum(resp_sums * shift)) / max(total, 1e-300)])
    else:
        c = np.asarray(dof_sums) / np.maximum(resp_sums, 1e-300) + shift
    out = np.array([_solve_dof(value) for value in c])
    return np.repeat(out, len(dofs)) if shared else out


def _solve_dof(c):
    def equation(nu):
        return np.log(0.5 * nu) - digamma(0.5 * nu) + 1.0 + c

    if not np.isfinite(c) or equation(MAX_DOF) >= 0:
        return MAX_DOF
    if equation(MIN_DOF) <= 0:
        return MIN_DOF
    from scipy.optimize import brentq  # here: importing scipy.optimize costs 0.2 s

    return float(brentq(equation, MIN_DOF, MAX_DOF, xtol=1e-10, rtol=1e-12))


class StudentFamily(ComponentFamily):
    """Multivariate Student-t components (scale matrices under any covariance model)."""

    name = "student"

    def terms(self, log_weights, log_det, n_features, dtype, dofs=None):
        return StudentTerms(log_weights, log_det, dofs, n_features, dtype)

    def m_step(self, stats, nk_eps, dofs=None, options=None):
        """Weights, locations, the scatter handed to the covariance model, and the degrees of
        freedom (``options``: ``"fixed"``, ``"shared"`` or ``"free"``)."""
        resp_sums = np.asarray(stats.extras["resp"], dtype=np.float64)
        background = stats.extras.get("background", 0.0)
        nk, weights, means, sample = moment_step(stats, nk_eps, moment_weight=stats.nk,
                                                 resp_sums=resp_sums, background=background)
        if options != "fixed":
            # sum r (log u - u) = log((nu + D)/nu) sum r - sum r log(1 + d^2/nu) - sum r u
            d = means.shape[1]
            dof_sums = (np.log((dofs + d) / dofs) * resp_sums
                        - np.asarray(stats.extras["resp_log"]) - stats.nk)
            dofs = update_dofs(dofs, resp_sums, dof_sums, d, shared=options == "shared")
        return FamilyStep(nk, weights, means, sample, dofs)

    def n_parameters(self, n_components, options=None):
        return {"fixed": 0, "shared": 1}.get(options, n_components)
