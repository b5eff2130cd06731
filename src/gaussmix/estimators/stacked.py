"""The M-steps of Gaussian runs side by side: several estimators' runs stepped from one
stacked E-step (:func:`gaussmix.engine.em.stacked_m_step`), a mixin of
:class:`~gaussmix.estimators.gaussian.GaussianMixture` (see :mod:`.batch`)."""

from __future__ import annotations

from functools import partial

import numpy as np

from ..engine.em import stacked_m_step
from ..engine.state import MixtureState


def _run_state(part, k, shared, g):
    """Run ``g``'s :class:`MixtureState` from its batch's stacked one (a shared covariance has
    one matrix per run)."""
    own = slice(g * k, (g + 1) * k)
    one = g if shared else own
    return MixtureState(part.weights[own], part.means[own], part.covariances[one],
                        part.prec_chol[one])


class StackedSteps:
    """Mixin: ``_m_step_side_by_side`` for estimators of Gaussian components."""

    # EM under the default rule takes over-relaxed steps (gaussmix.engine.overrelaxation)
    _over_relaxed = True

    @classmethod
    def _m_step_side_by_side(cls, groups, stats, dtype):
        """The M-steps of several estimators' runs from one stacked E-step
        (:func:`gaussmix.engine.em.stacked_m_step`): ``groups`` holds ``(estimator, runs,
        components each, states)`` in stacking order (``states()`` gives the runs' states,
        whose covariances start an iterative M-step). Returns each group's ``(lower bounds,
        state_of)`` (``state_of(g)``: run ``g``'s new state) and the E-step terms of the new
        states."""
        segments = []
        for owner, n_runs, k, states in groups:
            model = owner._covariance_model
            previous = None
            if not model.stackable:
                joined = np.stack if model.shared else np.concatenate
                previous = joined([state.covariances for state in states()])
            segments.append((model, n_runs, k, owner.reg_covar, previous))
        parts, terms = stacked_m_step(stats, segments, 10 * np.finfo(dtype).eps, dtype)
        bounds = np.reshape(stats.loglik, -1) / stats.weight  # one per run
        stepped, first = [], 0
        for (model, n_runs, k, _, _), part in zip(segments, parts):
            stepped.append((bounds[first : first + n_runs], partial(_run_state, part, k,
                                                                    model.shared)))
            first += n_runs
        return stepped, terms

