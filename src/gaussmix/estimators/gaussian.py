"""``GaussianMixture``: scikit-learn's Gaussian mixture on the shared EM driver.

The estimator's state is ``(weights, means, covariances, precision factors)`` in float64. Its
start is the ``n_init`` search (or ``init_params``, or the user's ``*_init``), its E-step the
engine's Gaussian kernel of the covariance model, its M-step :func:`gaussmix.engine.em.m_step`
followed by the collapse check; the loop, the data paths and prediction are the driver's
(:mod:`gaussmix.estimators.driver`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..engine import families
from ..engine.em import resolution_floor
from ..engine.estep import kernel_for, log_weights_of
from ..engine.state import KernelTerms, MixtureState
from ..engine.stats import SuffStats
from ..engine.validation import as_float_array, is_real
from .driver import MIXTURE_RULES, BaseMixture
from .imputation import MISSING_RULE, MissingValues
from .noise_component import NOISE_RULE, NoiseComponent
from .stacked import StackedSteps
from .stepwise import StepwiseEM

if TYPE_CHECKING:
    from typing import Any

    from typing_extensions import Self

    from .._typing import ArrayLike, RandomState

_PARAMETER_RULES = {
    **MIXTURE_RULES,
    **MISSING_RULE,
    **NOISE_RULE,
    "learning_decay": (
        lambda v: is_real(v) and 0.5 < v <= 1, "a number in (0.5, 1]"
    ),
    "learning_offset": (
        lambda v: is_real(v) and np.isfinite(v) and v >= 0, "a finite number >= 0"
    ),
}


class GaussianMixture(NoiseComponent, MissingValues, StepwiseEM, StackedSteps, BaseMixture):
    """Gaussian mixture model fitted by EM on additive sufficient statistics.

    A drop-in replacement for :class:`sklearn.mixture.GaussianMixture`: same parameters, attributes
    and methods with the same meaning. Differences, all additions:

    * ``fit(X, sample_weight=...)`` runs weighted EM (integer weights act like repeated rows).
    * float32 input stays float32: attributes and outputs keep the input's dtype, while the
      statistics are accumulated in float64.
    * Memory beyond the input is ``O(chunk_size * n_components)``: rows are processed in chunks and
      no ``n_samples x n_components`` array is ever formed during ``fit``.
    * ``lower_bounds_`` keeps the per-iteration history of the best initialisation.
    * Data larger than memory: ``fit`` streams a memory-mapped array
      (``np.load(path, mmap_mode="r")``) without copying it, runs EM on the workers for a
      ``dask.array.Array`` (``predict``, ``predict_proba`` and ``score_samples`` then return lazy
      Dask arrays), and :meth:`partial_fit` learns from a stream of mini-batches.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        ``'full'``: each component has its own general covariance matrix; ``'tied'``: all share
        one; ``'diag'``: each has its own diagonal matrix; ``'spherical'``: each has one variance.
    tol : float or None, default=None
        ``None``: EM stops when the gain still to come (Aitken's estimate from the last two
        steps) is below ``1e-5`` of ``1 + |log-likelihood|`` (mclust's relative scale, the same
        on any number of rows), so that slow EM is not stopped far from its optimum
        (:mod:`gaussmix.engine.convergence`). A number keeps scikit-learn's meaning: EM stops
        when the mean log-likelihood per sample (the lower bound) changes by less than ``tol``.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance, keeping them positive definite.
    max_iter : int, default=1000
        EM iterations per initialisation. ``0`` returns the initialisation itself. (scikit-learn
        stops at 100; with the default stopping rule slow EM, overlapping components on
        structureless data, can need a few hundred, and stopping it short leaves the fit far
        from its optimum.)
    n_init : int, default=1
        Number of initialisations; the one with the highest lower bound is kept. With the default
        ``init_params='hierarchical'`` (and no ``*_init``) the initialisations form a search:
        0 is the hierarchical (Ward) start, so ``n_init > 1`` never ends lower than
        ``n_init=1`` (beyond rounding); 1 is Ward on whitened rows (a Mahalanobis merge cost); 2 is model-based
        agglomeration with a covariance per group ("VVV" hierarchical clustering, from at most
        300 Ward groups); 3 is mclust's own start (the same with mclust's trace-regularised
        criterion, on the scaled SVD of the data); the others come from a screened pool
        ("emEM"): ``8 * (n_init - 1)`` starts (k-means, random responsibilities, random rows)
        each run 20 EM steps (on a random 20,000 rows of larger data) and
        ``n_init - 4`` distinct leaders, the start kinds taking turns, are run to convergence.
        The agglomerations are computed once per data set and kept (a refit or another K cuts
        the same tree). On small data the starts and runs go side by side, and a full-
        covariance fit with ``n_init=10`` takes about half of scikit-learn's ``n_init=10``
        (``benchmarks/bench_small.py``); a diagonal or spherical one costs more than
        scikit-learn's the first time a data set is seen, for its trees. With any other
        ``init_params`` every initialisation draws a new start of that kind, as in
        scikit-learn.
    init_params : {'hierarchical', 'kmeans', 'k-means++', 'random', 'random_from_data'}, \
