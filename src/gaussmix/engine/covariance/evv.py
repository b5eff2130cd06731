"""``EVV``: covariances ``lambda C_k`` of one volume, each its own shape and orientation
(closed form)."""

from __future__ import annotations

from .decomposition import RTOL, det_root_matrix, random_decomposed, scatter, shares
from .matrices import Matrices
from .mixtures import MixturesTogether


class EVV(MixturesTogether, Matrices):
    name = "EVV"
    code = "EVV"
    description = "ellipsoids of one volume, each its own shape and orientation"

    def n_parameters(self, n_components, n_features):
        return n_components * (n_features * (n_features + 1) // 2) - (n_components - 1)

    def estimate_mixtures(self, sample_covariances, nk, reg_covar, previous, mixtures):
        W = scatter(sample_covariances, nk, reg_covar)
        roots = det_root_matrix(W)  # C_k = W_k / |W_k|^(1/d), lambda = sum_k |W_k|^(1/d) / n
        volume = mixtures.spread(mixtures.total(roots) / mixtures.total(nk))
        return W * (volume / roots)[:, None, None]

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        return random_decomposed(rng, sizes, n_features, log_ratio, self.code)

    def check_constraint(self, covariances):
        if not shares(det_root_matrix(covariances), RTOL):
            raise ValueError("covariance_type='EVV' needs one volume (equal determinants) for "
                             "every component.")


MODEL = EVV()
