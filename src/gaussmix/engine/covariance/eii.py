"""``EII``: one spherical covariance ``lambda I`` shared by every component (equal volume)."""

from __future__ import annotations

import numpy as np

from .decomposition import RTOL, shares
from .diagonals import Variances


class EII(Variances):
    name = "EII"
    code = "EII"
    description = "every component the same sphere (equal volume, spherical)"

    def n_parameters(self, n_components, n_features):
        return 1

    def estimate(self, sample_covariances, nk, reg_covar, previous=None):
        # lambda = tr(sum_k W_k) / (n d)
        pooled = nk @ (sample_covariances + reg_covar).mean(axis=1) / nk.sum()
        return np.full(len(nk), pooled)

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        return np.full(len(sizes), np.mean(sizes) ** 2)

    def check_constraint(self, covariances):
        if not shares(covariances, RTOL):
            raise ValueError("covariance_type='EII' needs the same variance for every component.")

    def rescaled(self, covariances, scale):
        """Unequal scales turn the common sphere into a common axis-aligned ellipsoid (EEI)."""
        if np.allclose(scale, scale[0], rtol=1e-12, atol=0):
            return self.name, covariances * scale[0] ** 2
        return "EEI", covariances[:, None] * scale**2


MODEL = EII()
