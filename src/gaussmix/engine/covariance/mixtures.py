"""Mixtures stacked component after component, each with its own number of components.

A batch of EM runs (:mod:`gaussmix.estimators.batch`) holds the components of many mixtures in
one array: those of a model-selection grid have different numbers of components. The M-steps
of the models whose components are coupled (a common volume, shape or orientation) reduce over
each mixture's components and spread the result back; :class:`StackedMixtures` does both, so
that one call of a model's M-step serves every mixture of the batch under that model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True, eq=False)
class StackedMixtures:
    """The layout of mixtures stacked along the first axis: ``sizes[m]`` components each.

    Examples
    --------
    >>> mixtures = StackedMixtures.of([2, 3])
    >>> mixtures.total(np.arange(5.0))
    array([1., 9.])
    >>> mixtures.spread(np.array([10.0, 20.0]))
    array([10., 10., 20., 20., 20.])
    """

    sizes: np.ndarray

    @classmethod
    def of(cls, sizes) -> StackedMixtures:
        """The layout of mixtures of ``sizes`` components (one int: a single mixture)."""
        return cls(np.atleast_1d(np.asarray(sizes, dtype=np.intp)))

    @cached_property
    def starts(self) -> np.ndarray:
        """Each mixture's first component."""
        return np.cumsum(self.sizes) - self.sizes

    @cached_property
    def position(self) -> np.ndarray:
        """Each component's index within its mixture."""
        return np.arange(int(self.sizes.sum())) - self.spread(self.starts)

    def total(self, values: np.ndarray) -> np.ndarray:
        """Sums of ``values`` (components along the first axis) over each mixture's components."""
        return np.add.reduceat(values, self.starts, axis=0)

    def largest(self, values: np.ndarray) -> np.ndarray:
        """Maxima of ``values`` (components along the first axis) over each mixture's."""
        return np.maximum.reduceat(values, self.starts, axis=0)

    def spread(self, per_mixture: np.ndarray) -> np.ndarray:
        """``per_mixture`` values (mixtures along the first axis), one per component."""
        return np.repeat(per_mixture, self.sizes, axis=0)

    def keep(self, going: np.ndarray, new: np.ndarray, old: np.ndarray) -> np.ndarray:
        """``new`` for the components of the mixtures still ``going``, ``old`` for the others
        (components along the first axis): an inner iteration that stops per mixture."""
        mask = self.spread(going).reshape((-1,) + (1,) * (new.ndim - 1))
        return np.where(mask, new, old)


def moved(new: np.ndarray, old: np.ndarray, mixtures: StackedMixtures) -> np.ndarray:
    """Per mixture, the largest change from ``old`` to ``new`` (positive values, components
    along the first axis) relative to each value: what an inner iteration's stop compares with
    its tolerance."""
    change = np.abs(new - old) / old
    return mixtures.largest(change.reshape(len(change), -1).max(axis=1))


class MixturesTogether:
    """Mixin of a covariance model whose M-step is written for stacked mixtures,
    ``estimate_mixtures(sample_covariances, nk, reg_covar, previous, mixtures)`` (components
    along the first axis, ``mixtures`` a :class:`StackedMixtures`): its ``estimate`` is that
    of one mixture, and a batch of EM runs calls it once for all its mixtures under the model
    (:func:`~gaussmix.engine.covariance.stacking.estimate_groups`)."""

    def estimate(self, sample_covariances, nk, reg_covar, previous=None):
        return self.estimate_mixtures(sample_covariances, nk, reg_covar, previous,
                                      StackedMixtures.of(len(nk)))
