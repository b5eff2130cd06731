"""The covariance-model interface, and the four ways a mixture holds its covariances.

A *covariance model* (the value of ``covariance_type``) is one object that knows everything EM,
files, pictures, the generator and model selection need about one covariance structure. A model
is a subclass of one of four *representations*, which fix the array layout and everything that
follows from it alone (shapes, precision factors, log-determinants, validation, sampling, dense
matrices for pictures), and defines what is particular to its constraint:

* :meth:`CovarianceModel.n_parameters`: free covariance parameters (mclust's ``df`` minus the
  weights and means);
* :meth:`CovarianceModel.estimate`: the M-step, from the sample covariances of the statistics;
* :meth:`CovarianceModel.random_covariances`: random shapes for :func:`gaussmix.make_mixture`.

==================  =====================  ==============  ==================================
representation      ``covariances_``       kernel family   models
==================  =====================  ==============  ==================================
:class:`Matrices`   ``(K, D, D)``          ``"dense"``     ``full`` (mclust VVV)
:class:`Shared`     ``(D, D)``             ``"shared"``    ``tied`` (EEE)
:class:`Diagonals`  ``(K, D)``             ``"diagonal"``  ``diag`` (VVI)
:class:`Variances`  ``(K,)``               ``"diagonal"``  ``spherical`` (VII)
==================  =====================  ==============  ==================================

The *kernel family* says which E-step kernel and which layout of second moments the model uses
(:mod:`gaussmix.engine.kernel`, :class:`gaussmix.engine.stats.SuffStats`): a dense precision
factor per component with ``(K, D, D)`` moments, one shared factor with pooled ``(D, D)``
moments, or a diagonal factor per component with ``(K, D)`` moments.

The *precision Cholesky factor* ``L`` of a covariance ``C`` satisfies ``inv(C) = L @ L.T`` and
is triangular (upper for matrices), so ``||(x - mu) @ L||**2`` is the Mahalanobis distance and
``sum(log(diag(L)))`` half the log-determinant of the precision; for diagonal representations
the factor is ``1 / sqrt(variance)``. Everything here is pure and works in float64.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

COLLAPSE_ADVICE = (
    "This happens when a component collapses onto too few (or duplicated) points. "
    "Increase reg_covar (e.g. reg_covar=1e-4), use fewer components, or standardize the data."
)


# What check_stored's messages call the covariances and the precision factors.
STORED_NAMES = ("covariances", "precisions_cholesky")


def random_rotation(rng, n_features):
    """A Haar-distributed random orthogonal matrix (for random covariance orientations)."""
    q, r = np.linalg.qr(rng.standard_normal((n_features, n_features)))
    return q * np.sign(np.diag(r))


def cholesky_lower(matrix, what):
    """Lower Cholesky factor of ``matrix``, or a ``ValueError`` naming ``what``."""
    try:
        return linalg.cholesky(matrix, lower=True, check_finite=False)
    except linalg.LinAlgError:
        raise ValueError(
            f"{what} is not positive definite, so the mixture cannot be evaluated. "
            + COLLAPSE_ADVICE
        ) from None


class CovarianceModel:
    """One covariance structure behind the interface every part of gaussmix asks.

    Subclass a representation (:class:`Matrices`, :class:`Shared`, :class:`Diagonals`,
    :class:`Variances`), set the class attributes and define :meth:`n_parameters`,
    :meth:`estimate` and :meth:`random_covariances`; then register an instance with
    :func:`gaussmix.engine.covariance.register`.

    Attributes
    ----------
    name : str
        The ``covariance_type`` value.
    code : str
        mclust's volume / shape / orientation code: each letter ``E`` (equal across components),
        ``V`` (variable) or ``I`` (identity), e.g. ``"VVV"`` for ``full``.
    description : str
        One line for documentation and help texts.
    family : {'dense', 'shared', 'diagonal'}
        E-step kernel family (set by the representation).
    shared : bool
        One covariance for all components (set by the representation).
    """

    name = None
    code = None
    description = ""
    family = None
    shared = False

    # ------------------------------------------------------------------ defined per model
    def n_parameters(self, n_components, n_features):
        """Free parameters of the covariances of a mixture."""
        raise NotImplementedError

    def estimate(self, sample_covariances, nk, reg_covar):
        """M-step: covariances (float64, this model's shape) with ``reg_covar`` on the diagonal.

        ``sample_covariances`` are the weighted sample covariances of the statistics in the
        kernel family's layout (``(K, D, D)``, ``(D, D)`` pooled, or ``(K, D)`` diagonals; see
        :func:`gaussmix.engine.stats.sample_covariances`), ``nk`` the components' weight sums.
        The array may be modified in place.
        """
        raise NotImplementedError

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        """Random covariances of this model for the generator.

        ``sizes`` (one per component) scale the standard deviations; the axis ratios are
        log-uniform in ``[0, log_ratio]``; orientations are Haar-random (:func:`random_rotation`).
        """
        raise NotImplementedError

    def rows_needed(self, n_features):
        """Rows one component needs to estimate its own covariance (``None`` when pooled)."""
        return

    # ------------------------------------------------------------------ shared by every model
    def mixture_parameters(self, n_components, n_features):
        """Free parameters of a whole mixture: covariances, means and ``K - 1`` weights."""
        return (
            self.n_parameters(n_components, n_features)
            + n_components * n_features
            + n_components
            - 1
        )

    def check_precisions(self, precisions, n_components, n_features):
        """Validate user-given ``precisions_init``: shape, finiteness, then the representation's
        checks. Returns them as float64."""
        expected = self.shape(n_components, n_features)
        try:
            precisions = np.asarray(precisions, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError("precisions_init must be a numeric array.") from None
        if precisions.shape != expected:
            raise ValueError(
                f"precisions_init for covariance_type={self.name!r} must have shape "
                f"{expected}, got {precisions.shape}."
            )
        if not np.all(np.isfinite(precisions)):
            raise ValueError("precisions_init contains NaN or infinite values.")
        self._check_positive_precisions(precisions)
        return precisions

    def scaled(self, covariances, factor, which=None):
        """Covariances with those of components ``which`` (default all) multiplied by ``factor``
        (a shared covariance is always scaled whole)."""
        out = np.array(covariances, dtype=np.float64, copy=True)
        if which is None or self.shared:
            return out * factor
        out[which] = out[which] * factor
        return out

    def marginal(self, covariances, projection, n_components, n_features):
        """Each component's covariance after the linear map ``projection`` (e.g. ``(2, D)``: the
        2-D marginal a picture draws), shape ``(K, p, p)``."""
        dense = self.dense(covariances, n_components, n_features)
        return np.einsum("ai,kij,bj->kab", projection, dense, projection)

    def __repr__(self):
        return f"<covariance model {self.name!r} ({self.code})>"


# ---------------------------------------------------------------------- matrix representations
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
        covariances = _finite(covariances)
        try:
            chol = np.linalg.cholesky(covariances)
        except np.linalg.LinAlgError:
            for k, matrix in enumerate(self._stack(covariances)):
                cholesky_lower(matrix, self._describe(k))
            raise ValueError("A covariance is not positive definite. " + COLLAPSE_ADVICE) from None
        if floor is not None:
            spread = np.diagonal(chol, axis1=-2, axis2=-1) ** 2
            _raise_first_below(spread.reshape(-1, spread.shape[-1]), floor, self)
        eye = np.broadcast_to(np.eye(covariances.shape[-1]), covariances.shape)
        # The inverse of a lower-triangular matrix is lower triangular: drop solve()'s rounding
        # noise above the diagonal so that the factor is exactly triangular.
        inverse = np.tril(np.linalg.solve(chol, eye))
        return np.ascontiguousarray(np.swapaxes(inverse, -1, -2))

    def kernel_factor(self, prec_chol, n_features):
        return prec_chol

    def is_symmetric(self, covariances):
        return bool(np.allclose(covariances, np.swapaxes(covariances, -1, -2)))

    def _check_positive_precisions(self, precisions):
        for k, matrix in enumerate(self._stack(precisions)):
            if not np.allclose(matrix, matrix.T):
                raise ValueError(f"precisions_init[{k}] for {self.name!r} must be symmetric.")
            if np.any(linalg.eigvalsh(matrix) <= 0.0):
                raise ValueError(
                    f"precisions_init[{k}] for {self.name!r} must be positive definite."
                )

    def rescaled(self, covariances, scale):
        """``(name, covariances)`` of the same mixture after each feature is multiplied by
        ``scale`` (undoing a standardisation)."""
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
        """Precision matrices ``L @ L.T``."""
        return np.einsum("kij,klj->kil", prec_chol, prec_chol)

    def cholesky_from_precisions(self, precisions):
        """Lower Cholesky factors of given precision matrices (for ``precisions_init``)."""
        return np.stack(
            [cholesky_lower(p, f"precisions_init[{k}]") for k, p in enumerate(precisions)]
        )

    def covariances_from_cholesky(self, prec_chol):
        """Covariances ``inv(L @ L.T)``."""
        out = np.empty_like(prec_chol)
        for k, chol in enumerate(prec_chol):
            out[k] = _inverse_gram(chol)
        return out

    def log_det_cholesky(self, prec_chol, n_features):
        """``sum(log(diag(L)))`` per component, shape ``(K,)``."""
        return np.sum(np.log(np.diagonal(prec_chol, axis1=1, axis2=2)), axis=1)

    def dense(self, covariances, n_components, n_features):
        return np.asarray(covariances, dtype=np.float64)

    def variances(self, covariances, n_components, n_features):
        return np.diagonal(covariances, axis1=1, axis2=2)

    def unregularised(self, covariances, reg_covar, n_features):
        """Covariances without ``reg_covar``, in the kernel family's layout (``partial_fit``
        turns a fitted model back into statistics with them)."""
        return covariances - reg_covar * np.eye(n_features)

    def take(self, covariances, order):
        return covariances[order]


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
        return cholesky_lower(precisions, "precisions_init")

    def covariances_from_cholesky(self, prec_chol):
        return _inverse_gram(prec_chol)

    def log_det_cholesky(self, prec_chol, n_features):
        """``sum(log(diag(L)))`` of the shared factor, a scalar."""
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


# ---------------------------------------------------------------------- diagonal representations
class _DiagonalFactors(CovarianceModel):
    """Shared code of the two diagonal representations (variances per feature, or one)."""

    family = "diagonal"

    def precision_cholesky(self, covariances, floor=None):
        """``1 / sqrt(variance)``; ``floor`` (one per component) as for matrices."""
        covariances = _finite(covariances)
        bad = np.flatnonzero(~(covariances > 0).reshape(covariances.shape[0], -1).all(axis=1))
        if bad.size:
            raise ValueError(
                f"The {self.name} covariance of component {int(bad[0])} has a variance <= 0, "
                "so the mixture cannot be evaluated. " + COLLAPSE_ADVICE
            )
        if floor is not None:
            _raise_first_below(covariances.reshape(covariances.shape[0], -1), floor, self)
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
            raise ValueError(f"precisions_init for {self.name!r} must be positive.")

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
        return np.stack([np.diag(row) for row in np.asarray(covariances, dtype=np.float64)])

    def variances(self, covariances, n_components, n_features):
        return covariances

    def unregularised(self, covariances, reg_covar, n_features):
        return covariances - reg_covar

    def rescaled(self, covariances, scale):
        return self.name, covariances * scale**2


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

    def rescaled(self, covariances, scale):
        """Unequal scales stretch the spheres into axis-aligned ellipsoids: ``'diag'``."""
        if np.allclose(scale, scale[0], rtol=1e-12, atol=0):
            return self.name, covariances * scale[0] ** 2
        return "diag", covariances[:, None] * scale**2


# ---------------------------------------------------------------------- helpers
def _finite(covariances):
    covariances = np.asarray(covariances, dtype=np.float64)
    if not np.all(np.isfinite(covariances)):
        raise ValueError(
            "A covariance contains NaN or infinity, so the mixture cannot be evaluated. Check the "
            "data for extreme values, or standardize it."
        )
    return covariances


def _inverse_gram(chol):
    """``inv(L @ L.T)`` from a triangular factor ``L`` (upper or lower)."""
    lower = not np.any(np.triu(chol, 1))
    inv = linalg.solve_triangular(chol, np.eye(chol.shape[0]), lower=lower, check_finite=False)
    return inv.T @ inv


def _raise_first_below(spread, floor, model):
    """``spread``: variances, one row per component; raise if a row has one <= its ``floor``."""
    floor = np.broadcast_to(np.asarray(floor, dtype=np.float64).reshape(-1), spread.shape[:1])
    bad = np.flatnonzero(np.any(spread <= floor[:, None], axis=1))
    if bad.size:
        which = f"{model.name} covariance" if model.shared else (
            f"{model.name} covariance of component {int(bad[0])}")
        raise ValueError(
            f"The {which} has collapsed: its spread in some direction is below the resolution "
            "of the data's values there, so the mixture cannot be evaluated. " + COLLAPSE_ADVICE
        )
