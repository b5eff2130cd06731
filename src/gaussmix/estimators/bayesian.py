"""``BayesianGaussianMixture``: scikit-learn's variational Gaussian mixture on the shared driver.

The state is ``(weight_concentration, mean_precision, means, degrees_of_freedom, covariances,
precision factors)``. The E-step is the engine's Gaussian kernel of the normalised covariances,
with the expected log-weights and the Wishart terms as per-component constants
(:mod:`gaussmix.engine.variational`), and it also sums the responsibilities' entropy, which the
lower bound needs; the M-step is the conjugate posterior. The loop, the data paths (memory,
memory-mapped files, Dask) and prediction are the driver's.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..engine import variational as vb
from ..engine.em import e_step, gaussian_moments
from ..engine.estep import em_statistics, kernel_for, log_weights_of, whole_data_kernel
from ..engine.state import VariationalState
from ..engine.stats import sample_covariances
from ..engine.validation import is_real
from .driver import MIXTURE_RULES, BaseMixture
from .pruning import PRUNE_RULES, prune_by_lower_bound

if TYPE_CHECKING:

    from .._typing import ArrayLike, RandomState


def _positive_or_none(v):
    return v is None or (is_real(v) and np.isfinite(v) and v > 0)


_PARAMETER_RULES = {
    **MIXTURE_RULES,
    "weight_concentration_prior_type": (
        lambda v: isinstance(v, str) and v in vb.PRIOR_TYPES,
        "one of " + ", ".join(repr(t) for t in vb.PRIOR_TYPES),
    ),
    "weight_concentration_prior": (_positive_or_none, "None or a number > 0"),
    "mean_precision_prior": (_positive_or_none, "None or a number > 0"),
    "degrees_of_freedom_prior": (
        lambda v: v is None or (is_real(v) and np.isfinite(v)), "None or a number"
    ),
    "prune": (lambda v: v is None or (isinstance(v, str) and v in PRUNE_RULES),
              "None or " + ", ".join(repr(r) for r in PRUNE_RULES)),
}


class BayesianGaussianMixture(BaseMixture):
    """Variational Bayesian estimation of a Gaussian mixture, on additive sufficient statistics.

    A drop-in replacement for :class:`sklearn.mixture.BayesianGaussianMixture`: the same
    parameters, attributes and methods with the same meaning and, from the same start, the same
    iterations (``lower_bound_`` to ~1e-10 relative; see ``tests/test_bayesian.py``). A
    Dirichlet-process (stick-breaking) or Dirichlet-distribution prior on the weights lets the
    fit switch off components the data do not need: fit more components than you expect and
    read which keep weight (:func:`gaussmix.plot_weights`).

    Additions, as for :class:`gaussmix.GaussianMixture`: ``fit(X, sample_weight=...)`` (integer
    weights act like repeated rows, the default priors included), float32 kept, memory
    ``O(chunk_size * n_components)``, memory-mapped and Dask input, ``weights_init`` /
    ``means_init`` / ``precisions_init`` and ``lower_bounds_``. Differences from scikit-learn:
    the default ``init_params`` is ``'hierarchical'`` (deterministic, and the ``n_init`` search of
    :class:`gaussmix.GaussianMixture`); ``'kmeans'`` and ``'random'`` start exactly where
    scikit-learn does for the same integer ``random_state``.

    Parameters
    ----------
    n_components : int, default=1
        Number of components: an upper bound; the fit may leave some with negligible weight.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        The covariance models with a conjugate Wishart posterior.
    tol : float, default=1e-3
        EM stops when the lower bound changes by less than ``tol`` (the lower bound is a total
        over the rows, as in scikit-learn, not a mean).
    reg_covar : float, default=1e-6
        Added to the diagonal of each component's sample covariance.
    max_iter : int, default=100
    n_init : int, default=1
        Initialisations; the one with the highest lower bound is kept (with the default
        ``init_params`` a search, as for :class:`gaussmix.GaussianMixture`).
    init_params : {'hierarchical', 'kmeans', 'k-means++', 'random', 'random_from_data'}, \
default='hierarchical'
        How the starting responsibilities are chosen (as for :class:`gaussmix.GaussianMixture`).
    weight_concentration_prior_type : {'dirichlet_process', 'dirichlet_distribution'}, \
