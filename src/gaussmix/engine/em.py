"""The two halves of an EM iteration that every estimator shares.

* :func:`e_step`: the statistics of a kernel over all rows, by whichever data path computes them,
  redone once with moments around their own means for components whose moments around the
  common shift cancelled (rare: one more pass in such iterations).
* :func:`gaussian_moments` and :func:`m_step`: weight sums (or weights), means and covariances
  from summed statistics, through the covariance model's own
  :meth:`~gaussmix.engine.covariance.CovarianceModel.estimate`.
* :func:`resolution_floor`: the spread below which a fitted covariance is rounding noise, so that
  a collapse raises the ``reg_covar`` advice instead of returning a singular fit.
* :func:`stacked_m_step`: the M-steps of a batch of mixtures (EM runs side by side) under
  several covariance models from one stacked E-step's statistics, every covariance factorised
  in one call, and the E-step terms (:class:`~gaussmix.engine.estep.StackedTerms`) of the
  next stacked kernel.
"""

from __future__ import annotations

import numpy as np

from .covariance import stacking
from .covariance.base import lower_triangular_inverse
from .estep import StackedTerms, em_statistics
from .families.protocol import moment_step
from .state import MixtureState
from .stats import cancelled_components, components_of, sample_covariances


def e_step(make_kernel, X, sample_weight, dtype, chunk_size, n_threads=1, statistics=None):
    """Summed E-step statistics of the kernel ``make_kernel(far)`` over the rows of ``X``.

    ``statistics`` computes them (default :func:`~gaussmix.engine.estep.em_statistics`; the Dask
    data path passes its own). ``make_kernel(far)`` builds the kernel with components ``far``
    forced to moments around their own means: when some component's moments around the common
    shift lost more than half of ``dtype``'s digits (it shrank a lot in one step), the pass is
    redone with it among them.
    """
    statistics = statistics or em_statistics
    kernel = make_kernel(())
    stats = statistics(X, sample_weight, kernel, chunk_size, n_threads)
    cancelled = cancelled_components(stats, dtype)
    redo = np.setdiff1d(cancelled, kernel.far) if cancelled.size else cancelled
    if redo.size:
        kernel = make_kernel(np.union1d(kernel.far, redo))
        stats = statistics(X, sample_weight, kernel, chunk_size, n_threads)
    return stats


def gaussian_moments(stats, model, reg_covar, nk_eps, previous=None):
    """``(nk, means, covariances)`` (float64) from summed statistics under ``model``: the weight
    sums plus ``nk_eps``, the weighted means, and the model's covariance estimate.

    ``nk_eps`` is added to every component's weight sum, as scikit-learn does, so that an empty
    component gives a finite mean instead of 0/0. ``previous`` (the covariances before the step)
    is handed to the model's ``estimate``. (A batch of EM runs steps in
    :func:`stacked_m_step`.)
    """
    nk, _, means, sample = moment_step(stats, nk_eps)
    covariances = model.estimate(sample, nk, reg_covar, previous)
    return nk, means, covariances


def m_step(stats, model, reg_covar, nk_eps, previous=None):
    """Weights, means and covariances (float64) of EM's M-step (see :func:`gaussian_moments`)."""
    nk, weights, means, sample = moment_step(stats, nk_eps)
    return weights, means, model.estimate(sample, nk, reg_covar, previous)


def resolution_floor(weights, means, covariances, model, dtype):
    """Per component, the variance below which a fitted spread is rounding noise, not data.

    ``(10 eps scale)^2``, with ``scale`` the larger of the component's largest ``|mean|`` and the
    whole mixture's largest standard deviation: a spread of under ten units in the last place of
    the values it describes (copies of one point, collapsed onto by a component with
    ``reg_covar=0``). ``eps`` is the data dtype's. One value for a shared covariance. (The
    floors of a batch of EM runs: :func:`stacked_m_step`.)
    """
    k_all, d = means.shape
    floor = _stacked_floor(weights, means, model.variances(covariances, k_all, d),
                           np.array([k_all]), np.array([0]), np.array([model.shared]), dtype)
    return floor.max() if model.shared else floor


