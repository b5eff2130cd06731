"""When EM stops: one rule for every estimator and every way of running EM.

The default rule is relative to the log-likelihood's own size, as mclust's is, but judges the
gain *still to come* rather than the last step: with a linear rate ``r = d_t / d_{t-1}`` the
steps that remain add up to ``d_t / (1 - r)`` (Aitken's acceleration; Böhning et al. 1994;
McNicholas et al. 2010), and EM stops when that is below ``RTOL`` of ``1 + |L|`` (``L`` the
total log-likelihood; mclust's relative tolerance, 1e-5). Being relative, the rule means the
same on 100 rows and on 10 million; and it is the same for a single fit, runs side by side and
a model-selection grid.

The last step alone says little where EM crawls: mclust's rule stops Old Faithful with three
full components 0.1 nats short of its optimum, and scikit-learn's ``tol=1e-3`` 4.4 nats short.

A spurious mixture (a component with fewer rows than the parameters it fits on its own, plus
one) has no optimum: its likelihood grows as that component narrows onto its rows, and the
gain to come never shrinks. For it the last step alone decides, as in mclust (which gives up
on such fits as singular); no criterion chooses it.

Within a model-selection grid (:func:`stopping_at_the_ridge`), a run also stops where a
covariance is *held up by the ridge*: in some direction its variance is below twice
``reg_covar``, so its rows' own variance there is below the ridge itself. Such a component sits
on fewer rows than dimensions or on tied values; without the ridge its covariance would be
singular, where mclust stops and reports no fit, and what EM would still gain there measures the
ridge's size, not the data. The grid lists such fits apart as degenerate
(:func:`gaussmix.selection.criteria.degenerate_reason`) and never chooses them. Only directions
in which the data spread count (a constant column is held up by the ridge in every component),
and only a variance that is also collapsed by the grid's measure (a tiny fraction of the data's
variance in that direction), so that a large ``reg_covar`` a user chose stops nothing. Such a
component never grows back: with the grid's ridge (a millionth of the data's variance) every
other row lies hundreds of its standard deviations off, so its responsibility for them is nil.
A single fit is not stopped so: it runs to its optimum as scikit-learn's does.

Where each component's shape is its own (mclust's middle letter ``V``: VVV, EVV, VVE, EVE, VVI,
EVI; :attr:`~gaussmix.engine.covariance.CovarianceModel.own_shape`), the grid judges the
component's *rows* too (:meth:`StoppingRule.rows_held`): where their own variance (the E-step's
sample covariance, along the axes for an axis-aligned model) is held up by the ridge in the same
sense, the component can narrow onto them without bound whatever it shares with the others, and
mclust, which has no ridge, finds the fit singular at once. A covariance that shares its volume
hides this: an EVE component on 6 rows in 7 dimensions keeps a regular covariance while the
common orientation turns towards its rows, and its run crawled for hundreds of iterations
(half of the panel's time on ``attitude`` and ``judge_ratings``). Such rows are fewer than the
component's own parameters, so only spurious components are judged.

A ``tol`` the user sets keeps scikit-learn's meaning: EM stops when the mean log-likelihood
per row (the lower bound) changes by less than ``tol``.

Under the default rule EM also takes over-relaxed steps (:mod:`.overrelaxation`); the rate the
rule projects with is plain EM's, so a run that has taken them is judged on plain steps only
(:class:`gaussmix.estimators.em_loop.Relaxation`).

Bounds here are *per row* (scikit-learn's ``lower_bound_``); ``n_rows`` (the weight behind
them) turns mclust's ``1 + |L|`` into ``1 / n_rows + |L / n_rows|``.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .covariance.base import lower_triangular_inverse

__all__ = ["RTOL", "StoppingRule", "held_by_ridge", "held_covariances", "ridge_context",
           "stopping_at_the_ridge", "tol_text", "weight_total"]

# The gain still to come, relative to 1 + |total log-likelihood|, below which EM stops (mclust's
# relative tolerance, which mclust applies to the last step).
RTOL = 1e-5
# A change this small relative to the bound is rounding: EM has nothing left to gain.
ROUNDING = 1e-13


@dataclass(frozen=True)
class StoppingRule:
    """Whether an EM run has converged, from its lower bounds so far.

    Parameters
    ----------
    tol : float or None
        ``None``: the relative rule of the module docstring; a number: stop when the bound
        changes by less than ``tol`` (scikit-learn's rule); ``-inf``: never stop.
    n_rows : float
        The number (or weight) of rows the bounds are averaged over.
    min_rows : float
        The rows a component needs for its mixture not to be spurious (see :meth:`converged`).
    ridge : float
        With a positive value (twice ``reg_covar``, inside :func:`stopping_at_the_ridge`), a run
        stops where a covariance is held up by the ridge (see the module and
        :func:`held_by_ridge`, whose ``whitener`` and ``collapsed`` the next two are).
    whitener : ndarray of shape (n_features, r) or None
        Whitens the data on the directions in which it spreads, the only ones judged
        (``None``: every direction, no second test).
    collapsed : float
        A held-up variance must also be below this fraction of the data's in its direction.

    Examples
    --------
    >>> rule = StoppingRule(None, n_rows=100)
    >>> rule.converged(-np.inf, -2.0, -1.9)   # a first step: far from done
    False
    >>> rule.converged(-1.9, -1.5, -1.49999)  # steps shrinking fast, the last one tiny
    True
    >>> rule.converged(-1.5, -1.499998, -1.4999962)  # crawling: 2e-5 still to come
    False
    >>> StoppingRule(1e-3).converged(-1.9, -1.5, -1.4995)  # scikit-learn's tol
    True
    """

    tol: float | None = None
    n_rows: float = 1.0
    min_rows: float = 0.0
    ridge: float = 0.0
    whitener: np.ndarray | None = None
    collapsed: float = 0.0

    @classmethod
    def of_fit(cls, tol, n_rows, min_rows, reg_covar):
        """The rule of a fit whose ridge is ``reg_covar``: with a ridge stop inside
        :func:`stopping_at_the_ridge` (a selection grid) and a positive ``reg_covar``."""
        at_ridge = ridge_context()
        if at_ridge is None or not reg_covar > 0:
            return cls(tol, n_rows, min_rows)
        whitener, collapsed = at_ridge
        return cls(tol, n_rows, min_rows, 2.0 * reg_covar, whitener, collapsed)

    def held(self, factors, family="dense"):
        """:func:`held_by_ridge` of components by this rule (none when it has no ridge)."""
        if self.ridge <= 0:
            return np.zeros(len(factors), dtype=bool)
        return held_by_ridge(factors, self.ridge, family, self.whitener, self.collapsed)

    def rows_held(self, nk, s1, s2):
        """Per component of E-step moments (weight sums ``nk`` ``(C,)``; first and second
        moments about any one point, ``s1`` ``(C, D)`` and ``s2`` ``(C, D, D)``, or ``(C, D)``
        along the axes), whether its *rows'* own variance is held up by the ridge
        (:func:`held_covariances` of their sample covariances): what stops a run whose
        component's shape is its own (see the module). Only components spurious by rows (fewer
        than ``min_rows``) are judged: rows that span fewer dimensions than the data are found
        there, and judging every component would cost more than the iterations it saves."""
        held = np.zeros(len(nk), dtype=bool)
        if self.ridge <= 0:
            return held
        few = np.flatnonzero((nk < self.min_rows) & (nk > 0))
        if not few.size:
            return held
        weight = nk[few]
        mean = s1[few] / weight[:, None]
        if s2.ndim == 2:
            covariances = s2[few] / weight[:, None] - mean**2
        else:
            covariances = s2[few] / weight[:, None, None] - mean[:, :, None] * mean[:, None, :]
        held[few] = held_covariances(covariances, self.ridge, self.whitener, self.collapsed)
        return held

    def converged(self, before: float, previous: float, bound: float, weights=None) -> bool:
        """After a step from ``previous`` to ``bound`` (and before that from ``before``, or
        ``-inf`` if the run has taken one step or none); ``weights``: the mixture's weights
        after the step, if known.

        A mixture with a component of fewer than ``min_rows`` rows (weight times ``n_rows``:
        fewer than the parameters it fits on its own, plus one) is spurious: its likelihood
        grows without bound as that component narrows onto its rows, so there is no optimum
        whose distance Aitken's estimate could measure, and the last step alone decides (mclust
        gives up on such fits as singular)."""
        change = bound - previous
        if self.tol is not None:
            return bool(abs(change) < self.tol)
        if not np.isfinite(previous) or not np.isfinite(bound):
            return False
        scale = 1.0 / self.n_rows + abs(bound)
        if abs(change) <= ROUNDING * scale:
            return True
        if change < 0:  # a step down (rounding of an iterative M-step): nothing left to climb
            return bool(-change <= RTOL * scale)
        if change > RTOL * scale:
            return False
        if weights is not None and np.min(weights) * self.n_rows < self.min_rows:
            return True
        last = previous - before
        rate = change / last if np.isfinite(last) and last > 0 else 0.0
        if rate >= 1:  # the steps are growing: EM is still speeding up
            return False
        return bool(change / (1.0 - rate) <= RTOL * scale)


_RIDGE = threading.local()


@contextmanager
def stopping_at_the_ridge(whitener=None, collapsed=0.0):
    """Within it (in this thread), EM runs stop where a covariance is held up by the ridge (see
    the module and :func:`held_by_ridge`, whose ``whitener`` and ``collapsed`` these are): what
    a model-selection grid wants of its fits."""
    before = getattr(_RIDGE, "on", None)
    _RIDGE.on = (whitener, collapsed)
    try:
        yield
    finally:
        _RIDGE.on = before


def ridge_context():
    """``None`` outside :func:`stopping_at_the_ridge`, else its ``(whitener, collapsed)``."""
    return getattr(_RIDGE, "on", None)


def held_by_ridge(factors, ridge, family="dense", whitener=None, collapsed=0.0):
    """Per component, whether its covariance, given by its precision factor (``(C, D, D)``
    upper triangular with ``factor @ factor.T`` the precision, or ``(C, D)`` inverse standard
    deviations for ``'diagonal'``), is held up by the ridge: a variance below ``ridge`` in some
    direction in which the data spread, and one below ``collapsed`` times the data's own (the
    columns of ``whitener``, ``(D, r)``, whiten the data on those directions; ``None``: every
    direction, no second test).

    The smallest variance is at least ``1 / ||factor||_F^2`` (the precision's largest
    eigenvalue is at most its trace), so only components below that bound are decomposed.
    """
    factors = np.asarray(factors, dtype=np.float64)
    if family == "diagonal":
        bound = 1.0 / np.max(factors**2, axis=1)
    else:
        bound = 1.0 / np.einsum("cij,cij->c", factors, factors)
    held = np.zeros(len(factors), dtype=bool)
    near = np.flatnonzero(bound < ridge)
    if not near.size or (whitener is not None and not whitener.shape[1]):
        return held  # (data with no spread: no direction to judge)
    if family == "diagonal":
        covariances = 1.0 / factors[near] ** 2
    else:  # C = f^-T f^-1 by the triangular inverse (inverting f f^T squares its condition)
        inverse = lower_triangular_inverse(np.swapaxes(factors[near], -1, -2))
        covariances = inverse @ np.swapaxes(inverse, -1, -2)
    held[near] = held_covariances(covariances, ridge, whitener, collapsed)
    return held


def held_covariances(covariances, ridge, whitener=None, collapsed=0.0):
    """:func:`held_by_ridge` of covariances given as matrices ``(C, D, D)``, or as variances
    along the axes ``(C, D)`` (one that is not finite, a variance beyond float range, is not
    held)."""
    if covariances.ndim == 2:
        covariances = covariances[:, :, None] * np.eye(covariances.shape[1])
    held = np.zeros(len(covariances), dtype=bool)
    finite = np.all(np.isfinite(covariances), axis=(1, 2))
    if not finite.any() or (whitener is not None and not whitener.shape[1]):
        return held
    covariances = covariances[finite]
    if whitener is None:
        held[finite] = np.linalg.eigvalsh(covariances)[:, 0] < ridge
        return held
    basis = whitener / np.linalg.norm(whitener, axis=0)
    below = np.linalg.eigvalsh(basis.T @ covariances @ basis)[:, 0] < ridge
    narrow = np.linalg.eigvalsh(whitener.T @ covariances @ whitener)[:, 0] < collapsed
    held[finite] = below & narrow
    return held


def weight_total(X, sample_weight) -> float:
    """The number of rows of ``X``, or the sum of their weights (when they are in memory)."""
    if isinstance(sample_weight, np.ndarray):
        return float(np.sum(sample_weight, dtype=np.float64))
    return float(X.shape[0])


def tol_text(tol) -> str:
    """How a message names the stopping rule of ``tol``."""
    return f"the relative rule, rtol={RTOL:g}" if tol is None else f"tol={tol}"
