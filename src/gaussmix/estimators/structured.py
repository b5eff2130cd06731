"""Gaussian mixtures whose covariance M-step carries per-component quantities between steps.

The high-dimensional families (:mod:`.high_dimensional`, :mod:`.factor`) are constrained full
covariances: their covariance models are :class:`~gaussmix.engine.covariance.Matrices`
models, so the kernels, data paths, prediction, sampling and pictures are ``full``'s. Their
M-step also yields something the covariances alone do not keep: HDDC's intrinsic dimensions
(chosen by the scree test), a factor analyser's noise variances (where its next M-step starts).
Such a model offers ``fit(sample_covariances, nk, reg_covar, extra) -> (covariances, extra)``,
and :class:`StructuredMixture` keeps ``extra`` in its state, a
:class:`~gaussmix.engine.state.MixtureState` with one more field (:class:`StructuredState`).

The runs of a fit (and of a grid) still take their E-steps side by side
(:mod:`.batch`); their M-steps are taken one run at a time (no ``_m_step_side_by_side``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine import families
from ..engine.em import resolution_floor
from ..engine.state import MixtureState
from ..engine.validation import as_float_array, check_weights
from .gaussian import GaussianMixture


def tolerance(dtype):
    """How far given parameters may depart from an exact constraint (equal values,
    orthonormal bases), relative to their scale: the square root of ``dtype``'s machine
    epsilon (1.5e-8 for float64, 3.5e-4 for float32)."""
    return float(np.sqrt(np.finfo(dtype).eps))


def unequal(values, axis, dtype):
    """Whether ``values`` differ along ``axis`` by more than :func:`tolerance` times their
    largest magnitude."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return False
    first = np.take(values, [0], axis=axis)
    return bool(np.max(np.abs(values - first)) > tolerance(dtype) * np.max(np.abs(values)))


@dataclass(frozen=True, slots=True)
class StructuredState(MixtureState):
    """A :class:`~gaussmix.engine.state.MixtureState` with what the covariance model's M-step
    hands to the next (``extra``: HDDC's dimensions, a factor model's noise and loadings)."""

    extra: np.ndarray | None = None


class StructuredMixture(GaussianMixture):
    """:class:`GaussianMixture` whose state carries ``extra`` (see the module docstring).
    Subclasses define ``_covariance_model`` (a model with ``fit`` and
    ``mixture_parameters(K, D, extra)``), ``_store_extra`` and ``_fitted_extra``."""

    # The representation of the covariances (what validation and the selection rules see),
    # and no noise component: not parameters of these estimators.
    covariance_type = "full"
    noise = False
    # Plain EM steps only: the M-step starts from the previous state's structure (loadings,
    # subspaces), so the plain step that undoes an over-relaxed one, taken from the state it
    # undoes, is not the plain step from the state before it.
    _over_relaxed = False

    # ------------------------------------------------------------------ per family
    def _store_extra(self, extra, dtype):
        raise NotImplementedError

    def _fitted_extra(self):
        raise NotImplementedError

    # ------------------------------------------------------------------ the M-step
    def _structured_step(self, stats, dtype, extra=None):
        """The :class:`StructuredState` of the M-step from statistics; a spread below the
        data's resolution raises the collapse error."""
        model = self._covariance_model
        step = families.get("gaussian").m_step(stats, 10 * np.finfo(dtype).eps)
        covariances, extra = model.fit(step.sample, step.nk, self.reg_covar, extra)
        floor = resolution_floor(step.weights, step.means, covariances, model, dtype)
        prec_chol = model.precision_cholesky(covariances, floor)
        return StructuredState(step.weights, step.means, covariances, prec_chol,
                               extra=np.asarray(extra, dtype=np.float64))

    def _state_from_statistics(self, stats, dtype):
        return self._structured_step(stats, dtype)

    def _m_step(self, stats, state, dtype):
        """The structured M-step from the previous state's ``extra``; the lower bound is the
        mean log-likelihood of ``state`` (the parameters the E-step used)."""
        extra = state.extra if isinstance(state, StructuredState) else None
        return self._structured_step(stats, dtype, extra), stats.loglik / stats.weight

    @classmethod
    def _m_step_side_by_side(cls, groups, stats, dtype):
        return None  # each run's M-step on its own share of the stacked statistics

    def _with_extra(self, state, extra=None):
        """``state`` as a :class:`StructuredState`: with ``extra``, or (a start from the
        user's ``*_init``) the ``extra`` its covariances imply."""
        if isinstance(state, StructuredState) and extra is None:
            return state
        if extra is None:
            extra = self._covariance_model.fit(np.asarray(state.covariances, dtype=np.float64),
                                               np.asarray(state.weights, dtype=np.float64),
                                               0.0, None)[1]
        return StructuredState(state.weights, state.means, state.covariances, state.prec_chol,
                               state.noise_weight, state.dofs,
                               np.asarray(extra, dtype=np.float64))

    def _initial_state(self, X, sample_weight, random_state, chunk, init=0):
        return self._with_extra(super()._initial_state(X, sample_weight, random_state, chunk,
                                                       init))

    def _fitted_state(self):
        return self._with_extra(super()._fitted_state(), self._fitted_extra())

    def _store_state(self, state, dtype):
        state = self._with_extra(state)
        super()._store_state(state, dtype)
        self._store_extra(state.extra, dtype)

    # ------------------------------------------------------------------ from_parameters
    @staticmethod
    def _given_means(means):
        """``means`` for ``from_parameters``: 2-D, finite, of two features at least."""
        means = as_float_array(means, "means")
        if means.ndim != 2:
            raise ValueError("means must be 2-D (n_components, n_features), got shape "
                             f"{means.shape}.")
        if means.shape[1] < 2:
            raise ValueError(f"means must have 2 features at least (a subspace or factors and "
                             f"noise outside them), got {means.shape[1]}; use "
                             "GaussianMixture.from_parameters for one-dimensional data.")
        if not np.all(np.isfinite(means)):
            raise ValueError("means must be finite (no NaN or infinity).")
        return means

    @classmethod
    def _given_model(cls, weights, means, params):
        """``(model, weights, dtype)`` for ``from_parameters`` of checked ``means``: the
        estimator of ``params`` (``n_components``, if given, must be the number of means)
        with its hyperparameters checked, and ``weights`` one per component, in [0, 1] and
        summing to one. ``dtype`` is the means' (float32 stays float32)."""
        n_components = len(means)
        if params.get("n_components", n_components) != n_components:
            raise ValueError(f"n_components={params['n_components']!r} but means holds "
                             f"{n_components} components; leave n_components out.")
        model = cls(**{**params, "n_components": n_components})
        model._check_hyperparameters()
        weights = check_weights(as_float_array(weights, "weights"), n_components, "weights")
        dtype = np.float32 if means.dtype == np.float32 else np.float64
        return model, weights, dtype

    def _store_given(self, weights, means, covariances, extra, dtype):
        """Store checked parameters (``covariances`` float64, ``extra`` as the M-step hands it
        on) as a fitted state; returns the model."""
        try:
            prec_chol = self._covariance_model.precision_cholesky(covariances)
        except ValueError:
            raise ValueError("The given parameters make a covariance that is not positive "
                             "definite in floating point; give variances further from "
                             "zero.") from None
        return self._store_given_state(StructuredState(
            weights, means, covariances, prec_chol, extra=np.asarray(extra, dtype=np.float64)),
            dtype)

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
