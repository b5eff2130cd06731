"""Matrix representations: a general covariance per component, or one shared by all.

The precision factor of a covariance ``C`` is the upper-triangular ``inv(chol(C)).T``.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from .base import (
    COLLAPSE_ADVICE,
    STORED_NAMES,
    CovarianceModel,
    cholesky_lower,
    finite_covariances,
    inverse_gram,
    lower_triangular_inverse,
    precision_factor,
    raise_first_below,
)


def cholesky_draws(rng, means, covariances, counts):
    """One block of draws per component, ``m + z L^T`` with ``L = chol(C)``: the standard
    normals ``z`` that ``rng.multivariate_normal`` takes (the same stream), through a factor
    that moves with ``C`` by as little as ``C`` moves. ``multivariate_normal``'s SVD turns a
    repeated eigenvalue (the noise of a subspace or isotropic factor model) into an arbitrary
    basis, so two covariances equal to rounding would draw unrelated rows."""
    out = []
    for mean, cov, n in zip(means, covariances, counts):
        z = rng.standard_normal((int(n), len(mean)))
        out.append(mean + z @ np.linalg.cholesky(cov).T)
    return out


class _MatrixFactors(CovarianceModel):
    """Shared code of the two matrix representations (one matrix per component, or one)."""

    def _stack(self, covariances):
        """The distinct matrices: ``(M, D, D)``."""
        raise NotImplementedError

    def _describe(self, k):
        raise NotImplementedError

    def precision_cholesky(self, covariances, floor=None):
        """Upper-triangular precision factors ``inv(chol(C)).T``, all in one batched call.

        ``floor`` (one value per component) is the smallest conditional variance
        ``chol(C)_ii^2`` that counts as a spread; a component at or under it has collapsed.
        Raises ``ValueError`` naming the component for a covariance that is not finite or not
        positive definite.
        """
        covariances = finite_covariances(covariances)
        try:
            chol = np.linalg.cholesky(covariances)
        except np.linalg.LinAlgError:
            for k, matrix in enumerate(self._stack(covariances)):
                cholesky_lower(matrix, self._describe(k))
            raise ValueError("A covariance is not positive definite. " + COLLAPSE_ADVICE) from None
        if floor is not None:
            spread = np.diagonal(chol, axis1=-2, axis2=-1) ** 2
            raise_first_below(spread.reshape(-1, spread.shape[-1]), floor, self)
        inverse = lower_triangular_inverse(chol)
        return np.ascontiguousarray(np.swapaxes(inverse, -1, -2))

    def kernel_factor(self, prec_chol, n_features):
        return prec_chol

    def is_symmetric(self, covariances):
        return bool(np.allclose(covariances, np.swapaxes(covariances, -1, -2)))

    def _check_positive_precisions(self, precisions):
        for k, matrix in enumerate(self._stack(precisions)):
            # scikit-learn's wording (its tests match it), then which matrix
            if not np.allclose(matrix, matrix.T) or np.any(linalg.eigvalsh(matrix) <= 0.0):
                raise ValueError(f"'{self.name} precision' should be symmetric, "
                                 f"positive-definite (precisions_init[{k}] is not).")

    def rescaled(self, covariances, scale):
        return self.name, covariances * np.outer(scale, scale)

    def check_stored(self, covariances, prec_chol, dtype, names=STORED_NAMES):
        """Checks of parameters read from a file: symmetric positive-definite covariances, and
        triangular factors ``L`` with ``L.T @ C @ L = I`` up to ``dtype``'s rounding. Raises
        ``ValueError`` with a lower-case message; ``names`` are what the messages call the
        covariances and the factors."""
        c = covariances.astype(np.float64)
        for k, matrix in enumerate(self._stack(c)):
            what = self._describe(k).lower()
            diag = np.sqrt(np.abs(np.diag(matrix)))
            if np.any(np.abs(matrix - matrix.T) > 1e-6 * np.outer(diag, diag)):
                raise ValueError(f"{what} is not symmetric.")
            try:
                np.linalg.cholesky(matrix)
            except np.linalg.LinAlgError:
                raise ValueError(f"{what} is not positive definite.") from None
        eps = np.finfo(np.dtype(dtype)).eps
        n_features = c.shape[-1]
        stacked = zip(self._stack(prec_chol.astype(np.float64)), self._stack(c))
        for k, (factor, matrix) in enumerate(stacked):
            triangular = not np.any(np.triu(factor, 1)) or not np.any(np.tril(factor, -1))
            if not triangular or np.any(np.diag(factor) <= 0):
                raise ValueError(f"{names[1]}[{k}] is not triangular with a positive diagonal.")
            eigenvalues = np.linalg.eigvalsh(matrix)
            condition = eigenvalues[-1] / eigenvalues[0]
            tolerance = 1e-6 + 100.0 * n_features * eps * condition
            if np.max(np.abs(factor.T @ matrix @ factor - np.eye(n_features))) > tolerance:
                raise ValueError(f"{names[1]}[{k}] does not match {names[0]}.")
        self.check_constraint(c)

    def sample(self, rng, means, covariances, counts):
        """One block of draws per component (``rng.multivariate_normal``, as scikit-learn)."""
        dense = self.dense(covariances, *means.shape)
        return [rng.multivariate_normal(m, c, int(n)) for m, c, n in zip(means, dense, counts)]


class Matrices(_MatrixFactors):
    """A general ``(D, D)`` covariance per component: ``covariances_`` is ``(K, D, D)``."""

    family = "dense"

    def shape(self, n_components, n_features):
        return (n_components, n_features, n_features)

    def _stack(self, covariances):
        return covariances

    def _describe(self, k):
        return f"The covariance of component {k}"

    def precisions(self, prec_chol):
        return np.einsum("kij,klj->kil", prec_chol, prec_chol)

    def cholesky_from_precisions(self, precisions):
        return np.stack(
            [precision_factor(p, f"precisions_init[{k}]") for k, p in enumerate(precisions)]
        )

    def covariances_from_cholesky(self, prec_chol):
        out = np.empty_like(prec_chol)
        for k, chol in enumerate(prec_chol):
            out[k] = inverse_gram(chol)
        return out

    def log_det_cholesky(self, prec_chol, n_features):
        return np.sum(np.log(np.diagonal(prec_chol, axis1=1, axis2=2)), axis=1)

    def dense(self, covariances, n_components, n_features):
        return np.asarray(covariances, dtype=np.float64)

    def variances(self, covariances, n_components, n_features):
        return np.diagonal(covariances, axis1=1, axis2=2)

    def unregularised(self, covariances, reg_covar, n_features):
        return covariances - reg_covar * np.eye(n_features)

    def take(self, covariances, order):
        return covariances[order]

    def component_shape(self, n_features):
        return (n_features, n_features)

    def project(self, dense, weights):
        return dense


class Shared(_MatrixFactors):
    """One ``(D, D)`` covariance shared by all components: ``covariances_`` is ``(D, D)``."""

    family = "shared"
    shared = True

    def shape(self, n_components, n_features):
        return (n_features, n_features)

    def _stack(self, covariances):
        return covariances[None]

    def _describe(self, k):
        return f"The {self.name} covariance"

    def precisions(self, prec_chol):
        return prec_chol @ prec_chol.T

    def cholesky_from_precisions(self, precisions):
        return precision_factor(precisions, "precisions_init")

    def covariances_from_cholesky(self, prec_chol):
        return inverse_gram(prec_chol)

    def log_det_cholesky(self, prec_chol, n_features):
        return float(np.sum(np.log(np.diag(prec_chol))))

    def dense(self, covariances, n_components, n_features):
        c = np.asarray(covariances, dtype=np.float64)
        return np.broadcast_to(c, (n_components, n_features, n_features)).copy()

    def variances(self, covariances, n_components, n_features):
        return np.broadcast_to(np.diag(covariances), (n_components, n_features))

    def unregularised(self, covariances, reg_covar, n_features):
        return covariances - reg_covar * np.eye(n_features)

    def take(self, covariances, order):
        return covariances

    def component_shape(self, n_features):
        return (n_features, n_features)

    def project(self, dense, weights):
        return self.pool(dense, weights)

    def pool(self, values, weights):
        return np.tensordot(weights, values, axes=1)
