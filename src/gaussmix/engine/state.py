"""Named records of the state EM carries between iterations.

Every field is spelled out; nothing reads state by position. The records are frozen: a new
iteration makes a new record (``dataclasses.replace``), so a run's history can hold them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class MixtureState:
    """The parameters of a mixture of one component family, in float64.

    Attributes
    ----------
    weights : ndarray of shape (n_components,)
        The components' weights; with a noise component they sum to ``1 - noise_weight``.
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray
        In the covariance model's layout (the scale matrices of a Student-t family).
    prec_chol : ndarray
        The precision factors of ``covariances``, same layout.
    noise_weight : float
        The weight of the uniform noise component (0 without one).
    dofs : ndarray of shape (n_components,) or None
        The degrees of freedom of a Student-t family (``None`` for the Gaussian one).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    prec_chol: np.ndarray
    noise_weight: float = 0.0
    dofs: np.ndarray | None = None

    @property
    def n_components(self) -> int:
        return len(self.weights)


@dataclass(frozen=True, slots=True)
class VariationalState:
    """The variational posterior of a Bayesian Gaussian mixture (scikit-learn's names).

    ``weight_concentration`` is an array (Dirichlet distribution) or a pair of arrays
    (Dirichlet process); the rest are float64 arrays.
    """

    weight_concentration: Any
    mean_precision: np.ndarray
    means: np.ndarray
    degrees_of_freedom: np.ndarray
    covariances: np.ndarray
    prec_chol: np.ndarray

    @property
    def n_components(self) -> int:
        return len(self.means)

    @property
    def weights(self) -> None:
        """Not a point estimate: the stopping rule's spurious-component test, which reads a
        state's weights, does not apply to a posterior (its prior keeps components apart)."""
        return None


@dataclass(frozen=True, slots=True)
class KernelTerms:
    """What a stacked kernel needs of one run's state (see
    :func:`gaussmix.engine.estep.stacked_terms`)."""

    weights: np.ndarray
    means: np.ndarray
    prec_chol: np.ndarray
    covariances: np.ndarray


def state_arrays(state) -> list:
    """Every field of a state record as a flat list of arrays (tuples unpacked), in field
    order: how two starts are compared."""
    out = []
    for field in fields(state):
        value = getattr(state, field.name)
        if value is None:
            continue
        if isinstance(value, tuple):
            out.extend(np.asarray(part) for part in value)
        else:
            out.append(np.asarray(value))
    return out
