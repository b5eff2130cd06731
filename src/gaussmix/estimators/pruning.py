"""``prune="elbo"``: empty the components of a converged variational fit that its lower bound
says the data do not need (:class:`~gaussmix.BayesianGaussianMixture`).

Variational EM from one start can settle in a local optimum of its lower bound (the ELBO) with
one group split between two components, each keeping part of the weight: EM moves the rows
between the halves only as far as each step raises the bound, and emptying a half takes a
step no single iteration takes. The move that does it is the one of split-and-merge EM (Ueda
et al. 2000) and of variational model reduction: take the converged fit, give one component's
responsibilities to the others (an E-step in which that component has no weight), run EM from
there to convergence, and keep the result if its lower bound is higher.

The bounds compare: both fits are of the same model, with the same ``n_components`` (the
truncation), the same priors and the same rows; an emptied component stays in the model at its
prior, with weight ~0, as the components EM switched off itself do. The lower bound the
estimator reports is scikit-learn's, the full ELBO less terms that depend only on the priors,
``n_components`` and the rows (the priors' normalisers, ``-N D / 2 log(2 pi)``), so the
difference of two such bounds is the difference of the ELBOs.

The rule, from the fit EM converged to:

1. the *active* components are those with a responsibility sum of at least one row (a weight
   of 1: ``sample_weight`` counts as repeated rows in this estimator, in its priors too);
2. for each active component, refit with it emptied as above, with the fit's own ``max_iter``
   and stopping rule (a refit that fails, a covariance collapsing, is not kept);
3. of the refits that converged, have fewer active components than before, and whose lower
   bound is higher by more than the stopping rule calls no change (``tol``, or the relative
   rule's tolerance), keep the one with the highest lower bound (steepest ascent: on iris the
   first such refit in order of size ends at 404.0, the highest at 439.3), then go back to 1;
4. stop when no removal is kept (or one active component is left).

"Fewer active components" is what makes it a pruning: with a Dirichlet-process (stick-breaking)
prior, the bound also rises when a group moves from a late stick to an empty earlier one, a
relabelling that changes nothing a user reads off the fit; such moves are not taken. Every
kept move empties one component, so there are at most ``n_components - 1``; each costs one
refit per active component, and so does the final sweep that keeps none. Refits run in the
same EM loop as the fit (:meth:`~gaussmix.estimators.driver.BaseMixture._iterate`).

The rule only removes, greedily: an optimum that needs a component moved to a group it does
not cover stays out of its reach (iris, ten components, ``weight_concentration_prior=1e-3``:
the rule takes the fit from 381.6 to 439.3 with two groups; the best of ``n_init=8`` starts
is 464.1 with three). More starts remain the cure for that; the rule prunes the best of them.
"""

from __future__ import annotations

import logging

import numpy as np

from .em_loop import RunResult

logger = logging.getLogger("gaussmix")

#: The values of ``BayesianGaussianMixture(prune=...)``.
PRUNE_RULES = ("elbo",)


def active_components(estimator, state, min_rows):
    """Indices of the components of ``state`` with a responsibility sum of at least
    ``min_rows`` (the posterior's mean precision is the prior's plus that sum)."""
    nk = np.asarray(state.mean_precision, dtype=np.float64) - estimator.mean_precision_prior_
    return np.flatnonzero(nk >= min_rows)


def prune_by_lower_bound(estimator, plan, result):
    """The converged :class:`~gaussmix.estimators.em_loop.RunResult` ``result`` of a fit by
    ``plan`` after the module's rule; returns ``(result, removed)``, ``removed`` the indices of
    the components the rule emptied, in order. The result's ``n_iter`` and ``history`` count
    the kept refits' iterations after the fit's own."""
    X, sample_weight = plan.X, plan.sample_weight
    min_rows = 1.0  # a row's worth: weights count as repeated rows here, the priors' too
    rule = estimator._stopping_rule(X, sample_weight, estimator.tol)
    removed = []
    kept = True
    while kept:
        kept = False
        active = active_components(estimator, result.state, min_rows)
        if active.size < 2:
            break
        best = None
        for k in active:
            try:
                state, bound = estimator._removal_start(plan, result.state, int(k))
                refit = estimator._iterate(X, sample_weight, state, bound, estimator.max_iter,
                                           estimator.tol, plan.dtype, plan.chunk,
                                           plan.n_threads, plan.statistics)
            except ValueError as err:  # a covariance that collapsed (or a prior singular on
                if estimator.verbose:      # these rows): a fit that cannot be evaluated is not
                    logger.info("Removing component %d: refit failed (%s)", k, err)  # better
                continue
            if not _better(estimator, refit, result, active.size, rule, min_rows):
                continue
            if best is None or refit.lower_bound > best[1].lower_bound:
                best = (int(k), refit)
        if best is not None:
            k, refit = best
            if estimator.verbose:
                logger.info("Pruned component %d: lower bound %.8g -> %.8g", k,
                            result.lower_bound, refit.lower_bound)
            result = RunResult(refit.state, refit.lower_bound, result.n_iter + refit.n_iter,
                               True, list(result.history) + list(refit.history))
            removed.append(k)
            kept = True
    return result, removed


def _better(estimator, refit, result, n_active, rule, min_rows):
    """Whether ``refit`` replaces ``result``: converged, fewer active components, and a lower
    bound higher by more than ``rule`` calls no change."""
    if refit is None or not refit.converged or not refit.lower_bound > result.lower_bound:
        return False
    if active_components(estimator, refit.state, min_rows).size >= n_active:
        return False
    return not rule.converged(-np.inf, result.lower_bound, refit.lower_bound)
