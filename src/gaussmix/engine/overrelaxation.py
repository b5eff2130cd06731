"""Over-relaxed EM steps: where EM crawls, step further along the direction it is moving.

EM maps the moments an M-step is taken from, ``X`` (each component's weight sum, mean and
sample covariance), to the moments of the next E-step, ``F(X)``; plain EM is ``X <- F(X)``. The
adaptive over-relaxed step (Salakhutdinov & Roweis 2003) is ``X <- X + eta * (F(X) - X)``, with
``eta`` growing by :data:`GROWTH` after every step that raised the log-likelihood and falling
back to 1 (plain EM) after one that did not; that step is then undone and the plain step taken
from where it stood, so the log-likelihood never falls. Where EM's rate is near 1 (a slow
crawl along a flat ridge) ``eta`` grows until the steps cover in one what plain EM covers in
many.

The extrapolation is of *moments*, not of a covariance model's parameters: the model's own
M-step then maps the extrapolated moments back into the model (a shared orientation stays
shared, a fixed shape stays fixed), so one rule serves every covariance model. Moments are
taken as means and sample covariances (not as sums around a shift), so that a component whose
moments an E-step takes around its own mean extrapolates as one taken around the data's.

Every function here is pure; the runs' bookkeeping is :mod:`gaussmix.estimators.em_loop`'s.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .stats import sample_covariances

# eta's growth after each step that raised the log-likelihood (Salakhutdinov & Roweis's
# adaptive rule). A slower growth wastes fewer steps where a large eta overshoots; a crawl of
# hundreds of steps still reaches eta of tens within its first fifty.
GROWTH = 1.1


class Moments(NamedTuple):
    """Stacked components' weight sums ``nk`` ``(C,)``, means ``means`` ``(C, D)`` and sample
    covariances ``covariances`` (``(C, D, D)``, or ``(C, D)`` variances along the axes)."""

    nk: np.ndarray
    means: np.ndarray
    covariances: np.ndarray


def moments_of(stats):
    """:class:`Moments` of E-step statistics (:class:`~gaussmix.engine.stats.SuffStats`, taken
    around their ``shift``, one point per component), from the sample covariances every M-step
    starts from (:func:`~gaussmix.engine.stats.sample_covariances`); pooled statistics
    (``"shared"``) give every component the pooled within-component covariance (see
    :func:`pooled`)."""
    nk = stats.nk
    safe = np.where(nk > 0, nk, 1.0)
    mc = stats.s1 / safe[:, None]
    covariances = sample_covariances(stats, safe, mc)
    if stats.family == "shared":
        covariances = np.broadcast_to(covariances, (len(nk),) + covariances.shape)
    return Moments(nk, mc + stats.shift, covariances)


def sums_of(moments, shift, layout):
    """The E-step sums ``(nk, s1, s2)`` around ``shift`` in ``layout`` that have these
    :class:`Moments` (the inverse of :func:`moments_of`; ``"shared"``: moments whose components
    hold one pooled covariance)."""
    nk, means, covariances = moments
    mc = means - shift
    s1 = nk[:, None] * mc
    if layout == "diagonal":
        return nk, s1, nk[:, None] * (covariances + mc**2)
    s2 = nk[:, None, None] * (covariances + mc[:, :, None] * mc[:, None, :])
    return nk, s1, (s2.sum(axis=0) if layout == "shared" else s2)


def pooled(moments):
    """One mixture's dense :class:`Moments` with every component's covariance replaced by the
    pooled within-component covariance (weights ``nk``), which is what a shared covariance's
    M-step takes from them: extrapolated so, a batch (whose statistics are per component) and a
    run alone (whose statistics are pooled) take the same step."""
    nk, means, covariances = moments
    within = np.tensordot(nk, covariances, axes=1) / nk.sum()
    return Moments(nk, means, np.broadcast_to(within, covariances.shape))


def extrapolated(before, after, eta):
    """The :class:`Moments` ``before + eta * (after - before)``, component by component
    (``eta`` one value per component)."""
    eta = np.asarray(eta, dtype=np.float64)
    return Moments(*(b + eta.reshape((-1,) + (1,) * (b.ndim - 1)) * (a - b)
                     for b, a in zip(before, after)))


def admissible(moments):
    """Per component, whether extrapolated :class:`Moments` are moments at all: a positive
    weight and a positive definite (or positive, along the axes) sample covariance."""
    nk, means, covariances = moments
    ok = (np.isfinite(nk) & (nk > 0) & np.all(np.isfinite(means), axis=1)
          & np.all(np.isfinite(covariances.reshape(len(nk), -1)), axis=1))
    if covariances.ndim == 2:
        return ok & np.all(covariances > 0, axis=1)
    symmetric = 0.5 * (covariances + np.swapaxes(covariances, 1, 2))
    if ok.all():
        try:
            np.linalg.cholesky(symmetric)
            return ok
        except np.linalg.LinAlgError:
            pass
    ok[ok] = np.linalg.eigvalsh(symmetric[ok])[:, 0] > 0
    return ok
