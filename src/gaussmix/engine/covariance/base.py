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

# scikit-learn's sentences (its tests match them), then a value to try
COLLAPSE_ADVICE = (
    "Fitting the mixture model failed because some components have ill-defined empirical "
    "covariance (for instance caused by singleton or collapsed samples). Try to decrease the "
    "number of components, increase reg_covar, or scale the input data. For example: "
    "reg_covar=1e-4, or standardized columns."
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


def precision_factor(precision, what):
    """scikit-learn's factor of a given precision matrix: the upper-triangular ``U`` with
    ``precision = U @ U.T`` (the lower Cholesky factor of the reversed matrix, reversed), the
    same triangle as the factors ``inv(chol(C)).T`` of fitted covariances."""
    return np.ascontiguousarray(cholesky_lower(precision[::-1, ::-1], what)[::-1, ::-1])


class CovarianceModel:
    """One covariance structure behind the interface every part of gaussmix asks.

    Subclass a representation (:class:`~.matrices.Matrices`, :class:`~.matrices.Shared`,
    :class:`~.diagonals.Diagonals`, :class:`~.diagonals.Variances`), set the class attributes
    and define :meth:`n_parameters`, :meth:`estimate` and :meth:`random_covariances` (and
    :meth:`check_constraint` where it applies); then register an instance
    with :func:`gaussmix.engine.covariance.register`. The representation provides the rest of
    the interface, listed below; every method is a pure function of its arguments.

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
    conjugate : bool
        The model's covariances have a conjugate Wishart posterior that :meth:`project` gives
        (the unconstrained model of each representation), so the variational
        ``BayesianGaussianMixture`` can use it.
    stackable : bool
        :meth:`estimate` serves several mixtures at once (a batch of EM runs): each
        component's covariance comes from its own statistics alone, so the mixtures'
        components can be stacked one after the other; or, for a shared covariance, the
        mixtures' pooled sample covariances come stacked along a leading axis. (What batches
        need beyond that lives in :mod:`.stacking`, not here.)
    """

    name = None
    code = None
    description = ""
    family = None
    shared = False
    conjugate = False
    stackable = False

    # ------------------------------------------------------------------ defined per model
    def n_parameters(self, n_components, n_features):
        """Free parameters of the covariances of a mixture."""
        raise NotImplementedError

    def estimate(self, sample_covariances, nk, reg_covar, previous=None):
        """M-step: covariances (float64, this model's shape) with ``reg_covar`` on the diagonal.

        ``sample_covariances`` are the weighted sample covariances of the statistics in the
        kernel family's layout (``(K, D, D)``, ``(D, D)`` pooled, or ``(K, D)`` diagonals; see
        :func:`gaussmix.engine.stats.sample_covariances`), ``nk`` the components' weight sums.
        The array may be modified in place. ``previous`` holds the covariances before this
        step (``None`` for a start): a model without a closed-form M-step starts its inner
        iterations there, so that no step lowers the likelihood.
        """
        raise NotImplementedError

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        """Random covariances of this model for the generator.

        ``sizes`` (one per component) scale the standard deviations; the axis ratios are
        log-uniform in ``[0, log_ratio]``; orientations are Haar-random (:func:`random_rotation`).
        """
        raise NotImplementedError

    @property
    def own_shape(self) -> bool:
        """Whether each component's shape is its own (mclust's middle letter ``V``: VVV, EVV,
        VVE, EVE, VVI, EVI): its covariance follows its own rows' scatter, so that a component
        whose rows have no variance in some direction can narrow there without bound, whatever
        it shares with the others (see :mod:`gaussmix.engine.convergence`)."""
        return isinstance(self.code, str) and len(self.code) == 3 and self.code[1] == "V"

    def own_parameters(self, n_features):
        """Parameters one component fits from its own rows alone: its mean and the covariance
        parameters it shares with no other component (what one more component adds to the
        mixture, less its weight)."""
        return int(self.mixture_parameters(2, n_features)
                   - self.mixture_parameters(1, n_features) - 1)

    def check_constraint(self, covariances):
        """Raise ``ValueError`` when covariances (or precisions) of this model's shape break
        its constraint (equal volumes, shapes or orientations); the representation's own checks
        come first. The default accepts any."""
        return

    # ------------------------------------------------------------------ provided by the representation
    def shape(self, n_components, n_features):
        """Shape of ``covariances_`` (and ``precisions_``, ``precisions_cholesky_``)."""
        raise NotImplementedError

    def precision_cholesky(self, covariances, floor=None):
        """Precision factors of ``covariances``. ``floor`` (one value per component) is the
        smallest variance that counts as a spread: a component at or under it has collapsed.
        Raises ``ValueError`` naming the component (with the ``reg_covar`` advice) for a
        covariance that is not finite, not positive definite, or collapsed."""
        raise NotImplementedError

    def precisions(self, prec_chol):
        """Precisions ``L @ L.T`` from precision factors."""
        raise NotImplementedError

    def cholesky_from_precisions(self, precisions):
        """Precision factors of given precisions (``precisions_init``)."""
        raise NotImplementedError

    def covariances_from_cholesky(self, prec_chol):
        """Covariances ``inv(L @ L.T)`` from precision factors."""
        raise NotImplementedError

    def log_det_cholesky(self, prec_chol, n_features):
        """``sum(log(diag(L)))`` per component (a scalar for a shared covariance)."""
        raise NotImplementedError

    def kernel_factor(self, prec_chol, n_features):
        """The precision factors in the kernel family's layout (the E-step's terms)."""
        raise NotImplementedError

    def is_symmetric(self, covariances):
        """Whether user-given covariances are symmetric (always true for diagonals)."""
        raise NotImplementedError

    def check_stored(self, covariances, prec_chol, dtype, names=STORED_NAMES):
        """Checks of parameters read from a file (positive definite, factors consistent with
        the covariances up to ``dtype``'s rounding, the constraint); ``ValueError`` with a
        lower-case message naming ``names``."""
        raise NotImplementedError

    def dense(self, covariances, n_components, n_features):
        """Every component's covariance as a ``(K, D, D)`` float64 stack."""
        raise NotImplementedError

    def variances(self, covariances, n_components, n_features):
        """Every component's variance per feature, ``(K, D)``."""
        raise NotImplementedError

    def unregularised(self, covariances, reg_covar, n_features):
        """Covariances without ``reg_covar``, in the kernel family's layout (``partial_fit``
        turns a fitted model back into statistics with them)."""
        raise NotImplementedError

    def take(self, covariances, order):
        """The covariances of the components in ``order`` (a shared one is returned whole)."""
        raise NotImplementedError

    def rescaled(self, covariances, scale):
        """``(name, covariances)`` of the same mixture after each feature is multiplied by
        ``scale`` (undoing a standardisation); the name changes when the constraint does not
        survive unequal scales (spherical -> diag)."""
        raise NotImplementedError

    def sample(self, rng, means, covariances, counts):
        """One block of ``counts[k]`` draws per component, drawn as scikit-learn does."""
        raise NotImplementedError

    def component_shape(self, n_features):
        """Shape of one component's covariance (``(D, D)``, ``(D,)`` or ``()``): the shape of a
        covariance prior."""
        raise NotImplementedError

    def project(self, dense, weights):
        """This representation's covariances nearest per-component ``(K, D, D)`` matrices
        ``dense``: themselves, their ``weights``-average (shared), their diagonals, or the mean
        of their diagonals. The M-step of the unconstrained model of each representation, and
        its Wishart posterior (see ``conjugate``)."""
        raise NotImplementedError

    def pool(self, values, weights):
        """Per-component ``values`` ``(K, ...)`` pooled as this representation pools
        covariances: unchanged, or (shared) their ``weights``-average."""
        return values

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
            raise ValueError(  # scikit-learn's wording (its tests match it)
                f"The parameter '{self.name} precision' should have the shape of {expected}, but "
                f"got {precisions.shape} (precisions_init for covariance_type={self.name!r})."
            )
        if not np.all(np.isfinite(precisions)):
            raise ValueError("precisions_init contains NaN or infinite values.")
        self._check_positive_precisions(precisions)
        self.check_constraint(precisions)
        return precisions

    @property
    def variable_volume(self):
        """Whether each component has a volume of its own (mclust's first letter ``V``)."""
        return self.code[0] == "V"

    def scaled(self, covariances, factor, which=None):
        """Covariances with those of components ``which`` (default all) multiplied by ``factor``
        (a model whose components share one volume is always scaled whole)."""
        out = np.array(covariances, dtype=np.float64, copy=True)
        if which is None or not self.variable_volume:
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


# ---------------------------------------------------------------------- helpers
def finite_covariances(covariances):
    covariances = np.asarray(covariances, dtype=np.float64)
    if not np.all(np.isfinite(covariances)):
        raise ValueError(
            "A covariance contains NaN or infinity, so the mixture cannot be evaluated. Check the "
            "data for extreme values, or standardize it."
        )
    return covariances


def lower_triangular_inverse(chol):
    """The inverse of each lower triangular matrix of a ``(..., D, D)`` stack (exactly lower
    triangular), by forward substitution over the whole stack at once: one batched product per
    row, where LAPACK's general inverse pays an LU factorisation and a call per matrix (8x
    faster for hundreds of 2 x 2 factors, as a batch of EM runs has)."""
    d = chol.shape[-1]
    stack = chol.reshape(-1, d, d)
    inverse = np.zeros_like(stack)
    diagonal = 1.0 / np.diagonal(stack, axis1=1, axis2=2)
    inverse[:, 0, 0] = diagonal[:, 0]
    for i in range(1, d):
        inverse[:, i, :i] = -(stack[:, i, None, :i] @ inverse[:, :i, :i])[:, 0] * diagonal[:, i,
                                                                                          None]
        inverse[:, i, i] = diagonal[:, i]
    return inverse.reshape(chol.shape)


def inverse_gram(chol):
    """``inv(L @ L.T)`` from a triangular factor ``L`` (upper or lower)."""
    lower = not np.any(np.triu(chol, 1))
    inv = linalg.solve_triangular(chol, np.eye(chol.shape[0]), lower=lower, check_finite=False)
    return inv.T @ inv


def raise_first_below(spread, floor, model):
    """``spread``: variances, one row per component; raise if a row has one <= its ``floor``."""
    floor = np.asarray(floor, dtype=np.float64).reshape(-1, 1)
    above = spread > floor
    if above.all():  # the usual case
        return
    bad = np.flatnonzero(~above.all(axis=1))
    if bad.size:
        which = f"{model.name} covariance" if model.shared else (
            f"{model.name} covariance of component {int(bad[0])}")
        raise ValueError(
            f"The {which} has collapsed: its spread in some direction is below the resolution "
            "of the data's values there, so the mixture cannot be evaluated. " + COLLAPSE_ADVICE
        )
