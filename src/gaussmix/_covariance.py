"""Covariance types: shapes, parameter counts, Cholesky factors of precisions, log-determinants.

Every function here is pure and works in float64. The four types follow scikit-learn:

``full``       one ``(n_features, n_features)`` matrix per component, shape ``(K, D, D)``
``tied``       one matrix shared by all components, shape ``(D, D)``
``diag``       one diagonal per component, shape ``(K, D)``
``spherical``  one variance per component, shape ``(K,)``

The *precision Cholesky factor* ``L`` of a covariance ``C`` satisfies ``inv(C) = L @ L.T`` and is
triangular, so ``||(x - mu) @ L||**2`` is the Mahalanobis distance and ``sum(log(diag(L)))`` is half the
log-determinant of the precision. For ``diag`` and ``spherical`` the factor is ``1 / sqrt(variance)``.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

_COLLAPSE_ADVICE = (
    "This happens when a component collapses onto too few (or duplicated) points. "
    "Increase reg_covar (e.g. reg_covar=1e-4), use fewer components, or standardize the data."
)


def covariance_shape(covariance_type, n_components, n_features):
    """Shape of ``covariances_`` (and ``precisions_``) for a covariance type."""
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


def n_covariance_parameters(covariance_type, n_components, n_features):
    """Number of free parameters in the covariances of a mixture."""
    per_matrix = n_features * (n_features + 1) // 2
    return {
        "full": n_components * per_matrix,
        "tied": per_matrix,
        "diag": n_components * n_features,
        "spherical": n_components,
    }[covariance_type]


def n_parameters(covariance_type, n_components, n_features):
    """Free parameters of a mixture: covariances + means + (n_components - 1) weights."""
    return (
        n_covariance_parameters(covariance_type, n_components, n_features)
        + n_components * n_features
        + n_components
        - 1
    )


def _cholesky_lower(matrix, what):
    try:
        return linalg.cholesky(matrix, lower=True, check_finite=False)
    except linalg.LinAlgError:
        raise ValueError(
            f"{what} is not positive definite, so the mixture cannot be evaluated. "
            + _COLLAPSE_ADVICE
        ) from None


def precision_cholesky(covariances, covariance_type, floor=None):
    """Cholesky factors of the precisions from covariances (float64).

    For ``full`` and ``tied`` the factor is upper triangular: ``inv(chol(C)).T``. All components
    are factorised in one batched call (a per-matrix SciPy call costs more than the arithmetic at
    these sizes). ``floor`` (one value per component, or one for tied), if given, is the smallest
    variance that counts as a spread: a component whose variance in some direction (for
    full/tied, a conditional variance ``chol(C)_ii^2``) is not above it has collapsed.

    Raises
    ------
    ValueError
        If a covariance is not positive definite (a collapsed component); the message names the
        component and says what to do.
    """
    covariances = np.asarray(covariances, dtype=np.float64)
    if not np.all(np.isfinite(covariances)):
        raise ValueError(
            "A covariance contains NaN or infinity, so the mixture cannot be evaluated. Check the "
            "data for extreme values, or standardize it."
        )
    if covariance_type in ("full", "tied"):
        try:
            chol = np.linalg.cholesky(covariances)
        except np.linalg.LinAlgError:
            _raise_first_not_positive_definite(covariances, covariance_type)
        if floor is not None:
            spread = np.diagonal(chol, axis1=-2, axis2=-1) ** 2
            _raise_first_below(spread.reshape(-1, spread.shape[-1]), floor, covariance_type)
        eye = np.broadcast_to(np.eye(covariances.shape[-1]), covariances.shape)
        # The inverse of a lower-triangular matrix is lower triangular: drop solve()'s rounding
        # noise above the diagonal so that the factor is exactly triangular.
        inverse = np.tril(np.linalg.solve(chol, eye))
        return np.ascontiguousarray(np.swapaxes(inverse, -1, -2))
    bad = np.flatnonzero(~(covariances > 0).reshape(covariances.shape[0], -1).all(axis=1))
    if bad.size:
        raise ValueError(
            f"The {covariance_type} covariance of component {int(bad[0])} has a variance <= 0, "
            "so the mixture cannot be evaluated. " + _COLLAPSE_ADVICE
        )
    if floor is not None:
        _raise_first_below(covariances.reshape(covariances.shape[0], -1), floor, covariance_type)
    return 1.0 / np.sqrt(covariances)


def _raise_first_below(spread, floor, covariance_type):
    """``spread``: variances, one row per component; raise if a row has one <= its ``floor``."""
    floor = np.broadcast_to(np.asarray(floor, dtype=np.float64).reshape(-1), spread.shape[:1])
    bad = np.flatnonzero(np.any(spread <= floor[:, None], axis=1))
    if bad.size:
        which = "tied covariance" if covariance_type == "tied" else (
            f"{covariance_type} covariance of component {int(bad[0])}")
        raise ValueError(
            f"The {which} has collapsed: its spread in some direction is below the resolution "
            "of the data's values there, so the mixture cannot be evaluated. " + _COLLAPSE_ADVICE
        )


def _raise_first_not_positive_definite(covariances, covariance_type):
    if covariance_type == "tied":
        _cholesky_lower(covariances, "The tied covariance")
    for k, matrix in enumerate(covariances):
        _cholesky_lower(matrix, f"The covariance of component {k}")
    raise ValueError("A covariance is not positive definite. " + _COLLAPSE_ADVICE)


def precisions_from_cholesky(prec_chol, covariance_type):
    """Precision matrices ``L @ L.T`` (or squared factors for diag/spherical)."""
    if covariance_type == "full":
        return np.einsum("kij,klj->kil", prec_chol, prec_chol)
    if covariance_type == "tied":
        return prec_chol @ prec_chol.T
    return prec_chol**2


def cholesky_from_precisions(precisions, covariance_type):
    """Lower Cholesky factors of given precision matrices (for ``precisions_init``)."""
    precisions = np.asarray(precisions, dtype=np.float64)
    if covariance_type == "full":
        return np.stack(
            [_cholesky_lower(p, f"precisions_init[{k}]") for k, p in enumerate(precisions)]
        )
    if covariance_type == "tied":
        return _cholesky_lower(precisions, "precisions_init")
    return np.sqrt(precisions)


def covariances_from_cholesky(prec_chol, covariance_type):
    """Covariances ``inv(L @ L.T)`` from precision Cholesky factors."""
    if covariance_type == "full":
        out = np.empty_like(prec_chol)
        for k, chol in enumerate(prec_chol):
            inv = linalg.solve_triangular(
                chol, np.eye(chol.shape[0]), lower=_is_lower(chol), check_finite=False
            )
            out[k] = inv.T @ inv
        return out
    if covariance_type == "tied":
        inv = linalg.solve_triangular(
            prec_chol, np.eye(prec_chol.shape[0]), lower=_is_lower(prec_chol), check_finite=False
        )
        return inv.T @ inv
    return 1.0 / prec_chol**2


def _is_lower(matrix):
    return not np.any(np.triu(matrix, 1))


def log_det_cholesky(prec_chol, covariance_type, n_features):
    """Log-determinant of each precision Cholesky factor: ``sum(log(diag(L)))``, shape ``(K,)``.

    For ``tied`` the single value is returned as a scalar.
    """
    if covariance_type == "full":
        return np.sum(np.log(np.diagonal(prec_chol, axis1=1, axis2=2)), axis=1)
    if covariance_type == "tied":
        return float(np.sum(np.log(np.diag(prec_chol))))
    if covariance_type == "diag":
        return np.sum(np.log(prec_chol), axis=1)
    return n_features * np.log(prec_chol)


def check_precisions(precisions, covariance_type, n_components, n_features):
    """Validate user-given ``precisions_init``: shape, finiteness, symmetry, positive definiteness."""
    expected = covariance_shape(covariance_type, n_components, n_features)
    try:
        precisions = np.asarray(precisions, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("precisions_init must be a numeric array.") from None
    if precisions.shape != expected:
        raise ValueError(
            f"precisions_init for covariance_type={covariance_type!r} must have shape "
            f"{expected}, got {precisions.shape}."
        )
    if not np.all(np.isfinite(precisions)):
        raise ValueError("precisions_init contains NaN or infinite values.")
    if covariance_type in ("diag", "spherical"):
        if np.any(precisions <= 0):
            raise ValueError(f"precisions_init for {covariance_type!r} must be positive.")
        return precisions
    matrices = precisions[None] if covariance_type == "tied" else precisions
    for k, matrix in enumerate(matrices):
        if not np.allclose(matrix, matrix.T):
            raise ValueError(f"precisions_init[{k}] for {covariance_type!r} must be symmetric.")
        if np.any(linalg.eigvalsh(matrix) <= 0.0):
            raise ValueError(
                f"precisions_init[{k}] for {covariance_type!r} must be positive definite."
            )
    return precisions
