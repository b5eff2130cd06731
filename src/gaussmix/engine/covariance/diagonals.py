"""Diagonal representations: a variance per feature and component, or one per component.

The precision factor of a variance ``v`` is ``1 / sqrt(v)``.
"""

from __future__ import annotations

import numpy as np

from .base import (
    COLLAPSE_ADVICE,
    STORED_NAMES,
    CovarianceModel,
    finite_covariances,
    raise_first_below,
)


class _DiagonalFactors(CovarianceModel):
    """Shared code of the two diagonal representations (variances per feature, or one)."""

    family = "diagonal"

    def precision_cholesky(self, covariances, floor=None):
        """``1 / sqrt(variance)``; ``floor`` (one per component) as for matrices."""
        covariances = finite_covariances(covariances)
        bad = np.flatnonzero(~(covariances > 0).reshape(covariances.shape[0], -1).all(axis=1))
        if bad.size:
            raise ValueError(
                f"The {self.name} covariance of component {int(bad[0])} has a variance <= 0, "
                "so the mixture cannot be evaluated. " + COLLAPSE_ADVICE
            )
        if floor is not None:
            raise_first_below(covariances.reshape(covariances.shape[0], -1), floor, self)
        return 1.0 / np.sqrt(covariances)

    def precisions(self, prec_chol):
        return prec_chol**2

    def cholesky_from_precisions(self, precisions):
        return np.sqrt(precisions)

    def covariances_from_cholesky(self, prec_chol):
        return 1.0 / prec_chol**2

    def is_symmetric(self, covariances):
        return True

    def _check_positive_precisions(self, precisions):
        if np.any(precisions <= 0):
            raise ValueError(f"'{self.name} precision' should be positive (precisions_init).")

    def check_stored(self, covariances, prec_chol, dtype, names=STORED_NAMES):
        """As for matrices: positive variances and factors ``1 / sqrt(variance)``."""
        c = covariances.astype(np.float64)
        bad = np.flatnonzero(~(c > 0).reshape(c.shape[0], -1).all(axis=1))
        if bad.size:
            raise ValueError(f"the {self.name} covariance of component {int(bad[0])} is not "
                             "positive.")
        L = prec_chol.astype(np.float64)
        eps = np.finfo(np.dtype(dtype)).eps
        if np.any(L <= 0):
            raise ValueError(f"{names[1]} must be positive.")
        if np.any(np.abs(L * L * c - 1.0) > 1e3 * eps):
            raise ValueError(f"{names[1]} does not match {names[0]}.")
        self.check_constraint(c)

    def sample(self, rng, means, covariances, counts):
        """One block of draws per component: ``mean + z * sd`` (as scikit-learn)."""
        n_features = means.shape[1]
        return [
            m + rng.standard_normal(size=(n, n_features)) * np.sqrt(c)
            for m, c, n in zip(means, covariances, counts)
        ]

    def take(self, covariances, order):
        return covariances[order]


class Diagonals(_DiagonalFactors):
    """A variance per feature and component: ``covariances_`` is ``(K, D)``."""

    def shape(self, n_components, n_features):
        return (n_components, n_features)

    def kernel_factor(self, prec_chol, n_features):
        return prec_chol

    def log_det_cholesky(self, prec_chol, n_features):
        return np.sum(np.log(prec_chol), axis=1)

    def dense(self, covariances, n_components, n_features):
        return np.asarray(covariances, dtype=np.float64)[:, :, None] * np.eye(n_features)

    def variances(self, covariances, n_components, n_features):
        return covariances

    def unregularised(self, covariances, reg_covar, n_features):
        return covariances - reg_covar

    def rescaled(self, covariances, scale):
        return self.name, covariances * scale**2

    def component_shape(self, n_features):
        return (n_features,)

    def project(self, dense, weights):
        return np.diagonal(dense, axis1=1, axis2=2).copy()


class Variances(_DiagonalFactors):
    """One variance per component (the same in every direction): ``covariances_`` is ``(K,)``."""

    def shape(self, n_components, n_features):
        return (n_components,)

    def kernel_factor(self, prec_chol, n_features):
        return np.outer(prec_chol, np.ones(n_features))

    def log_det_cholesky(self, prec_chol, n_features):
        return n_features * np.log(prec_chol)

    def dense(self, covariances, n_components, n_features):
        c = np.asarray(covariances, dtype=np.float64)
        return c[:, None, None] * np.eye(n_features)[None]

    def variances(self, covariances, n_components, n_features):
        return np.broadcast_to(covariances[:, None], (n_components, n_features))

    def unregularised(self, covariances, reg_covar, n_features):
        return (covariances - reg_covar)[:, None]

    def component_shape(self, n_features):
        return ()

    def project(self, dense, weights):
        return np.diagonal(dense, axis1=1, axis2=2).mean(axis=1)

    def rescaled(self, covariances, scale):
        """Unequal scales stretch the spheres into axis-aligned ellipsoids: ``'diag'``."""
        if np.allclose(scale, scale[0], rtol=1e-12, atol=0):
            return self.name, covariances * scale[0] ** 2
        return "diag", covariances[:, None] * scale**2
