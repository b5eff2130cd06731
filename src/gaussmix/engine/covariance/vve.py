"""``VVE``: covariances ``lambda_k D A_k D^T`` of one orientation, each its own volume and shape
(iterative M-step: sweeps of plane rotations for the orientation)."""

from __future__ import annotations

from .decomposition import (
    RTOL,
    common_axes,
    common_orientation_estimate,
    random_decomposed,
)
from .matrices import Matrices
from .mixtures import MixturesTogether


def _per_component(values, nk, mixtures):
    """VVE: each component's variances are its own eigenvalues over its weight."""
    return values / nk[..., None]


class VVE(MixturesTogether, Matrices):
    name = "VVE"
    code = "VVE"
    description = "ellipsoids of one orientation, each its own volume and shape"

    def n_parameters(self, n_components, n_features):
        return n_components * n_features + n_features * (n_features - 1) // 2

    def estimate_mixtures(self, sample_covariances, nk, reg_covar, previous, mixtures):
        """The M-step of every stacked mixture, their sweeps of plane rotations side by side
        (:func:`~gaussmix.engine.covariance.decomposition.common_orientation`)."""
        return common_orientation_estimate(sample_covariances, nk, reg_covar, previous,
                                           mixtures, _per_component)

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        return random_decomposed(rng, sizes, n_features, log_ratio, self.code)

    def check_constraint(self, covariances):
        if not common_axes(covariances, RTOL):
            raise ValueError("covariance_type='VVE' needs one orientation (the covariances' "
                             "eigenvectors) for every component.")

    def rescaled(self, covariances, scale):
        """Unequal scales turn the common axes (VVV)."""
        return "full", covariances * (scale[:, None] * scale[None, :])


MODEL = VVE()
