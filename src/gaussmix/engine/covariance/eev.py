"""``EEV``: covariances ``lambda D_k A D_k^T`` of one volume and shape, each its own orientation
(closed form: each component's eigenvectors, the pooled eigenvalues)."""

from __future__ import annotations

import numpy as np

from .decomposition import RTOL, compose, eigh_descending, random_decomposed, scatter, shares
from .matrices import Matrices
from .mixtures import MixturesTogether


class EEV(MixturesTogether, Matrices):
    name = "EEV"
    code = "EEV"
    description = "ellipsoids of one volume and shape, each its own orientation"

    def n_parameters(self, n_components, n_features):
        return n_features + n_components * n_features * (n_features - 1) // 2

    def estimate_mixtures(self, sample_covariances, nk, reg_covar, previous, mixtures):
        values, axes = eigh_descending(scatter(sample_covariances, nk, reg_covar))
        pooled = mixtures.total(values) / mixtures.total(nk)[:, None]  # sum_k Omega_k / n
        return compose(axes, mixtures.spread(pooled))

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        return random_decomposed(rng, sizes, n_features, log_ratio, self.code)

    def check_constraint(self, covariances):
        if not shares(np.linalg.eigvalsh(np.asarray(covariances, dtype=np.float64)), RTOL):
            raise ValueError("covariance_type='EEV' needs the same eigenvalues (volume and shape) "
                             "for every component.")

    def rescaled(self, covariances, scale):
        """Unequal scales change the shapes, not the equal volumes (EVV)."""
        return "EVV", covariances * (scale[:, None] * scale[None, :])


MODEL = EEV()
