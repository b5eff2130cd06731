"""``EVI``: axis-aligned covariances ``lambda B_k`` of one volume, each its own shape."""

from __future__ import annotations

import numpy as np

from .decomposition import RTOL, det_root, equal_volume_shapes, random_decomposed, scatter, shares
from .diagonals import Diagonals
from .mixtures import MixturesTogether


class EVI(MixturesTogether, Diagonals):
    name = "EVI"
    code = "EVI"
    description = "axis-aligned ellipsoids of one volume, each its own shape"

    def n_parameters(self, n_components, n_features):
        return 1 + n_components * (n_features - 1)

    def estimate_mixtures(self, sample_covariances, nk, reg_covar, previous, mixtures):
        return equal_volume_shapes(scatter(sample_covariances, nk, reg_covar), nk, mixtures)

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        dense = random_decomposed(rng, sizes, n_features, log_ratio, self.code)
        return np.diagonal(dense, axis1=1, axis2=2).copy()

    def check_constraint(self, covariances):
        if not shares(det_root(np.asarray(covariances, dtype=np.float64)), RTOL):
            raise ValueError("covariance_type='EVI' needs one volume (equal products of the "
                             "variances) for every component.")


MODEL = EVI()
