"""``EII``: one spherical covariance ``lambda I`` shared by every component (equal volume)."""

from __future__ import annotations

import numpy as np

from .decomposition import RTOL, shares
from .diagonals import Variances
from .mixtures import MixturesTogether


class EII(MixturesTogether, Variances):
    name = "EII"
    code = "EII"
    description = "every component the same sphere (equal volume, spherical)"

    def n_parameters(self, n_components, n_features):
        return 1

    def estimate_mixtures(self, sample_covariances, nk, reg_covar, previous, mixtures):
        # lambda = tr(sum_k W_k) / (n d)
        traces = mixtures.total(nk * (sample_covariances + reg_covar).mean(axis=1))
        return mixtures.spread(traces / mixtures.total(nk))

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