default='dirichlet_process'
    weight_concentration_prior : float or None, default=None
        Concentration of the weights' prior (``1 / n_components`` when None); smaller values put
        more weight on fewer components.
    mean_precision_prior : float or None, default=None
        Precision ``beta_0`` of the means' prior, relative to the components' (1 when None).
    mean_prior : array-like of shape (n_features,), default=None
        Prior mean of the means (the data's mean when None).
    degrees_of_freedom_prior : float or None, default=None
        ``nu_0`` of the precisions' Wishart prior, above ``n_features - 1`` (``n_features`` when
        None).
    covariance_prior : float or array-like, default=None
        Prior covariance: ``(n_features, n_features)`` for full/tied, ``(n_features,)`` for
        diag, a number for spherical (the data's covariance, or variances, when None).
    weights_init, means_init, precisions_init : array-like, default=None
        A Gaussian mixture to start from (its parts replace those of the ``init_params``
        start): the fit starts from the posterior given its responsibilities.
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
    verbose : int, default=0
    verbose_interval : int, default=10
    chunk_size : int or None, default=None
        Rows per E-step chunk (as for :class:`gaussmix.GaussianMixture`).
    n_threads : int or None, default=None
        Threads for the E-step of ``fit``.
    prune : {'elbo', None}, default='elbo'
        After a fit that converged, empty the components its lower bound says the data do not
        need: for each component with weight, refit with its rows given to the others; keep
        the refit with the highest lower bound among those with fewer components with weight
        and a higher bound; repeat until no removal is kept
        (:mod:`gaussmix.estimators.pruning`). It undoes the local optimum of variational EM in
        which one group is split between two components. It costs one refit (from a fitted
        state) per component with weight, per removal and once more at the end, and only
        ever raises ``lower_bound_``. ``None``: scikit-learn's fit, iteration for iteration
        (as is ``'elbo'`` where no removal is kept).

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Posterior mean weights.
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        Normalised covariances (Wishart scale inverse over degrees of freedom), shaped by
        ``covariance_type``.
    precisions_, precisions_cholesky_ : ndarray
    weight_concentration_ : ndarray or tuple of ndarray
        Posterior of the weights: Dirichlet parameters, or the Beta parameters of each stick.
    mean_precision_ : ndarray of shape (n_components,)
    degrees_of_freedom_ : ndarray of shape (n_components,) or float
    weight_concentration_prior_, mean_precision_prior_, mean_prior_, degrees_of_freedom_prior_, \
covariance_prior_ :
        The priors used (defaults resolved against the training data).
    converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_
        With ``prune='elbo'``, ``n_iter_`` and ``lower_bounds_`` count the kept refits'
        iterations after the fit's own (each refit starts below the bound it ends above).
    pruned_ : list of int
        The components ``prune`` emptied, in order (empty with ``prune=None``).

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix as gm
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-5, 1, (200, 2)), rng.normal(5, 1, (200, 2))])
    >>> model = gm.BayesianGaussianMixture(n_components=6, weight_concentration_prior=1e-3,
    ...                                    random_state=0).fit(X)
    >>> int((model.weights_ > 0.02).sum())
    2
    """

    _parameter_rules = _PARAMETER_RULES

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float | None = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "hierarchical",
        weight_concentration_prior_type: str = "dirichlet_process",
        weight_concentration_prior: float | None = None,
        mean_precision_prior: float | None = None,
        mean_prior: ArrayLike | None = None,
        degrees_of_freedom_prior: float | None = None,
        covariance_prior: ArrayLike | float | None = None,
        weights_init: ArrayLike | None = None,
        means_init: ArrayLike | None = None,
        precisions_init: ArrayLike | None = None,
        random_state: RandomState = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        chunk_size: int | None = None,
        n_threads: int | None = None,
        prune: str | None = "elbo",
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.chunk_size = chunk_size
        self.n_threads = n_threads
        self.prune = prune

    # ------------------------------------------------------------------ priors
    def _check_hyperparameters(self):
        super()._check_hyperparameters()
        if not self._covariance_model.conjugate:
            raise ValueError(
                f"BayesianGaussianMixture needs a covariance model with a conjugate Wishart "
                f"posterior ('full', 'tied', 'diag' or 'spherical'); covariance_type="
                f"{self.covariance_type!r} has none. Use GaussianMixture for it."
            )

    def _prepare_fit(self, X, sample_weight, start_data, path, chunk, n_threads):
        """Resolve the priors against the training data, as scikit-learn does at every fit.

        The default mean and covariance priors are the data's weighted mean and (``ddof=1``)
        covariance, taken in one pass through the data path, so memory-mapped and Dask data
        never come into memory.
        """
        model = self._covariance_model
        n_features = X.shape[1]
        dtype = X.dtype.type
        self.weight_concentration_prior_ = (
            1.0 / self.n_components if self.weight_concentration_prior is None
            else float(self.weight_concentration_prior)
        )
        self.mean_precision_prior_ = (
            1.0 if self.mean_precision_prior is None else float(self.mean_precision_prior)
        )
        if self.degrees_of_freedom_prior is None:
            self.degrees_of_freedom_prior_ = float(n_features)
        elif self.degrees_of_freedom_prior > n_features - 1.0:
            self.degrees_of_freedom_prior_ = float(self.degrees_of_freedom_prior)
        else:
            raise ValueError(  # scikit-learn's wording (its tests match it)
                f"The parameter 'degrees_of_freedom_prior' should be greater than "
                f"{n_features - 1}, but got {float(self.degrees_of_freedom_prior):.3f} (it must "
                "exceed n_features - 1)."
            )
        stats = None
        if self.mean_prior is None or self.covariance_prior is None:
            sample = np.asarray(start_data[0][: min(len(start_data[0]), 4096)], dtype=np.float64)
            kernel = whole_data_kernel(model.family, sample.mean(axis=0), dtype)
            stats = path.em_statistics(X, sample_weight, kernel, chunk, n_threads)
        if self.mean_prior is None:
            self.mean_prior_ = stats.shift[0] + stats.s1[0] / stats.nk[0]
        else:
            self.mean_prior_ = self._checked_prior(self.mean_prior, "mean_prior", (n_features,))
        if self.covariance_prior is None:
            nk = stats.nk
            covariance = sample_covariances(stats, nk, stats.s1 / nk[:, None])
            if nk[0] > 1:  # the unbiased covariance; weights count as repeated rows
                covariance = covariance * (nk[0] / (nk[0] - 1.0))
            prior = model.estimate(covariance, nk, 0.0)
            self.covariance_prior_ = np.reshape(prior, model.component_shape(n_features))
        else:
            shape = model.component_shape(n_features)
            prior = self._checked_prior(self.covariance_prior, "covariance_prior", shape)
            try:
                model.precision_cholesky(np.broadcast_to(prior, model.shape(1, n_features)))
            except ValueError:
                raise ValueError(
                    f"covariance_prior for covariance_type={self.covariance_type!r} must be "
                    "positive definite (positive variances for 'diag' and 'spherical')."
                ) from None
            if not model.is_symmetric(prior):
                raise ValueError("covariance_prior must be a symmetric matrix.")
            self.covariance_prior_ = prior

    @staticmethod
    def _checked_prior(value, name, shape):
        try:
            prior = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number or an array of numbers.") from None
        if not np.all(np.isfinite(prior)):
            raise ValueError(f"{name} contains NaN or infinite values.")
        if prior.shape != tuple(shape):
            raise ValueError(f"{name} must have shape {tuple(shape)}, got {prior.shape}.")
        return prior

    # ------------------------------------------------------------------ the driver's hooks
    def _initial_state(self, X, sample_weight, random_state, chunk, init=0):
        """The posterior after a first M-step on the start's responsibilities (scikit-learn's
        ``_initialize``); with ``*_init``, on the responsibilities of that Gaussian mixture."""
        if not self._given_start():
            return self._default_start(X, sample_weight, random_state, chunk, init)
        start = self._gaussian_start(X, sample_weight, random_state)
        kernel = kernel_for(self._covariance_model, log_weights_of(start.weights), start.means,
                            start.prec_chol, start.weights @ start.means, X.dtype.type)
        stats = em_statistics(X, sample_weight, kernel, chunk)
        return self._state_from_statistics(stats, X.dtype.type)

    def _state_from_statistics(self, stats, dtype):
        model = self._covariance_model
        nk, xk, sk = gaussian_moments(stats, model, self.reg_covar, 10 * np.finfo(dtype).eps)
        concentration = vb.weight_concentration(
            nk, self.weight_concentration_prior_, self.weight_concentration_prior_type
        )
        mean_precision, means = vb.posterior_means(
            nk, xk, self.mean_prior_, self.mean_precision_prior_
        )
        degrees_of_freedom, covariances = vb.posterior_covariances(
            model, nk, xk, sk, self.mean_prior_, self.mean_precision_prior_, mean_precision,
            self.degrees_of_freedom_prior_, self.covariance_prior_,
        )
        prec_chol = model.precision_cholesky(covariances)
        return VariationalState(concentration, mean_precision, means, degrees_of_freedom,
                                covariances, prec_chol)

    def _kernel(self, state, dtype, far=(), fitting=False, removed=()):
        """``removed``: components given no weight (no responsibility) in this E-step."""
        concentration, mean_precision = state.weight_concentration, state.mean_precision
        means, degrees_of_freedom, prec_chol = state.means, state.degrees_of_freedom, \
            state.prec_chol
        prior_type = self.weight_concentration_prior_type
        log_weights = vb.expected_log_weights(concentration, prior_type) + vb.log_weight_terms(
            degrees_of_freedom, mean_precision, means.shape[1]
        )
        if len(removed):
            log_weights = np.array(log_weights, dtype=np.float64)
            # not -inf, which the kernel's GEMM would turn into NaN (-inf * 0); any row's
            # responsibility for it is e**-1e30 = 0, in float32 as in float64
            log_weights[list(removed)] = -1e30
        shift = vb.mixture_weights(concentration, prior_type) @ means
        return kernel_for(self._covariance_model, log_weights, means, prec_chol, shift, dtype,
                          far, track_entropy=fitting)

    def _m_step(self, stats, state, dtype):
        """The posterior from the statistics, and the lower bound: the responsibilities'
        entropy (from the E-step) minus the posterior's normalisers, scikit-learn's
        simplified form (a total over the rows)."""
        state = self._state_from_statistics(stats, dtype)
        concentration, mean_precision = state.weight_concentration, state.mean_precision
        degrees_of_freedom, prec_chol = state.degrees_of_freedom, state.prec_chol
        n_components, n_features = state.means.shape
        model = self._covariance_model
        log_det = model.log_det_cholesky(prec_chol, n_features) - 0.5 * n_features * np.log(
            degrees_of_freedom
        )
        log_wishart = np.sum(np.broadcast_to(
            vb.log_wishart_norm(degrees_of_freedom, log_det, n_features), (n_components,)
        ))
        log_norm_weight = vb.log_weight_norm(concentration, self.weight_concentration_prior_type)
        bound = (stats.entropy - log_wishart - log_norm_weight
                 - 0.5 * n_features * np.sum(np.log(mean_precision)))
        return state, float(bound)

    # ------------------------------------------------------------------ prune="elbo"
    def _run_all(self, plan):
        """The fit's runs, the one kept (as :meth:`_fit_finish` keeps it) pruned by the
        rule of :mod:`.pruning` when ``prune="elbo"`` and it converged."""
        finished = list(super()._run_all(plan))
        self.pruned_ = []
        best = None
        for i, run in enumerate(finished):
            if run.result is not None and (
                    best is None or run.result.lower_bound > finished[best].result.lower_bound):
                best = i
        if self.prune is None or best is None or not finished[best].result.converged:
            return finished
        start_time = time.perf_counter()
        result, self.pruned_ = prune_by_lower_bound(self, plan, finished[best].result)
        seconds = finished[best].seconds + time.perf_counter() - start_time
        finished[best] = replace(finished[best], result=result, seconds=seconds)
        return finished

    def _removal_start(self, plan, state, k):
        """``(state, lower bound)`` after one EM iteration from ``state`` in whose E-step
        component ``k`` has no weight: its rows go to the others, and it to its prior."""
        dtype = plan.dtype
        stats = e_step(
            lambda far: self._kernel(state, dtype, far, fitting=True, removed=(k,)),
            plan.X, plan.sample_weight, dtype, plan.chunk, plan.n_threads, plan.statistics,
        )
        return self._m_step(stats, state, dtype)

    def _fitted_state(self):
        concentration = self.weight_concentration_
        if isinstance(concentration, tuple):
            concentration = tuple(np.asarray(c, dtype=np.float64) for c in concentration)
        else:
            concentration = np.asarray(concentration, dtype=np.float64)
        return VariationalState(
            concentration,
            np.asarray(self.mean_precision_, dtype=np.float64),
            self.means_.astype(np.float64),
            np.asarray(self.degrees_of_freedom_, dtype=np.float64),
            self.covariances_.astype(np.float64),
            self.precisions_cholesky_.astype(np.float64),
        )

    def _store_state(self, state, dtype):
        concentration, mean_precision = state.weight_concentration, state.mean_precision
        means, degrees_of_freedom = state.means, state.degrees_of_freedom
        covariances, prec_chol = state.covariances, state.prec_chol
        self.weight_concentration_ = concentration
        self.mean_precision_ = np.asarray(mean_precision)
        self.degrees_of_freedom_ = degrees_of_freedom
        weights = vb.mixture_weights(concentration, self.weight_concentration_prior_type)
        self.weights_ = np.asarray(weights, dtype=dtype)
        self.means_ = np.asarray(means, dtype=dtype)
        self.covariances_ = np.asarray(covariances, dtype=dtype)
        self.precisions_cholesky_ = np.asarray(prec_chol, dtype=dtype)
        self.precisions_ = self._covariance_model.precisions(
            np.asarray(prec_chol, dtype=np.float64)
        ).astype(dtype)
