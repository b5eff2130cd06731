"""``diag`` (mclust's VVI): each component has its own diagonal covariance matrix."""

from __future__ import annotations

import numpy as np

from .diagonals import Diagonals


class Diag(Diagonals):
    name = "diag"
    code = "VVI"
    conjugate = True
    stackable = True
    description = "each component has its own diagonal covariance matrix"

    def n_parameters(self, n_components, n_features):
        return n_components * n_features

    def estimate(self, sample_covariances, nk, reg_covar, previous=None):
        return sample_covariances + reg_covar

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        stds = sizes[:, None] * np.exp(rng.uniform(0, log_ratio, (len(sizes), n_features)))
        return stds**2


DIAG = Diag()
