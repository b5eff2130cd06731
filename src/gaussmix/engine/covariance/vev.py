"""``VEV``: covariances ``lambda_k D_k A D_k^T`` of one shape, each its own volume and
orientation (iterative M-step on the volumes and the shape)."""

from __future__ import annotations

import numpy as np

from .decomposition import (
    RTOL,
    compose,
    det_root,
    det_root_matrix,
    eigh_descending,
    random_decomposed,
    scatter,
    shares,
    variable_volumes,
)
from .matrices import Matrices
from .mixtures import MixturesTogether


class VEV(MixturesTogether, Matrices):
    name = "VEV"
    code = "VEV"
    description = "ellipsoids of one shape, each its own volume and orientation"

    def n_parameters(self, n_components, n_features):
        return (n_components + n_features - 1
                + n_components * n_features * (n_features - 1) // 2)

    def estimate_mixtures(self, sample_covariances, nk, reg_covar, previous, mixtures):
        values, axes = eigh_descending(scatter(sample_covariances, nk, reg_covar))
        volumes = None if previous is None else det_root_matrix(previous)
        return compose(axes, variable_volumes(values, nk, mixtures, volumes))

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        return random_decomposed(rng, sizes, n_features, log_ratio, self.code)

    def check_constraint(self, covariances):
        values = np.linalg.eigvalsh(np.asarray(covariances, dtype=np.float64))
        if not shares(values / det_root(values)[:, None], RTOL):
            raise ValueError("covariance_type='VEV' needs one shape (eigenvalues proportional "
                             "across components).")

    def rescaled(self, covariances, scale):
        """Unequal scales change the shapes (VVV)."""
        return "full", covariances * (scale[:, None] * scale[None, :])


MODEL = VEV()
