"""Gaussian mixtures whose covariance M-step carries per-component quantities between steps.

The high-dimensional families (:mod:`.high_dimensional`, :mod:`.factor`) are constrained full
covariances: their covariance models are :class:`~gaussmix.engine.covariance.Matrices`
models, so the kernels, data paths, prediction, sampling and pictures are ``full``'s. Their
M-step also yields something the covariances alone do not keep: HDDC's intrinsic dimensions
(chosen by the scree test), a factor analyser's noise variances (where its next M-step starts).
Such a model offers ``fit(sample_covariances, nk, reg_covar, extra) -> (covariances, extra)``,
and :class:`StructuredMixture` keeps ``extra`` as a fifth part of the state
``(weights, means, covariances, precision factors, extra)``.

The runs of a fit (and of a grid) still take their E-steps side by side
(:mod:`.batch`); their M-steps are taken one run at a time (no ``_m_step_side_by_side``).
"""

from __future__ import annotations

import numpy as np

from ..engine.em import resolution_floor
from ..engine.stats import sample_covariances
from .gaussian import GaussianMixture


class StructuredMixture(GaussianMixture):
    """:class:`GaussianMixture` with a fifth part of the state, ``extra`` (see the module
    docstring). Subclasses define ``_covariance_model`` (a model with ``fit`` and
    ``mixture_parameters(K, D, extra)``), ``_store_extra`` and ``_fitted_extra``."""

    # The representation of the covariances (what validation and the selection rules see).
    covariance_type = "full"

    # ------------------------------------------------------------------ per family
    def _store_extra(self, extra, dtype):
        raise NotImplementedError

    def _fitted_extra(self):
        raise NotImplementedError

    # ------------------------------------------------------------------ the M-step
    def _structured_step(self, stats, dtype, extra=None):
        """``(weights, means, covariances, precision factors, extra)`` from statistics; a
        spread below the data's resolution raises the collapse error."""
        model = self._covariance_model
        nk = stats.nk + 10 * np.finfo(dtype).eps
        mc = stats.s1 / nk[:, None]
        means = mc + stats.shift
        covariances, extra = model.fit(sample_covariances(stats, nk, mc), nk, self.reg_covar,
                                       extra)
        weights = nk / nk.sum()
        floor = resolution_floor(weights, means, covariances, model, dtype)
        prec_chol = model.precision_cholesky(covariances, floor)
        return weights, means, covariances, prec_chol, np.asarray(extra, dtype=np.float64)

    def _state_from_statistics(self, stats, dtype):
        return self._structured_step(stats, dtype)

    def _m_step(self, stats, state, dtype):
        """The structured M-step from the previous state's ``extra``; the lower bound is the
        mean log-likelihood of ``state`` (the parameters the E-step used)."""
        return self._structured_step(stats, dtype, state[4]), stats.loglik / stats.weight

    @classmethod
    def _m_step_side_by_side(cls, groups, stats, dtype):
        return None  # each run's M-step on its own share of the stacked statistics

    def _with_extra(self, state):
        """A four-part state (a start from the user's ``*_init``, given parameters) with the
        ``extra`` its covariances imply."""
        if len(state) == 5:
            return state
        weights, _, covariances, _ = state
        extra = self._covariance_model.fit(np.asarray(covariances, dtype=np.float64),
                                           np.asarray(weights, dtype=np.float64), 0.0, None)[1]
        return (*state, np.asarray(extra, dtype=np.float64))

    def _initial_state(self, X, sample_weight, random_state, chunk, init=0):
        return self._with_extra(super()._initial_state(X, sample_weight, random_state, chunk,
                                                       init))

    # ------------------------------------------------------------------ the four-part hooks
    def _kernel(self, state, dtype, far=(), fitting=False):
        return super()._kernel(state[:4], dtype, far, fitting)

    def _kernel_terms(self, state):
        return super()._kernel_terms(state[:4])

    def _running_statistics(self, state):
        return super()._running_statistics(state[:4])

    def _fitted_state(self):
        return (*super()._fitted_state(), np.asarray(self._fitted_extra(), dtype=np.float64))

    def _store_state(self, state, dtype):
        state = self._with_extra(state)
        super()._store_state(state[:4], dtype)
        self._store_extra(state[4], dtype)

    # ------------------------------------------------------------------ criteria
    def _n_parameters(self):
        """Free parameters of the fitted mixture (with its fitted dimensions, where the data
        chose them)."""
        k, d = self.means_.shape
        return round(self._covariance_model.mixture_parameters(k, d, self._fitted_extra()))

    def _own_parameters(self):
        """Parameters a fitted component fits from its own rows alone (its mean and the
        covariance parameters it shares with no other; the spurious-fit rule)."""
        return self._covariance_model.own_parameters(self.means_.shape[1], self._fitted_extra())
