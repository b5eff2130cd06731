"""``VEI``: axis-aligned covariances ``lambda_k B`` with one shape ``B`` and a volume per
component (iterative M-step)."""

from __future__ import annotations

import numpy as np

from .decomposition import RTOL, det_root, random_decomposed, scatter, shares, variable_volumes
from .diagonals import Diagonals
from .mixtures import MixturesTogether


class VEI(MixturesTogether, Diagonals):
    name = "VEI"
    code = "VEI"
    description = "axis-aligned ellipsoids of one shape, each its own volume"

    def n_parameters(self, n_components, n_features):
        return n_components + n_features - 1

    def estimate_mixtures(self, sample_covariances, nk, reg_covar, previous, mixtures):
        volumes = None if previous is None else det_root(previous)
        return variable_volumes(scatter(sample_covariances, nk, reg_covar), nk, mixtures,
                                volumes)

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        dense = random_decomposed(rng, sizes, n_features, log_ratio, self.code)
        return np.diagonal(dense, axis1=1, axis2=2).copy()

    def check_constraint(self, covariances):
        c = np.asarray(covariances, dtype=np.float64)
        if not shares(c / det_root(c)[:, None], RTOL):
            raise ValueError("covariance_type='VEI' needs one shape (variances proportional "
                             "across components).")


MODEL = VEI()
