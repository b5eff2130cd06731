"""``FactorMixture``: mixtures of factor analysers and of probabilistic PCA (PGMM's family).

The covariance model is :class:`gaussmix.engine.covariance.factors.Factors`; the EM driver,
kernels and data paths are :class:`~gaussmix.estimators.gaussian.GaussianMixture`'s, with the
loadings and noise variances carried in the state (:mod:`.structured`) so that each M-step
starts where the last one ended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..engine.covariance.factors import FACTOR_MODELS, Factors, compose, pack, unpack
from ..engine.validation import as_float_array, is_int
from .gaussian import _PARAMETER_RULES
from .structured import StructuredMixture, unequal

if TYPE_CHECKING:
    from typing import Any

    from typing_extensions import Self

    from .._typing import ArrayLike, RandomState

_RULES = {
    **_PARAMETER_RULES,
    "model": (lambda v: v in FACTOR_MODELS,
              "one of " + ", ".join(repr(n) for n in FACTOR_MODELS)),
    "n_factors": (lambda v: is_int(v) and v >= 1, "an integer >= 1"),
}


class FactorMixture(StructuredMixture):
    """Mixture of factor analysers: ``Sigma_k = Lambda_k Lambda_k^T + Psi_k`` with ``q`` factors.

    Parameters
    ----------
    n_components : int, default=1
    n_factors : int, default=2
        Factors per component (``q``; at most ``n_features - 1``).
    model : str, default='UUU'
        McNicholas & Murphy's PGMM code: loadings shared by every component (``C``) or not
        (``U``); noise shared (``C``) or not (``U``); noise isotropic ``psi I`` (``C``) or
        diagonal (``U``). ``'UUU'``: the mixture of factor analysers (Ghahramani & Hinton 1996);
        ``'UUC'``: the mixture of probabilistic PCA (Tipping & Bishop 1999), whose M-step is
        closed form (the same model as ``HighDimensionalMixture(model='AkjBkQkD',
        dimension=q)``); ``'CUU'``: one set of loadings, each component its own noise; and
        ``UCU``, ``UCC``, ``CUC``, ``CCU``, ``CCC``.
    tol, reg_covar, max_iter, n_init, init_params, weights_init, means_init, precisions_init, \
random_state, warm_start, verbose, verbose_interval, chunk_size, n_threads, learning_decay, \
learning_offset, missing
        As in :class:`~gaussmix.GaussianMixture` (``precisions_init`` full ``(K, D, D)``).
        ``reg_covar`` is added to each sample covariance before the factor model is solved.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_, converged_, n_iter_, \
