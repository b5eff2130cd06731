"""``spherical`` (mclust's VII): each component has its own single variance."""

from __future__ import annotations

from .diagonals import Variances


class Spherical(Variances):
    name = "spherical"
    code = "VII"
    conjugate = True
    stackable = True
    description = "each component has its own single variance"

    def n_parameters(self, n_components, n_features):
        return n_components

    def estimate(self, sample_covariances, nk, reg_covar, previous=None):
        return sample_covariances.mean(axis=1) + reg_covar

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        return sizes**2


SPHERICAL = Spherical()
