"""Speaker models: the universal background model and MAP-adapted speakers (steps 2 and 3 of
:mod:`gaussmix.apps.speaker`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...estimators import GaussianMixture
from ...estimators.adapt import map_adapt

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from ..._typing import ArrayLike, RandomState

    # One utterance's frames, or a list of utterances' frames.
    Features = ArrayLike | Sequence[ArrayLike]

__all__ = ["enroll", "train_ubm"]


def _stack(features, what="features"):
    """One ``(n_frames, n_features)`` float array from an array or a list of utterances."""
    if isinstance(features, np.ndarray) and features.ndim == 2:
        parts = [features]
    elif isinstance(features, (list, tuple)) and features:
        parts = [np.asarray(f) for f in features]
    else:
        parts = [np.asarray(features)]
    if any(p.ndim != 2 for p in parts) or len({p.shape[1] for p in parts}) != 1:
        raise ValueError(
            f"{what} must be a 2-D array (n_frames, n_features) or a non-empty list of them "
            "with the same number of columns."
        )
    return np.vstack(parts).astype(np.float64, copy=False)


def train_ubm(features: Features, n_components: int = 64, *, covariance_type: str = "diag",
              reg_covar: float = 1e-3, max_iter: int = 200, random_state: RandomState = None,
              **params: Any) -> GaussianMixture:
    """Fit the universal background model: a :class:`~gaussmix.GaussianMixture` on the frames
    of many speakers (one array, or a list of utterances' arrays).

    Diagonal covariances are the norm: MFCCs are nearly decorrelated, and a diagonal component
    costs ``O(D)`` per frame instead of ``O(D^2)``. ``params`` go to the estimator.
    """
    X = _stack(features)
    model = GaussianMixture(n_components, covariance_type=covariance_type, reg_covar=reg_covar,
                            max_iter=max_iter, random_state=random_state, **params)
    return model.fit(X)


def enroll(ubm: GaussianMixture, features: Features, *, relevance_factor: float = 16.0,
           adapt: str | Sequence[str] = ("means",)) -> GaussianMixture:
    """A speaker model: the UBM MAP-adapted (:func:`gaussmix.map_adapt`) to their frames."""
    return map_adapt(ubm, _stack(features), relevance_factor=relevance_factor, adapt=adapt)
