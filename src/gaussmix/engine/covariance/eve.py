"""``EVE``: covariances ``lambda D A_k D^T`` of one volume and one orientation, each its own
shape (iterative M-step: sweeps of plane rotations for the orientation)."""

from __future__ import annotations

from .decomposition import (
    RTOL,
    common_axes,
    common_orientation_estimate,
    det_root_matrix,
    equal_volume_shapes,
    random_decomposed,
    shares,
)
from .matrices import Matrices
from .mixtures import MixturesTogether


class EVE(MixturesTogether, Matrices):
    name = "EVE"
    code = "EVE"
    description = "ellipsoids of one volume and orientation, each its own shape"

    def n_parameters(self, n_components, n_features):
        return 1 + n_components * (n_features - 1) + n_features * (n_features - 1) // 2

    def estimate_mixtures(self, sample_covariances, nk, reg_covar, previous, mixtures):
        """The M-step of every stacked mixture, their sweeps of plane rotations side by side
        (:func:`~gaussmix.engine.covariance.decomposition.common_orientation`)."""
        return common_orientation_estimate(sample_covariances, nk, reg_covar, previous,
                                           mixtures, equal_volume_shapes)

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        return random_decomposed(rng, sizes, n_features, log_ratio, self.code)

    def check_constraint(self, covariances):
        c = covariances
        if not (common_axes(c, RTOL) and shares(det_root_matrix(c), RTOL)):
            raise ValueError("covariance_type='EVE' needs one volume and one orientation (the "
                             "covariances' eigenvectors) for every component.")

    def rescaled(self, covariances, scale):
        """Unequal scales turn the common axes: the volumes stay equal (EVV)."""
        return "EVV", covariances * (scale[:, None] * scale[None, :])


MODEL = EVE()