default='hierarchical'
        How the starting responsibilities are chosen. ``'hierarchical'`` (our default and best
        single start) is model-based hierarchical agglomeration: Ward merges on at most 2,000 rows
        (a random subsample above that); it is deterministic on small data, treats integer sample
        weights exactly like repeated rows and does not depend on the order of the rows. The other
        values are scikit-learn's; above 100,000 rows ``'kmeans'`` and ``'k-means++'`` run on a
        random subsample of 100,000 rows. With ``n_init > 1`` the default runs a search over
        several kinds of starts (see ``n_init``), which on small classic data sets (iris, Old
        Faithful, diabetes) reaches optima at least as high as scikit-learn's ``n_init=10``
        k-means restarts, and often higher. The highest likelihood is not always the most useful
        fit: with many components it may belong to a component collapsed onto a few tied rows
        (:func:`gaussmix.select_model` flags such fits as degenerate).
    weights_init : array-like of shape (n_components,), default=None
        Starting weights; they must sum to one.
    means_init : array-like of shape (n_components, n_features), default=None
        Starting means.
    precisions_init : array-like, default=None
        Starting precisions (inverse covariances), shaped as ``covariances_``.
    random_state : int, RandomState instance or None, default=None
        Seed for the initialisation and for :meth:`sample`.
    warm_start : bool, default=False
        If True, ``fit`` continues from the current parameters (``n_init`` is then ignored).
    verbose : int, default=0
        ``1`` logs each initialisation, ``2`` also logs every ``verbose_interval`` iterations, on the
        ``"gaussmix"`` logger (sent to stderr when logging is not configured).
    verbose_interval : int, default=10
        Iterations between two messages at ``verbose=2``.
    chunk_size : int or None, default=None
        Rows per E-step chunk; ``None`` picks a cache-sized chunk. Results do not depend on it
        beyond float rounding.
    n_threads : int or None, default=None
        Threads for the E-step of ``fit`` (each runs single-threaded BLAS on its own rows);
        ``None`` uses every core this process may run on. Results depend on it only through the
        order of float additions.
    learning_decay : float, default=0.6
        Only for :meth:`partial_fit`: exponent ``kappa`` in (0.5, 1] of the step size
        ``rho_t = (t + learning_offset) ** -kappa`` with which batch ``t`` enters the running
        statistics (as in scikit-learn's ``LatentDirichletAllocation``). Smaller values forget old
        batches faster (follow drift); 1 gives every batch about equal weight.
    learning_offset : float, default=10.0
        Only for :meth:`partial_fit`: offset ``t0 >= 0`` of the step size; larger values make early
        batches count less, so a poor first batch is forgotten sooner.
    missing : {'error', 'em'}, default='error'
        What NaN in ``X`` means. ``'error'``: refused, as scikit-learn does. ``'em'``: a missing
        value (missing at random). ``fit``, ``score_samples``, ``predict_proba`` and ``predict``
        then score each row on its observed features (the marginal of each component), and in
        ``fit`` its missing features enter the statistics through their conditional mean and
        covariance given the observed ones (Ghahramani & Jordan 1994), so EM maximises the
        observed-data likelihood; :meth:`impute` fills them in. Rows with every value missing
        are refused. The starts work on the rows with NaN replaced by column means. Rows with no
        NaN take the usual kernels, so data without NaN give the same fit as ``'error'``. Works
        for memory-mapped files (read chunk by chunk; their NaN are filled for the starts as
        rows are read) and Dask arrays too.
    noise : bool, 'hypvol' or float, default=False
        A uniform noise component (mclust's ``initialization = list(noise = ...)``): ``True``
        spreads it over the data's bounding box (its volume is the product of the column
        ranges), a number ``V > 0`` over a region of that volume (mclust's ``Vinv = 1/V``).
        Its weight ``noise_weight_`` is learned with the others (starting at ``1 / (K + 1)``);
        rows it explains best are labelled ``-1`` by :meth:`predict`, :meth:`predict_proba`
        gives its probability as a last column, and :meth:`score_samples` includes its
        density. It counts two parameters in :meth:`bic` (its weight and its volume, as mclust
        counts them). ``noise='hypvol'`` takes mclust's own default volume, the smaller of the
        column box and the box of the principal-component scores (R's ``hypvol``).

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        ``(K, D, D)`` full, ``(D, D)`` tied, ``(K, D)`` diag, ``(K,)`` spherical.
    precisions_ : ndarray
        Inverses of ``covariances_``, same shape.
    precisions_cholesky_ : ndarray
        Triangular factors ``L`` with ``precisions_ = L @ L.T`` (square roots for diag/spherical).
    converged_ : bool
    n_iter_ : int
        EM iterations of the best initialisation.
    lower_bound_ : float
        Mean log-likelihood per sample of the best initialisation at its last iteration.
    lower_bounds_ : list of float
        ``lower_bound_`` after each iteration of the best initialisation.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix as gm
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-4, 1, (200, 2)), rng.normal(4, 1, (200, 2))])
    >>> model = gm.GaussianMixture(2, random_state=0).fit(X)
    >>> np.round(np.sort(model.means_[:, 0]))
    array([-4.,  4.])
    >>> bool((model.predict(X[:3]) == model.predict(X[:1])[0]).all())
    True
    """

    _parameter_rules = _PARAMETER_RULES

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
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
        noise: bool | float = False,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
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
        self.noise = noise

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def from_parameters(cls, weights: ArrayLike, means: ArrayLike, covariances: ArrayLike, *,
                        covariance_type: str = "full", noise_weight: float = 0.0,
                        noise_bounds: ArrayLike | None = None, **params: Any) -> Self:
        """A fitted-like model holding given parameters (e.g. the truth of generated data).

        The result predicts, scores and samples like a fitted model. Inputs are validated: weights
        must be non-negative and sum to one, shapes must agree with ``covariance_type`` and every
        covariance must be positive definite. With a noise component (``noise=V`` or
        ``noise=True`` among the parameters), ``noise_weight`` is its weight (the weights and it
        sum to one) and ``noise_bounds`` (``(2, n_features)``: lowest and highest values) the box
        it spans: required with ``noise=True``, optional with ``noise=V`` (whose region is then
        the box scaled to volume ``V``).

        Examples
        --------
        >>> import gaussmix as gm
        >>> m = gm.GaussianMixture.from_parameters([0.5, 0.5], [[0.0], [4.0]], [[[1.0]], [[1.0]]])
        >>> m.predict([[0.1], [3.9]]).tolist()
        [0, 1]
        """
        weights = as_float_array(weights, "weights")
        means = as_float_array(means, "means")
        if means.ndim != 2:
            raise ValueError(f"means must be 2-D (n_components, n_features), got shape {means.shape}.")
        n_components, n_features = means.shape
        dtype = np.float32 if means.dtype == np.float32 else np.float64
        model = cls(n_components=n_components, covariance_type=covariance_type, **params)
        model._check_hyperparameters()
        cov_model = model._covariance_model
        noise_weight = model._given_noise(weights, float(noise_weight), noise_bounds)
        covariances = as_float_array(covariances, "covariances")
        expected = cov_model.shape(n_components, n_features)
        if covariances.shape != expected:
            raise ValueError(
                f"covariances for covariance_type={covariance_type!r} must have shape {expected}, "
                f"got {covariances.shape}."
            )
        if not (np.all(np.isfinite(means)) and np.all(np.isfinite(covariances))):
            raise ValueError("means and covariances must be finite (no NaN or infinity).")
        if not cov_model.is_symmetric(covariances):
            raise ValueError("covariances must be symmetric matrices.")
        cov_model.check_constraint(covariances)
        try:
            prec_chol = cov_model.precision_cholesky(covariances)
        except ValueError:
            raise ValueError(
                "covariances must be positive definite (positive variances for "
                f"covariance_type={covariance_type!r}); the given ones are not."
            ) from None
        return model._store_given_state(
            MixtureState(weights, means, covariances, prec_chol, noise_weight), dtype)

    def _store_given_state(self, state, dtype):
        """Store a state of given parameters as fitted (``from_parameters``); returns self."""
        self._store_state(state, dtype)
        self.n_features_in_ = state.means.shape[1]
        self.converged_, self.n_iter_, self.lower_bound_, self.lower_bounds_ = True, 0, -np.inf, []
        return self

    def partial_fit(self, X: ArrayLike, y: object = None,
                    sample_weight: ArrayLike | None = None) -> Self:
        """Update the model from one mini-batch (stepwise, or online, EM).

        The first call (on an unfitted model) initialises from its batch as ``fit`` would
        (``init_params``, ``*_init``; ``n_init`` is not used) and runs one EM step on it. Each
        later call runs the E-step on its batch with the current parameters, blends the batch's
        per-sample sufficient statistics into running statistics,
        ``s = (1 - rho_t) * s + rho_t * s_batch`` with ``rho_t = (t + learning_offset) **
        -learning_decay``, and runs the M-step on ``s`` (Cappé & Moulines 2009; Liang & Klein
        2009). On a model fitted by ``fit`` (or loaded), the first call starts from its parameters,
        which count as one batch. Works for every ``covariance_type``; ``fit`` ignores the
        ``learning_*`` parameters and discards the running statistics.

        Batch size: each batch should hold enough rows to estimate every component's
        covariance, at least ``10 * n_components * n_features`` rows for ``'full'`` (fewer for
        ``'diag'`` and ``'spherical'``); a few hundred to a few thousand rows is typical. The first
        batch should be representative, as it sets the start. Several passes over shuffled data
        (epochs) approach the batch fit; rows in a systematic order bias the running statistics.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One mini-batch (in memory; for a Dask array use ``fit``).
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the batch's rows; the batch enters with its weighted mean.

        Returns
        -------
        self : GaussianMixture
            With ``n_iter_`` the number of batches folded in, ``converged_ = False`` and
            ``lower_bound_`` the running mean log-likelihood per sample of the batches (each under
            the parameters before its update).

        Examples
        --------
        >>> import numpy as np
        >>> import gaussmix as gm
        >>> rng = np.random.default_rng(0)
        >>> X = np.vstack([rng.normal(-4, 1, (5000, 2)), rng.normal(4, 1, (5000, 2))])
        >>> X = rng.permutation(X)
        >>> model = gm.GaussianMixture(2, random_state=0)
        >>> for batch in np.array_split(X, 50):
        ...     model = model.partial_fit(batch)
        >>> np.round(np.sort(model.means_[:, 0]))
        array([-4.,  4.])
        """
        return self._partial_fit(X, sample_weight)

    # ------------------------------------------------------------------ the driver's hooks
    #: The component family (:mod:`gaussmix.engine.families`).
    _family_name = "gaussian"

    @property
    def _family(self) -> families.ComponentFamily:
        return families.get(self._family_name)

    def _family_option(self):
        """What the family's M-step is told of its own parameters (none for Gaussians)."""
        return

    def _initial_state(self, X, sample_weight, random_state, chunk, init=0):
        """The starting :class:`~gaussmix.engine.state.MixtureState` (float64).

        ``init`` is the index of the initialisation within ``n_init``. With the default
        ``init_params='hierarchical'``, no ``*_init`` given and ``init >= 1``, the start comes
        from the search (:mod:`gaussmix.estimators.start_search`). Given ``*_init`` replace the
        corresponding parts of the start.
        """
        if not self._given_start():
            return self._default_start(X, sample_weight, random_state, chunk, init)
        return self._family_start(self._gaussian_start(X, sample_weight, random_state))

    def _family_start(self, state):
        """A start of the components alone, with the noise component's start weight (and a
        family's own starting parameters, in subclasses)."""
        weights, noise_weight = self._noise_start(state.weights)
        return replace(state, weights=weights, noise_weight=noise_weight)

    def _prepare_fit(self, X, sample_weight, start_data, path, chunk, n_threads):
        self._check_noise_use()
        self._prepare_noise(X, sample_weight, path.em_statistics)

    def _state_from_statistics(self, stats, dtype):
        """The start's state: a Gaussian M-step on the start's statistics, held to the same
        resolution floor as every EM step (a start of single rows with reg_covar=0, as
        k-means++ gives, has no spread at all)."""
        step = families.get("gaussian").m_step(stats, 10 * np.finfo(dtype).eps)
        covariances, prec_chol = self._solve_covariances(step, None, dtype)
        return self._family_start(MixtureState(step.weights, step.means, covariances, prec_chol))

    def _solve_covariances(self, step, previous, dtype):
        """``(covariances, precision factors)`` of a family's M-step ``step``: the covariance
        model's constrained solve (from ``previous``), held to the data's resolution floor."""
        model = self._covariance_model
        covariances = model.estimate(step.sample, step.nk, self.reg_covar, previous)
        floor = resolution_floor(step.weights, step.means, covariances, model, dtype)
        return covariances, model.precision_cholesky(covariances, floor)

    def _kernel(self, state, dtype, far=(), fitting=False):
        model = self._covariance_model
        log_weights = log_weights_of(state.weights)
        n_features = state.means.shape[1]
        family, density = self._family, None
        if family.own_terms:  # else the fused Gaussian kernel: nothing more to prepare
            density = family.terms(log_weights,
                                   model.log_det_cholesky(state.prec_chol, n_features),
                                   n_features, dtype, state.dofs)
        total = state.weights.sum()
        shift = state.weights @ state.means / (total if total > 0 else 1.0)
        kernel = kernel_for(model, log_weights, state.means, state.prec_chol, shift, dtype, far,
                            density=density,
                            background=self._noise_background(state.noise_weight))
        kernel.allow_missing = self._allows_missing()
        return kernel

    def _kernel_terms(self, state):
        """The stacked kernel's terms; ``None`` (one run at a time) for a family with its own
        E-step terms or with a noise component."""
        if self._family.own_terms or self._noise_on():
            return None
        return KernelTerms(state.weights, state.means, state.prec_chol, state.covariances)

    def _m_step(self, stats, state, dtype):
        """The family's M-step, the covariance model's constrained solve from the previous
        covariances, then the precision factors; a spread below the data's resolution raises
        the collapse error. The lower bound is the mean log-likelihood of ``state`` (the
        parameters the E-step used), scikit-learn's convention."""
        step = self._family.m_step(stats, 10 * np.finfo(dtype).eps, state.dofs,
                                   self._family_option())
        covariances, prec_chol = self._solve_covariances(step, state.covariances, dtype)
        noise_weight = max(0.0, 1.0 - float(step.weights.sum())) if self._noise_on() else 0.0
        new = MixtureState(step.weights, step.means, covariances, prec_chol, noise_weight,
                           step.dofs)
        return new, stats.loglik / stats.weight

    def _running_statistics(self, state):
        """Per-sample statistics around each mean whose M-step gives back ``state`` (so nothing
        cancels); they count as one batch of ``partial_fit``."""
        model = self._covariance_model
        centred = model.unregularised(state.covariances, self.reg_covar, state.means.shape[1])
        stats = SuffStats.from_moments(state.weights, state.means, centred, model.family)
        if state.noise_weight:  # the components' share, and the noise component's
            stats = stats.scale(1.0 - state.noise_weight)
            stats.weight = 1.0
            stats.extras["background"] = float(state.noise_weight)
        return stats

    def _fitted_state(self):
        dofs = getattr(self, "dofs_", None)
        return MixtureState(
            self.weights_.astype(np.float64),
            self.means_.astype(np.float64),
            self.covariances_.astype(np.float64),
            self.precisions_cholesky_.astype(np.float64),
            self._noise_of_fitted(),
            None if dofs is None else np.asarray(dofs, dtype=np.float64),
        )

    def _store_state(self, state, dtype):
        self.weights_ = np.asarray(state.weights, dtype=dtype)
        self.means_ = np.asarray(state.means, dtype=dtype)
        self.covariances_ = np.asarray(state.covariances, dtype=dtype)
        self.precisions_cholesky_ = np.asarray(state.prec_chol, dtype=dtype)
        self.precisions_ = self._covariance_model.precisions(
            np.asarray(state.prec_chol, dtype=np.float64)
        ).astype(dtype)
        self._store_noise(state.noise_weight, dtype)
        if state.dofs is not None:
            self.dofs_ = np.asarray(state.dofs, dtype=dtype)

    # ------------------------------------------------------------------ criteria
    def _n_parameters(self):
        """Free parameters: the covariance model's, the means and weights, the family's own
        (degrees of freedom) and, as mclust counts them, two for a noise component (its
        weight and the volume of its region)."""
        k = self.n_components
        return (self._covariance_model.mixture_parameters(k, self.means_.shape[1])
                + self._family.n_parameters(k, self._family_option())
                + 2 * int(self._noise_on()))

    def bic(self, X: ArrayLike) -> float:
        """Bayesian information criterion (lower is better)."""
        n = np.shape(X)[0]
        return float(-2 * self.score(X) * n + self._n_parameters() * np.log(n))

    def aic(self, X: ArrayLike) -> float:
        """Akaike information criterion (lower is better)."""
        n = np.shape(X)[0]
        return float(-2 * self.score(X) * n + 2 * self._n_parameters())