def stacked_m_step(stats, segments, nk_eps, dtype):
    """The M-steps of mixtures stacked component after component, from their stacked
    statistics (one E-step of a stacked kernel, ``'dense'`` or ``'diagonal'``).

    ``segments`` are ``(model, n_groups, n_components, reg_covar, previous)`` in stacking
    order: ``n_groups`` mixtures of ``n_components`` each under the covariance model
    ``model``, whose covariances before the step are ``previous`` (stacked; ``None`` for a
    ``stackable`` model, which does not need them). Each segment's covariances are its model's
    own M-step (:func:`~gaussmix.engine.covariance.stacking.estimate_segments`: one call
    per model, as :func:`m_step` takes it); the factors of all of them come from one batched
    factorisation in the statistics' layout, so that on small data a batch's M-step costs
    about what one run's does.

    Returns ``(parts, terms)``: per segment a :class:`~gaussmix.engine.state.MixtureState` in
    its model's layout (its mixtures stacked; a shared covariance one matrix per mixture), and the
    :class:`~gaussmix.engine.estep.StackedTerms` of every component. Raises ``ValueError``
    when a covariance is not finite, not positive definite, or has a spread below its
    :func:`resolution_floor` (stepping the segments one at a time then tells which, in the
    model's own words).
    """
    layout = stats.family
    nk = stats.nk + nk_eps
    mc = stats.s1 / nk[:, None]
    means = mc + stats.shift
    d = means.shape[1]
    sizes = np.repeat([segment[2] for segment in segments], [segment[1] for segment in segments])
    starts = np.cumsum(sizes) - sizes  # each mixture's first component
    weights = nk / np.repeat(np.add.reduceat(nk, starts), sizes)
    samples, shared = [], []
    own_sample = None  # every component's own sample covariance, in the statistics' layout
    first, group = 0, 0
    for model, n_groups, k, _, _ in segments:
        own = slice(first, first + n_groups * k)
        if model.shared:  # each mixture's pooled one
            part = components_of(stats, slice(group, group + n_groups), own, model.family)
            sample = sample_covariances(part, nk[own], mc[own], n_groups)
        else:
            if own_sample is None:
                own_sample = sample_covariances(stats, nk, mc)
            sample = own_sample[own]
            if model.family != layout:  # diagonal moments from dense ones
                sample = np.diagonal(sample, axis1=1, axis2=2).copy()
        samples.append(sample)
        shared += [model.shared] * n_groups
        first, group = own.stop, group + n_groups
    covariances = stacking.estimate_segments(segments, samples, nk)
    as_layout = stacking.stacked_dense if layout == "dense" else stacking.stacked_variances
    stacked = np.concatenate([as_layout(model, cov, n_groups, k, d) for (
        model, n_groups, k, _, _), cov in zip(segments, covariances)])
    if not np.all(np.isfinite(stacked)):
        raise ValueError("A covariance of the batch is not finite.")
    variances = np.diagonal(stacked, axis1=1, axis2=2) if layout == "dense" else stacked
    floor = _stacked_floor(weights, means, variances, sizes, starts, np.array(shared), dtype)
    factor, log_det = _stacked_factors(stacked, floor, layout)
    parts, first = [], 0
    for (model, n_groups, k, _, _), cov in zip(segments, covariances):
        own = slice(first, first + n_groups * k)
        prec_chol = stacking.precision_cholesky_from_kernel(model, factor[own], n_groups)
        parts.append(MixtureState(weights[own], means[own], cov, prec_chol))
        first = own.stop
    terms = StackedTerms(layout, weights, means, factor, log_det, variances, tuple(sizes))
    return parts, terms


def _stacked_floor(weights, means, variances, sizes, starts, shared, dtype):
    """:func:`resolution_floor` of every stacked mixture (of ``sizes`` components, the first
    at ``starts``; ``shared``: whether each has one covariance, whose floor is then the largest
    of its components'), one value per component."""
    mixture_mean = np.repeat(np.add.reduceat(weights[:, None] * means, starts), sizes, axis=0)
    total = np.add.reduceat(weights[:, None] * (variances + (means - mixture_mean) ** 2), starts)
    scale = np.maximum(np.abs(means).max(axis=1), np.repeat(np.sqrt(total.max(axis=1)), sizes))
    floor = (10.0 * np.finfo(dtype).eps * scale) ** 2
    if shared.any():
        largest = np.repeat(np.maximum.reduceat(floor, starts), sizes)
        floor = np.where(np.repeat(shared, sizes), largest, floor)
    return floor


def _stacked_factors(stacked, floor, layout):
    """Upper triangular precision factors of stacked covariances (``(C, D, D)`` dense, or
    ``(C, D)`` variances) and ``sum(log(diag L))``; ``ValueError`` when one is not positive
    definite or its spread is at or under its ``floor``."""
    if layout == "dense":
        try:
            chol = np.linalg.cholesky(stacked)
        except np.linalg.LinAlgError:
            raise ValueError("A covariance of the batch is not positive definite.") from None
        spread = np.diagonal(chol, axis1=1, axis2=2) ** 2
        if not np.all(spread > floor[:, None]):
            raise ValueError("A covariance of the batch has collapsed.")
        factor = np.ascontiguousarray(np.swapaxes(lower_triangular_inverse(chol), -1, -2))
        return factor, np.sum(np.log(np.diagonal(factor, axis1=1, axis2=2)), axis=1)
    if not np.all(stacked > floor[:, None]):
        raise ValueError("A variance of the batch is not positive or has collapsed.")
    factor = 1.0 / np.sqrt(stacked)
    return factor, np.sum(np.log(factor), axis=1)
