"""``full`` (mclust's VVV): each component has its own general covariance matrix."""

from __future__ import annotations

import numpy as np

from .base import random_rotation
from .matrices import Matrices


class Full(Matrices):
    name = "full"
    code = "VVV"
    conjugate = True
    stackable = True
    description = "each component has its own general covariance matrix"

    def n_parameters(self, n_components, n_features):
        return n_components * (n_features * (n_features + 1) // 2)

    def estimate(self, sample_covariances, nk, reg_covar, previous=None):
        n_features = sample_covariances.shape[1]
        sample_covariances.reshape(len(nk), -1)[:, :: n_features + 1] += reg_covar
        return sample_covariances

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        out = np.empty((len(sizes), n_features, n_features))
        for k, size in enumerate(sizes):
            q = random_rotation(rng, n_features)
            stds = size * np.exp(rng.uniform(0, log_ratio, n_features))
            out[k] = (q * stds**2) @ q.T
        return out


FULL = Full()
