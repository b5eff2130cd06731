"""``HighDimensionalMixture``: HDDC, Gaussian mixtures in component subspaces.

The covariance model is :class:`gaussmix.engine.covariance.subspace.Subspace` (Bouveyron,
Girard & Schmid 2007; R's HDclassif); the EM driver, kernels and data paths are
:class:`~gaussmix.estimators.gaussian.GaussianMixture`'s, with the intrinsic dimensions
carried in the state (:mod:`.structured`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..engine.covariance.decomposition import eigh_descending
from ..engine.covariance.subspace import (
    SUBSPACE_MODELS,
    THRESHOLD,
    Subspace,
    canonical_name,
    cattell,
    principal_subspaces,
)
from ..engine.validation import is_int, is_real
from .gaussian import _PARAMETER_RULES
from .structured import StructuredMixture
from .subspace_parameters import subspace_covariances

if TYPE_CHECKING:
    from typing import Any

    from typing_extensions import Self

    from .._typing import ArrayLike, RandomState


def _known_model(value):
    try:
        canonical_name(value)
    except ValueError:
        return False
    return True


_RULES = {
    **_PARAMETER_RULES,
    "model": (_known_model, lambda: "one of " + ", ".join(repr(n) for n in SUBSPACE_MODELS)),
    "dimension": (lambda v: v == "cattell" or (is_int(v) and v >= 1),
                  "'cattell' or an integer >= 1"),
    "threshold": (lambda v: is_real(v) and 0 < v < 1, "a number in (0, 1)"),
}


class HighDimensionalMixture(StructuredMixture):
    """High-dimensional data clustering (HDDC): each component in its own subspace.

    Component ``k``'s covariance is ``Q_k diag(a_k1, ..., a_kd_k, b_k, ..., b_k) Q_k^T``: a
    subspace of intrinsic dimension ``d_k`` spanned by the leading eigenvectors of its
    scatter, with variances ``a_kj`` there and one noise variance ``b_k`` outside. With ``d_k``
    much smaller than ``D`` a component costs about ``D d_k`` parameters instead of
    ``D (D + 1) / 2``, so mixtures of 30 to 1000 features fit on a few hundred rows per
    component.

    Parameters
    ----------
    n_components : int, default=1
    model : str, default='AkjBkQkDk'
        HDclassif's submodel (any case): ``Akj``/``Ak``/``A`` signal variances per direction
        and component, per component, or one; ``Bk``/``B`` noise per component or one;
        ``Qk``/``Q`` orientation per component or one; ``Dk``/``D`` dimension per component or
        one. The fourteen: ``AkjBkQkDk``, ``AkBkQkDk``, ``ABkQkDk``, ``AkjBQkDk``,
        ``AkBQkDk``, ``ABQkDk``, the same six ending in ``D``, ``AjBQD`` and ``ABQD``.
        ``AkjBkQkD`` with an integer ``dimension=q`` is the mixture of probabilistic PCA
        (Tipping & Bishop 1999; also ``FactorMixture(model='UUC')``).
    dimension : 'cattell' or int, default='cattell'
        ``'cattell'``: Cattell's scree test with ``threshold`` chooses each component's
        dimension at every M-step (``...Dk`` models), or the common dimension once from the
        data's covariance before EM (``...D`` models), as HDclassif does. An integer fixes every
        component's dimension (capped at ``n_features - 1``). To choose it by BIC instead, fit
        a grid (:func:`gaussmix.selection.select_parameters`).
    threshold : float, default=0.2
        The scree test's threshold: the last eigenvalue drop larger than ``threshold`` times
        the largest drop ends the subspace.
    tol, reg_covar, max_iter, n_init, init_params, weights_init, means_init, precisions_init, \
