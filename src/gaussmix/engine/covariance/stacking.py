"""What a batch of EM runs side by side needs of a covariance model, beyond its M-step:
several mixtures' covariances stacked component after component (see
:mod:`gaussmix.estimators.batch` and :func:`gaussmix.engine.em.stacked_m_step`).

These are functions of the model's *representation* (``functools.singledispatch`` on
:class:`~.matrices.Matrices`, :class:`~.matrices.Shared`, :class:`~.diagonals.Diagonals`,
:class:`~.diagonals.Variances`), kept out of :class:`~.base.CovarianceModel` so that a
model's interface is what one mixture needs. ``n_groups`` mixtures of ``n_components`` each
are stacked component after component; a shared model's covariances hold one matrix per
mixture.
"""

from __future__ import annotations

from functools import singledispatch

import numpy as np

from .base import CovarianceModel
from .diagonals import Diagonals, Variances
from .matrices import Matrices, Shared
from .mixtures import MixturesTogether, StackedMixtures


def estimate_groups(model, sample_covariances, nk, reg_covar, previous, sizes):
    """``model.estimate`` of mixtures of ``sizes`` components each, stacked component after
    component (their own sample covariances, or pooled ones for a shared model; ``previous``:
    their covariances before the step, stacked, or ``None``): at once for a ``stackable``
    model or one whose M-step takes stacked mixtures (``estimate_mixtures``, see
    :class:`~.mixtures.MixturesTogether`), else one mixture after the other."""
    if model.stackable:
        return model.estimate(sample_covariances, nk, reg_covar, previous)
    mixtures = StackedMixtures.of(sizes)
    if isinstance(model, MixturesTogether):
        return model.estimate_mixtures(sample_covariances, nk, reg_covar, previous, mixtures)
    parts = []
    for g, (first, k) in enumerate(zip(mixtures.starts, mixtures.sizes)):
        own = slice(first, first + k)
        mine = g if model.shared else own  # a shared model: one matrix per mixture
        parts.append(model.estimate(sample_covariances[mine], nk[own], reg_covar,
                                    None if previous is None else previous[mine]))
    return np.stack(parts) if model.shared else np.concatenate(parts)


def estimate_segments(segments, samples, nk):
    """The covariances of each segment ``(model, n_groups, n_components, reg_covar,
    previous)`` of a batch (:func:`gaussmix.engine.em.stacked_m_step`) from its sample
    covariances ``samples`` (and the batch's weight sums ``nk``, segment after segment): the
    segments under one model (and with one ridge) in one :func:`estimate_groups`, so that a
    model-selection grid's M-step costs one call per model, whatever the numbers of components
    and of runs."""
    counts = [n_groups * k for _, n_groups, k, _, _ in segments]
    firsts = np.cumsum(counts) - counts
    together = {}
    for i, (model, _, _, reg_covar, previous) in enumerate(segments):
        together.setdefault((model.name, reg_covar, previous is None), []).append(i)
    out = [None] * len(segments)
    for (_, reg_covar, fresh), members in together.items():
        model = segments[members[0]][0]
        sizes = np.concatenate([[segments[i][2]] * segments[i][1] for i in members])
        weights = np.concatenate([nk[firsts[i]:firsts[i] + counts[i]] for i in members])
        previous = None if fresh else np.concatenate([segments[i][4] for i in members])
        covariances = estimate_groups(model, np.concatenate([samples[i] for i in members]),
                                      weights, reg_covar, previous, sizes)
        # a shared model holds one matrix per mixture
        held = [segments[i][1] if model.shared else counts[i] for i in members]
        for i, part in zip(members, np.split(covariances, np.cumsum(held)[:-1])):
            out[i] = part
    return out


@singledispatch
def stacked_dense(model: CovarianceModel, covariances, n_groups, n_components, n_features):
    """Every stacked component's covariance, ``(n_groups * K, D, D)``."""
    return model.dense(covariances, n_groups * n_components, n_features)


@stacked_dense.register
def _(model: Shared, covariances, n_groups, n_components, n_features):
    return np.repeat(np.asarray(covariances, dtype=np.float64), n_components, axis=0)


@singledispatch
def stacked_variances(model: CovarianceModel, covariances, n_groups, n_components, n_features):
    """Every stacked component's variance per feature, ``(n_groups * K, D)``."""
    return model.variances(covariances, n_groups * n_components, n_features)


@stacked_variances.register
def _(model: Shared, covariances, n_groups, n_components, n_features):
    return np.repeat(np.diagonal(covariances, axis1=1, axis2=2), n_components, axis=0)


@singledispatch
def precision_cholesky_from_kernel(model: CovarianceModel, factor, n_groups):
    """The stacked mixtures' precision factors in ``model``'s layout, from those of a stacked
    kernel (:func:`gaussmix.engine.estep.stacked_kernel`): one ``(D, D)`` upper triangular
    factor per component (dense), or one ``(D,)`` per component (diagonal)."""
    raise NotImplementedError(f"no stacked factors for {type(model).__name__}")


@precision_cholesky_from_kernel.register
def _(model: Matrices, factor, n_groups):
    return factor


@precision_cholesky_from_kernel.register
def _(model: Shared, factor, n_groups):
    return factor[:: len(factor) // n_groups]  # each mixture's components share it


@precision_cholesky_from_kernel.register
def _(model: Diagonals, factor, n_groups):
    return factor if factor.ndim == 2 else np.diagonal(factor, axis1=1, axis2=2).copy()


@precision_cholesky_from_kernel.register
def _(model: Variances, factor, n_groups):
    return (factor[:, 0] if factor.ndim == 2 else factor[:, 0, 0]).copy()
