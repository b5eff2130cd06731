"""``VEE``: covariances ``lambda_k C`` of one shape and orientation ``C``, each its own volume
(iterative M-step)."""

from __future__ import annotations

import numpy as np

from .decomposition import (
    INNER_ROUNDS,
    INNER_TOL,
    RTOL,
    det_root_matrix,
    random_decomposed,
    scatter,
    shares,
)
from .matrices import Matrices
from .mixtures import MixturesTogether, moved


class VEE(MixturesTogether, Matrices):
    name = "VEE"
    code = "VEE"
    description = "ellipsoids of one shape and orientation, each its own volume"

    def n_parameters(self, n_components, n_features):
        return n_components + n_features * (n_features + 1) // 2 - 1

    def estimate_mixtures(self, sample_covariances, nk, reg_covar, previous, mixtures):
        """Alternating the volumes and the common ``C`` of each stacked mixture until its
        volumes stop moving (``INNER_TOL``) or for ``INNER_ROUNDS`` rounds."""
        W = scatter(sample_covariances, nk, reg_covar)
        d = W.shape[-1]
        volumes = det_root_matrix(W / nk[:, None, None] if previous is None else previous)
        going = np.ones(len(mixtures.sizes), dtype=bool)
        shape = None
        for _ in range(INNER_ROUNDS):
            pooled = mixtures.total(W / volumes[:, None, None])
            pooled = pooled / det_root_matrix(pooled)[:, None, None]
            pooled = mixtures.spread(pooled)
            shape = pooled if shape is None else mixtures.keep(going, pooled, shape)
            traces = np.einsum("cij,cji->c", np.linalg.inv(shape), W)  # tr(C^-1 W_k)
            new = mixtures.keep(going, traces / (d * nk), volumes)
            going &= moved(new, volumes, mixtures) > INNER_TOL
            volumes = new
            if not going.any():
                break
        return volumes[:, None, None] * shape

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        return random_decomposed(rng, sizes, n_features, log_ratio, self.code)

    def check_constraint(self, covariances):
        c = np.asarray(covariances, dtype=np.float64)
        if not shares(c / det_root_matrix(c)[:, None, None], RTOL):
            raise ValueError("covariance_type='VEE' needs one shape and orientation (covariances "
                             "proportional across components).")


MODEL = VEE()