random_state, warm_start, verbose, verbose_interval, chunk_size, n_threads, learning_decay, \
learning_offset, missing
        As in :class:`~gaussmix.GaussianMixture` (``precisions_init`` full ``(K, D, D)``).

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_, converged_, n_iter_, \
lower_bound_, lower_bounds_, n_features_in_
        As in :class:`~gaussmix.GaussianMixture` with ``covariance_type='full'``.
    dimensions_ : ndarray of shape (n_components,)
        Each component's intrinsic dimension at the fit.
    subspaces_ : list of ndarray of shape (n_features, dimensions_[k])
        Orthonormal bases of the components' subspaces.
    signal_variances_ : list of ndarray of shape (dimensions_[k],)
        Each component's variances along its subspace's basis (``a_k1, ..., a_kd_k``).
    noise_variances_ : ndarray of shape (n_components,)
        Each component's variance outside its subspace (``b_k``).

    Notes
    -----
    :meth:`bic` and :meth:`aic` count the parameters of the paper's table 1 (HDclassif's
    ``hdc_getComplexity``) with the fitted dimensions, and count the dimensions themselves when
    the scree test chose them. When the test re-chooses a dimension during EM, the likelihood
    can fall at that step; with fixed dimensions every M-step is exact and EM is monotone.
    ``save`` and ``load`` keep the model (:mod:`gaussmix.io.structured_file`);
    :meth:`from_parameters` builds one from known subspaces and variances.

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix as gm
    >>> rng = np.random.default_rng(0)
    >>> basis = np.linalg.qr(rng.normal(size=(20, 2)))[0]       # a plane in 20 dimensions
    >>> X = rng.normal(size=(400, 2)) * 5 @ basis.T + 0.3 * rng.normal(size=(400, 20))
    >>> model = gm.HighDimensionalMixture(1, random_state=0).fit(X)
    >>> model.dimensions_.tolist()
    [2]
    """

    _parameter_rules = _RULES

    def __init__(
        self,
        n_components: int = 1,
        *,
        model: str = "AkjBkQkDk",
        dimension: int | str = "cattell",
        threshold: float = THRESHOLD,
        tol: float | None = None,
        reg_covar: float = 1e-6,
        max_iter: int = 1000,
        n_init: int = 1,
        init_params: str = "hierarchical",
        weights_init: ArrayLike | None = None,
        means_init: ArrayLike | None = None,
        precisions_init: ArrayLike | None = None,
        random_state: RandomState = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        chunk_size: int | None = None,
        n_threads: int | None = None,
        learning_decay: float = 0.6,
        learning_offset: float = 10.0,
        missing: str = "error",
    ) -> None:
        self.n_components = n_components
        self.model = model
        self.dimension = dimension
        self.threshold = threshold
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.chunk_size = chunk_size
        self.n_threads = n_threads
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.missing = missing

    @property
    def _common_dimension(self) -> bool:
        return SUBSPACE_MODELS[canonical_name(self.model)][3] == "d"

    @property
    def _covariance_model(self) -> Any:
        dimension, from_data = self.dimension, False
        if dimension == "cattell" and self._common_dimension:
            # chosen from the data before EM (_prepare_fit); 1 stands in until then (only
            # shapes are asked for before it)
            dimension, from_data = getattr(self, "_data_dimension", 1), True
        return Subspace(self.model, dimension, self.threshold, from_data)

    def _prepare_fit(self, X, sample_weight, start_data, path, chunk, n_threads):
        """A common dimension left to the scree test is chosen on the covariance of the rows
        the starts see (HDclassif: the whole data's covariance)."""
        super()._prepare_fit(X, sample_weight, start_data, path, chunk, n_threads)
        if self.dimension != "cattell" or not self._common_dimension:
            return
        rows, weights = start_data
        rows = np.asarray(rows, dtype=np.float64)
        if np.isnan(rows).any():
            rows = np.where(np.isnan(rows), np.nanmean(rows, axis=0), rows)
        cov = np.atleast_2d(np.cov(rows, rowvar=False, aweights=weights, bias=True))
        values = np.linalg.eigvalsh(cov)[::-1]
        self._data_dimension = cattell(values, self.threshold) if len(values) > 1 else 1

    # ------------------------------------------------------------------ the extra state
    def _store_extra(self, extra, dtype):
        self.dimensions_ = np.rint(np.asarray(extra, dtype=np.float64)).astype(int)

    def _fitted_extra(self):
        return self.dimensions_

    @property
    def subspaces_(self) -> list:
        """Orthonormal bases ``(n_features, d_k)`` of the components' subspaces."""
        return principal_subspaces(self.covariances_, self.dimensions_)

    @property
    def signal_variances_(self) -> list:
        """Each component's variances ``a_kj`` along its subspace (``(d_k,)`` arrays)."""
        values = self._eigenvalues()
        return [values[k, :int(d)] for k, d in enumerate(self.dimensions_)]

    @property
    def noise_variances_(self) -> np.ndarray:
        """Each component's noise variance ``b_k`` outside its subspace."""
        values = self._eigenvalues()
        return np.array([values[k, int(d):].mean() for k, d in enumerate(self.dimensions_)],
                        dtype=self.covariances_.dtype)

    def _eigenvalues(self):
        values = eigh_descending(np.asarray(self.covariances_, dtype=np.float64))[0]
        return values.astype(self.covariances_.dtype)

    @classmethod
    def from_parameters(  # type: ignore[override]
        cls, weights: ArrayLike, means: ArrayLike, subspaces: Any, signal_variances: Any,
        noise_variances: ArrayLike, *, dimensions: ArrayLike | None = None, **params: Any,
    ) -> Self:
        """A fitted-like model holding given parameters (e.g. the truth of generated data).

        Component ``k``'s covariance is ``Q_k diag(a_k) Q_k^T + b_k (I - Q_k Q_k^T)``. The
        arguments are a fitted model's attributes of the same names (without the trailing
        ``_``), so ``HighDimensionalMixture.from_parameters(m.weights_, m.means_,
        m.subspaces_, m.signal_variances_, m.noise_variances_, model=m.model,
        dimension=m.dimension)`` predicts, scores and samples as ``m`` does.

        Parameters
        ----------
        weights : array-like of shape (n_components,)
            Non-negative, summing to one.
        means : array-like of shape (n_components, n_features)
            ``n_features >= 2``. Their dtype (float32 or float64) is the model's.
        subspaces : sequence of n_components array-likes of shape (n_features, d_k)
            Orthonormal bases ``Q_k`` of the subspaces (``Q_k^T Q_k = I`` within the square
            root of the dtype's machine epsilon), ``1 <= d_k < n_features``; their widths are
            the intrinsic dimensions. The same matrix for every component where ``model``
            has one orientation (``...Q...``).
        signal_variances : sequence of n_components array-likes of shape (d_k,)
            The variances ``a_kj`` along each basis' columns, each above its component's
            noise variance (a number stands for ``d_k`` equal ones); equal within a component
            for ``Ak`` models, equal everywhere for ``A`` models, equal across components
            for ``Aj``.
        noise_variances : array-like of shape (n_components,)
            The variances ``b_k`` outside the subspaces, positive; equal for ``B`` models.
        dimensions : array-like of shape (n_components,), optional
            The intrinsic dimensions (``dimensions_``); given, they must be the widths of
            ``subspaces``. Equal for common-dimension (``...D``) models, and
            ``min(dimension, n_features - 1)`` for an integer ``dimension``.
        **params
            The estimator's parameters (``model``, ``dimension``, ``threshold``,
            ``reg_covar``, ...). ``n_components``, if given, must be the number of means.

        Equal means within the square root of the dtype's machine epsilon, relative to the
        largest value.

        Returns
        -------
        HighDimensionalMixture
            A model that predicts, scores and samples, and starts ``fit`` from these
            parameters with ``warm_start=True``.

        Raises
        ------
        ValueError
            A shape that does not agree, a value that is not finite, weights that are not a
            distribution, a variance that is not positive (or a signal variance not above its
            noise), a basis that is not orthonormal, or parameters that break ``model``'s
            constraints; the message names the parameter.

        Examples
        --------
        >>> import numpy as np
        >>> import gaussmix as gm
        >>> lines = [np.array([[1.0], [0.0], [0.0]]), np.array([[0.0], [0.6], [0.8]])]
        >>> m = gm.HighDimensionalMixture.from_parameters(
        ...     [0.5, 0.5], [[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]], lines, [[9.0], [4.0]],
        ...     [0.5, 0.1])
        >>> m.dimensions_.tolist(), m.predict([[0.1, 0.0, 0.2], [5.0, 4.8, 5.1]]).tolist()
        ([1, 1], [0, 1])
        >>> m.covariances_[0]
        array([[9. , 0. , 0. ],
               [0. , 0.5, 0. ],
               [0. , 0. , 0.5]])
        """
        means = cls._given_means(means)
        model, weights, dtype = cls._given_model(weights, means, params)
        covariances, dims = subspace_covariances(
            model, means.shape, subspaces, signal_variances, noise_variances, dimensions,
            dtype)
        if model.dimension == "cattell" and model._common_dimension:
            model._data_dimension = int(dims[0])  # as if the scree test had chosen it
        return model._store_given(weights, means, covariances, dims.astype(np.float64), dtype)
