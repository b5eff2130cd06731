"""``EEI``: one diagonal covariance shared by every component (equal volume and shape, axes
along the features)."""

from __future__ import annotations

import numpy as np

from .decomposition import RTOL, random_decomposed, shares
from .diagonals import Diagonals
from .mixtures import MixturesTogether


class EEI(MixturesTogether, Diagonals):
    name = "EEI"
    code = "EEI"
    description = "every component the same axis-aligned ellipsoid"

    def n_parameters(self, n_components, n_features):
        return n_features

    def estimate_mixtures(self, sample_covariances, nk, reg_covar, previous, mixtures):
        # Sigma = diag(sum_k W_k) / n
        pooled = mixtures.total(nk[:, None] * (sample_covariances + reg_covar))
        return mixtures.spread(pooled / mixtures.total(nk)[:, None])

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        dense = random_decomposed(rng, sizes, n_features, log_ratio, self.code)
        return np.diagonal(dense, axis1=1, axis2=2).copy()

    def check_constraint(self, covariances):
        if not shares(covariances, RTOL):
            raise ValueError("covariance_type='EEI' needs the same variances for every component.")


MODEL = EEI()
