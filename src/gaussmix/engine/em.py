"""The two halves of an EM iteration that every estimator shares.

* :func:`e_step`: the statistics of a kernel over all rows, by whichever data path computes them,
  redone once with moments around their own means for components whose moments around the
  common shift cancelled (rare: one more pass in such iterations).
* :func:`gaussian_moments` and :func:`m_step`: weight sums (or weights), means and covariances
  from summed statistics, through the covariance model's own
  :meth:`~gaussmix.engine.covariance.CovarianceModel.estimate`.
* :func:`resolution_floor`: the spread below which a fitted covariance is rounding noise, so that
  a collapse raises the ``reg_covar`` advice instead of returning a singular fit.
"""

from __future__ import annotations

import numpy as np

from .estep import em_statistics
from .stats import cancelled_components, sample_covariances


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


def gaussian_moments(stats, model, reg_covar, nk_eps, previous=None, n_groups=None):
    """``(nk, means, covariances)`` (float64) from summed statistics under ``model``: the weight
    sums plus ``nk_eps``, the weighted means, and the model's covariance estimate.

    ``nk_eps`` is added to every component's weight sum, as scikit-learn does, so that an empty
    component gives a finite mean instead of 0/0. ``previous`` (the covariances before the step)
    is handed to the model's ``estimate``. ``n_groups``: the stacked statistics of that many
    mixtures (a batch of EM runs) under a ``stackable`` model; a shared covariance then comes
    from dense moments, as one matrix per mixture, ``(n_groups, D, D)``.
    """
    nk = stats.nk + nk_eps
    mc = stats.s1 / nk[:, None]
    means = mc + stats.shift
    pooled = n_groups if model.shared and n_groups is not None else None
    sample = sample_covariances(stats, nk, mc, pooled)
    covariances = model.estimate(sample, nk, reg_covar, previous)
    return nk, means, covariances


def m_step(stats, model, reg_covar, nk_eps, previous=None, n_groups=None):
    """Weights, means and covariances (float64) of EM's M-step (see :func:`gaussian_moments`;
    with ``n_groups``, each stacked mixture's weights sum to one)."""
    nk, means, covariances = gaussian_moments(stats, model, reg_covar, nk_eps, previous, n_groups)
    if n_groups is None:
        return nk / nk.sum(), means, covariances
    per_group = nk.reshape(n_groups, -1)
    return (per_group / per_group.sum(axis=1, keepdims=True)).reshape(-1), means, covariances


def resolution_floor(weights, means, covariances, model, dtype, n_groups=None):
    """Per component, the variance below which a fitted spread is rounding noise, not data.

    ``(10 eps scale)^2``, with ``scale`` the larger of the component's largest ``|mean|`` and the
    whole mixture's largest standard deviation: a spread of under ten units in the last place of
    the values it describes (copies of one point, collapsed onto by a component with
    ``reg_covar=0``). ``eps`` is the data dtype's. One value for a shared covariance.
    ``n_groups`` mixtures may be stacked, component after component, each of weights summing
    to one (a batch of EM runs; a shared covariance then has one matrix, ``(n_groups, D, D)``,
    and one floor per mixture).
    """
    k_all, d = means.shape
    stacked = n_groups is not None
    n_groups = n_groups or 1
    if model.shared and stacked:  # one matrix per mixture
        variances = np.diagonal(covariances, axis1=1, axis2=2)[:, None]
    else:
        variances = model.variances(covariances, k_all, d).reshape(n_groups, -1, d)
    weights, means = weights.reshape(n_groups, 1, -1), means.reshape(n_groups, -1, d)
    mixture_mean = weights @ means  # (groups, 1, D)
    total = (weights @ (variances + (means - mixture_mean) ** 2))[:, 0]
    scale = np.maximum(np.abs(means).max(axis=2), np.sqrt(total.max(axis=1))[:, None])
    floor = (10.0 * np.finfo(dtype).eps * scale) ** 2
    if model.shared:
        return floor.max(axis=1) if stacked else floor.max()
    return floor.reshape(-1)