lower_bound_, lower_bounds_, n_features_in_
        As in :class:`~gaussmix.GaussianMixture` with ``covariance_type='full'``
        (``covariances_ = loadings_ @ loadings_^T + diag(noise_variances_)``).
    loadings_ : ndarray of shape (n_components, n_features, n_factors)
        The factor loadings (any rotation of them gives the same model).
    noise_variances_ : ndarray of shape (n_components, n_features)
        The diagonal of each ``Psi_k``.

    Notes
    -----
    Each M-step takes at most three rounds of the factor model's own iteration from the last
    loadings and noise (unconstrained loadings: the likelihood's maximum given the noise, as
    scikit-learn's ``FactorAnalysis`` takes them; shared loadings: the ECM step), then the
    noise's ECM step; every round raises the likelihood, so EM is monotone. With one component
    the fit is scikit-learn's ``FactorAnalysis`` (``UUU``) or probabilistic ``PCA`` (``UUC``).
    ``save`` and ``load`` keep the model (:mod:`gaussmix.io.structured_file`);
    :meth:`from_parameters` builds one from known loadings and noise variances.

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix as gm
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2)) @ rng.normal(size=(2, 8)) + rng.normal(size=(500, 8))
    >>> model = gm.FactorMixture(1, n_factors=2, random_state=0).fit(X)
    >>> model.loadings_.shape, model.noise_variances_.shape
    ((1, 8, 2), (1, 8))
    """

    _parameter_rules = _RULES

    def __init__(
        self,
        n_components: int = 1,
        *,
        n_factors: int = 2,
        model: str = "UUU",
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
        self.n_factors = n_factors
        self.model = model
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
    def _covariance_model(self) -> Factors:
        return Factors(self.model, self.n_factors)

    def _store_extra(self, extra, dtype):
        noise, loadings = unpack(extra, self.means_.shape[1])
        self.noise_variances_ = noise.astype(dtype)
        self.loadings_ = loadings.astype(dtype)

    def _fitted_extra(self):
        noise = np.asarray(self.noise_variances_, dtype=np.float64)
        loadings = np.asarray(self.loadings_, dtype=np.float64)
        return np.concatenate([noise, loadings.reshape(len(noise), -1)], axis=1)

    @classmethod
    def from_parameters(  # type: ignore[override]
        cls, weights: ArrayLike, means: ArrayLike, loadings: ArrayLike,
        noise_variances: ArrayLike, **params: Any,
    ) -> Self:
        """A fitted-like model holding given parameters (e.g. the truth of generated data).

        The arguments are a fitted model's attributes of the same names (without the
        trailing ``_``), so ``FactorMixture.from_parameters(m.weights_, m.means_,
        m.loadings_, m.noise_variances_, model=m.model)`` predicts, scores and samples as
        ``m`` does; the covariances are ``loadings loadings^T + diag(noise_variances)``.

        Parameters
        ----------
        weights : array-like of shape (n_components,)
            Non-negative, summing to one.
        means : array-like of shape (n_components, n_features)
            ``n_features >= 2``. Their dtype (float32 or float64) is the model's.
        loadings : array-like of shape (n_components, n_features, n_factors)
            Each component's factor loadings ``Lambda_k``, ``1 <= n_factors < n_features``;
            the same for every component where ``model`` shares them (``'C..'``).
        noise_variances : array-like of shape (n_components, n_features)
            The diagonal of each ``Psi_k``, positive; equal across components where
            ``model`` shares the noise (``'.C.'``), equal along a row where it is isotropic
            (``'..C'``). Equal means within the square root of the dtype's machine epsilon,
            relative to the largest value.
        **params
            The estimator's parameters (``model``, ``n_factors``, ``reg_covar``, ...).
            ``n_factors`` defaults to the loadings' ``n_factors``; given, it must agree
            (``min(n_factors, n_features - 1)``). ``n_components``, if given, must be the
            number of means.

        Returns
        -------
        FactorMixture
            A model that predicts, scores and samples, and starts ``fit`` from these
            parameters with ``warm_start=True``.

        Raises
        ------
        ValueError
            A shape that does not agree, a value that is not finite, weights that are not a
            distribution, a noise variance that is not positive, or parameters that break
            ``model``'s constraints; the message names the parameter.

        Examples
        --------
        >>> import numpy as np
        >>> import gaussmix as gm
        >>> loadings = np.array([[[2.0], [1.0], [0.0]], [[0.0], [1.0], [3.0]]])
        >>> m = gm.FactorMixture.from_parameters([0.5, 0.5], [[0.0, 0.0, 0.0], [5.0, 5.0, 5.0]],
        ...                                      loadings, np.full((2, 3), 0.5))
        >>> m.n_factors, m.predict([[0.1, 0.0, 0.2], [5.0, 4.8, 5.1]]).tolist()
        (1, [0, 1])
        >>> m.covariances_[0]
        array([[4.5, 2. , 0. ],
               [2. , 1.5, 0. ],
               [0. , 0. , 0.5]])
        """
        means = cls._given_means(means)
        n_components, n_features = means.shape
        loadings = as_float_array(loadings, "loadings")
        if loadings.ndim != 3 or loadings.shape[:2] != (n_components, n_features) \
                or not 1 <= loadings.shape[2] < n_features:
            raise ValueError(
                "loadings must have shape (n_components, n_features, n_factors) with "
                f"1 <= n_factors < n_features, here ({n_components}, {n_features}, q) from "
                f"means; got {loadings.shape}.")
        q = loadings.shape[2]
        n_factors = params.get("n_factors", q)
        if is_int(n_factors) and n_factors >= 1 and min(n_factors, n_features - 1) != q:
            raise ValueError(f"n_factors={n_factors!r} but loadings hold {q} factors; leave "
                             "n_factors out or make them agree.")
        model, weights, dtype = cls._given_model(
            weights, means, {**params, "n_factors": n_factors})
        noise = as_float_array(noise_variances, "noise_variances")
        if noise.shape != (n_components, n_features):
            raise ValueError(f"noise_variances must have shape (n_components, n_features) = "
                             f"{(n_components, n_features)}, got {noise.shape}.")
        if not (np.all(np.isfinite(loadings)) and np.all(np.isfinite(noise))):
            raise ValueError("loadings and noise_variances must be finite (no NaN or "
                             "infinity).")
        if not np.all(noise > 0):
            raise ValueError("noise_variances must be positive (each Psi_k is a covariance); "
                             f"the smallest given is {noise.min()!r}.")
        code = model.model
        isotropic = "noise is isotropic: give one value along each row of noise_variances"
        same = "give the same {} for every component"
        constraints = ((code[0], loadings, 0, "loadings are shared: " + same.format("loadings")),
                       (code[1], noise, 0, "noise is shared: " + same.format("noise_variances")),
                       (code[2], noise, 1, isotropic))
        for letter, values, axis, what in constraints:
            if letter == "C" and unequal(values, axis, dtype):
                raise ValueError(f"In model {code!r} the {what}.")
        loadings = loadings.astype(np.float64)
        noise = noise.astype(np.float64)
        return model._store_given(weights, means, compose(loadings, noise),
                                  pack(noise, loadings), dtype)
