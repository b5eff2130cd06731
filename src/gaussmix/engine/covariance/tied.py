"""``tied`` (mclust's EEE): all components share one general covariance matrix."""

from __future__ import annotations

import numpy as np

from .base import random_rotation
from .matrices import Shared


class Tied(Shared):
    name = "tied"
    code = "EEE"
    conjugate = True
    stackable = True
    description = "all components share one general covariance matrix"

    def n_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2

    def estimate(self, sample_covariances, nk, reg_covar, previous=None):
        diagonal = np.arange(sample_covariances.shape[-1])  # of each matrix of a stack
        sample_covariances[..., diagonal, diagonal] += reg_covar
        return sample_covariances

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        q = random_rotation(rng, n_features)
        stds = np.exp(rng.uniform(0, log_ratio, n_features))
        return (q * stds**2) @ q.T


TIED = Tied()
