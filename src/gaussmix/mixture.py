"""The GaussianMixture estimator: validation, the EM driver and the scikit-learn API.

The arithmetic lives in :mod:`gaussmix._stats` (E-step, statistics, M-step) and
:mod:`gaussmix._covariance` (factorisations); this module holds state and the loop.
"""

from __future__ import annotations

import copy
import logging
import numbers
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _covariance as cov
from . import _stream
from ._init import (
    INITIALIZERS,
    INITIALIZERS_ALL,
    MODEL_BASED_START,
    WHITENED_START,
    em_steps,
    pick_screened,
    screen_plan,
    screening_rows,
)
from ._stats import (
    Kernel,
    available_threads,
    cancelled_components,
    chunk_rows,
    em_statistics,
    em_step,
    iter_e_step,
    m_step,
    recentre_from_responsibilities,
    resp_statistics,
    single_threaded_blas,
)

logger = logging.getLogger("gaussmix")

# Initialisations 0, 1, 2 of the default search are the deterministic hierarchical starts.
_N_DETERMINISTIC = 3

_FLOAT_DTYPES = (np.float64, np.float32)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# Declarative hyper-parameter checks: name -> (predicate, what a valid value is).
_PARAMETER_RULES = {
    "n_components": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "covariance_type": (
        lambda v: isinstance(v, str) and v in cov.COVARIANCE_TYPES,
        "one of " + ", ".join(repr(t) for t in cov.COVARIANCE_TYPES),
    ),
    "tol": (lambda v: _is_real(v) and np.isfinite(v) and v >= 0, "a finite number >= 0"),
    "reg_covar": (lambda v: _is_real(v) and np.isfinite(v) and v >= 0, "a finite number >= 0"),
    "max_iter": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "n_init": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "init_params": (
        lambda v: isinstance(v, str) and v in INITIALIZERS,
        "one of " + ", ".join(repr(k) for k in INITIALIZERS),
    ),
    "warm_start": (lambda v: isinstance(v, (bool, np.bool_)), "True or False"),
    "verbose": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "verbose_interval": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "chunk_size": (lambda v: v is None or (_is_int(v) and v >= 1), "None or an integer >= 1"),
    "n_threads": (lambda v: v is None or (_is_int(v) and v >= 1), "None or an integer >= 1"),
    "learning_decay": (
        lambda v: _is_real(v) and 0.5 < v <= 1, "a number in (0.5, 1]"
    ),
    "learning_offset": (
        lambda v: _is_real(v) and np.isfinite(v) and v >= 0, "a finite number >= 0"
    ),
}


def _ensure_log_handler():
    """With ``verbose > 0`` and no logging configured, send gaussmix's messages to stderr."""
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("gaussmix: %(message)s"))
        logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)


class GaussianMixture(DensityMixin, BaseEstimator):
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
    tol : float, default=1e-3
        EM stops when the mean log-likelihood per sample (the lower bound) improves by less than
        ``tol``; independent of ``n_samples``.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance, keeping them positive definite.
    max_iter : int, default=100
        EM iterations per initialisation. ``0`` returns the initialisation itself.
    n_init : int, default=1
        Number of initialisations; the one with the highest lower bound is kept. With the default
        ``init_params='hierarchical'`` (and no ``*_init``) the initialisations form a search:
        0 is the hierarchical (Ward) start, so ``n_init > 1`` never ends lower than
        ``n_init=1``; 1 is Ward on whitened rows (a Mahalanobis merge cost); 2 is model-based
        agglomeration with a covariance per group (mclust's "VVV" hierarchical clustering, from
        at most 300 Ward groups); the others come from a screened pool ("emEM"): ``8 *
        (n_init - 1)`` starts (k-means, random responsibilities, random rows) each run 20 EM
        steps (on a random 20,000 rows of larger data) and ``n_init - 3`` distinct leaders, the
        start kinds taking turns, are run to convergence. On small data a fit with
        ``n_init=10`` costs about 5 times scikit-learn's ``n_init=10`` (see
        ``benchmarks/bench_optimum.py``). With any other ``init_params`` every initialisation
        draws a new start of that kind, as in scikit-learn.
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

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="hierarchical",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        chunk_size=None,
        n_threads=None,
        learning_decay=0.6,
        learning_offset=10.0,
    ):
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

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def from_parameters(cls, weights, means, covariances, *, covariance_type="full", **params):
        """A fitted-like model holding given parameters (e.g. the truth of generated data).

        The result predicts, scores and samples like a fitted model. Inputs are validated: weights
        must be non-negative and sum to one, shapes must agree with ``covariance_type`` and every
        covariance must be positive definite.

        Examples
        --------
        >>> import gaussmix as gm
        >>> m = gm.GaussianMixture.from_parameters([0.5, 0.5], [[0.0], [4.0]], [[[1.0]], [[1.0]]])
        >>> m.predict([[0.1], [3.9]]).tolist()
        [0, 1]
        """
        weights = _as_float_array(weights, "weights")
        means = _as_float_array(means, "means")
        if means.ndim != 2:
            raise ValueError(f"means must be 2-D (n_components, n_features), got shape {means.shape}.")
        n_components, n_features = means.shape
        dtype = np.float32 if means.dtype == np.float32 else np.float64
        model = cls(n_components=n_components, covariance_type=covariance_type, **params)
        model._check_hyperparameters()
        model.weights_ = _check_weights(weights, n_components, "weights").astype(dtype)
        model.means_ = means.astype(dtype)
        covariances = _as_float_array(covariances, "covariances")
        expected = cov.covariance_shape(covariance_type, n_components, n_features)
        if covariances.shape != expected:
            raise ValueError(
                f"covariances for covariance_type={covariance_type!r} must have shape {expected}, "
                f"got {covariances.shape}."
            )
        if not (np.all(np.isfinite(means)) and np.all(np.isfinite(covariances))):
            raise ValueError("means and covariances must be finite (no NaN or infinity).")
        if covariance_type in ("full", "tied") and not np.allclose(
            covariances, np.swapaxes(covariances, -1, -2)
        ):
            raise ValueError("covariances must be symmetric matrices.")
        try:
            prec_chol = cov.precision_cholesky(covariances, covariance_type)
        except ValueError:
            raise ValueError(
                "covariances must be positive definite (positive variances for "
                f"covariance_type={covariance_type!r}); the given ones are not."
            ) from None
        model._set_parameters(weights, means, covariances, prec_chol, dtype)
        model.n_features_in_ = n_features
        model.converged_ = True
        model.n_iter_ = 0
        model.lower_bound_ = -np.inf
        model.lower_bounds_ = []
        return model

    # ------------------------------------------------------------------ validation
    def _check_hyperparameters(self):
        for name, (is_valid, what) in _PARAMETER_RULES.items():
            value = getattr(self, name)
            if not is_valid(value):
                raise ValueError(
                    f"The {name!r} parameter of {type(self).__name__} must be {what}; "
                    f"got {value!r}."
                )

    def _check_initial_parameters(self, n_features):
        """Validate ``weights_init``, ``means_init`` and ``precisions_init`` against the data."""
        k, ctype = self.n_components, self.covariance_type
        if self.weights_init is not None:
            _check_weights(_as_float_array(self.weights_init, "weights_init"), k, "weights_init")
        if self.means_init is not None:
            means = _as_float_array(self.means_init, "means_init")
            if means.shape != (k, n_features):
                raise ValueError(
                    f"means_init must have shape (n_components, n_features) = {(k, n_features)}, "
                    f"got {means.shape}."
                )
            if not np.all(np.isfinite(means)):
                raise ValueError("means_init contains NaN or infinite values.")
        if self.precisions_init is not None:
            cov.check_precisions(self.precisions_init, ctype, k, n_features)

    def _validate_fit_input(self, X, sample_weight, reset):
        X = _validate_numeric(self, X, ensure_min_samples=2, reset=reset)
        n_samples = X.shape[0]
        if n_samples < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = {self.n_components}, "
                f"n_samples = {n_samples}. Use fewer components or more data."
            )
        return X, _check_sample_weight(sample_weight, n_samples, self.n_components)

    def _validate_predict_input(self, X):
        check_is_fitted(self, "means_")
        return _validate_numeric(self, X, reset=False)

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the parameters with EM, keeping the best of ``n_init`` initialisations.

        Parameters
        ----------
        X : array-like, np.memmap or dask.array.Array of shape (n_samples, n_features)
            Training data (float32 stays float32). A memory-mapped array
            (``np.load(path, mmap_mode="r")``, float32 or float64) is validated and read chunk by
            chunk, never copied. A Dask array runs the E-step on its blocks where they live
            (default scheduler or a ``dask.distributed`` client) and only statistics come back;
            the start is taken from a random sample of at most 100,000 rows, so without
            ``*_init`` it differs from the in-memory start (see :mod:`gaussmix.backends.dask`).
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; integer weights give the same fit as repeating rows. For Dask
            input, a NumPy or Dask array.

        Returns
        -------
        self : GaussianMixture
        """
        # Every matrix here is small (K x D x D factors, chunk GEMMs): a multi-threaded BLAS only
        # adds hand-off latency to them (seconds per fit when the cores are busy). The E-step
        # runs its own threads instead; see gaussmix._stats.em_statistics.
        with single_threaded_blas():
            return self._fit(X, sample_weight)

    def _fit(self, X, sample_weight):
        self._check_hyperparameters()
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        if not do_init and (
            self.means_.shape[0] != self.n_components
            or self.covariances_.shape
            != cov.covariance_shape(self.covariance_type, *self.means_.shape)
        ):
            raise ValueError(
                f"warm_start=True continues from the fitted {self.means_.shape[0]} components "
                f"with covariances of shape {self.covariances_.shape}, which do not fit "
                f"n_components={self.n_components}, covariance_type={self.covariance_type!r}. "
                "Fit once with warm_start=False to start the new model afresh."
            )
        random_state = check_random_state(self.random_state)
        backend = _stream.backend_for(X)  # None for in-memory data; memmap or Dask otherwise
        if backend is None:
            X, sample_weight = self._validate_fit_input(X, sample_weight, reset=do_init)
            statistics, init_data = em_statistics, (X, sample_weight)
        else:
            X, sample_weight, init_data = backend.prepare(
                self, X, sample_weight, do_init, random_state
            )
            statistics = backend.em_statistics
        self._check_initial_parameters(X.shape[1])
        if self.verbose:
            _ensure_log_handler()
        dtype = X.dtype.type
        chunk = self._chunk_rows(X.shape[1], dtype)
        n_init = self.n_init if do_init else 1
        n_threads = self.n_threads or available_threads()

        best = None
        for init in range(n_init):
            if do_init:
                params = self._initial_parameters(*init_data, random_state, chunk, init=init)
                lower_bound = -np.inf
            else:
                params = self._current_parameters()
                lower_bound = self.lower_bound_
            if self.verbose:
                logger.info("Initialization %d", init)
            start_time = time.perf_counter()
            history = []
            converged = False
            n_iter = 0
            for n_iter in range(1, self.max_iter + 1):
                previous = lower_bound
                lower_bound, params = em_step(
                    X, sample_weight, params, self.covariance_type, self.reg_covar, dtype, chunk,
                    n_threads, statistics,
                )
                history.append(lower_bound)
                change = lower_bound - previous
                if self.verbose >= 2 and n_iter % self.verbose_interval == 0:
                    logger.info(
                        "  Iteration %d  time %.3fs  lower bound %.8g  change %.3g",
                        n_iter, time.perf_counter() - start_time, lower_bound, change,
                    )
                if abs(change) < self.tol:
                    converged = True
                    break
            if self.verbose:
                logger.info(
                    "Initialization %s after %d iterations, %.3fs, lower bound %.8g",
                    "converged" if converged else "did not converge",
                    n_iter, time.perf_counter() - start_time, lower_bound,
                )
            if best is None or lower_bound > best[0]:
                best = (lower_bound, params, n_iter, converged, history)

        lower_bound, params, n_iter, converged, history = best
        if not converged and self.max_iter > 0:
            warnings.warn(
                f"Best of {n_init} initialisation(s) did not converge in {self.max_iter} "
                f"iterations (tol={self.tol}). Try a larger max_iter, a larger tol, or check the "
                "data (scaling, duplicated points).",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._set_parameters(*params, dtype)
        self.converged_ = converged
        self.n_iter_ = n_iter
        self.lower_bound_ = float(lower_bound)
        self.lower_bounds_ = [float(v) for v in history]
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then label ``X``; always equal to ``fit(X).predict(X)``."""
        return self.fit(X, sample_weight=sample_weight).predict(X)

    def partial_fit(self, X, y=None, sample_weight=None):
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
        return _stream.partial_fit(self, X, sample_weight)

    def _chunk_rows(self, n_features, dtype):
        if self.chunk_size is not None:
            return int(self.chunk_size)
        return chunk_rows(
            n_features, self.n_components, self.covariance_type, np.dtype(dtype).itemsize
        )

    def _initial_parameters(self, X, sample_weight, random_state, chunk, init=0):
        """Starting (weights, means, covariances, precision factors), all float64.

        ``init`` is the index of the initialisation within ``n_init``. With the default
        ``init_params='hierarchical'``, no ``*_init`` given and ``init >= 1``, the start is the
        best of several screened starts (see :func:`gaussmix._init.screen_plan`).
        """
        k, ctype = self.n_components, self.covariance_type
        n_features = X.shape[1]
        given = (self.weights_init, self.means_init, self.precisions_init)
        if init > 0 and self.init_params == "hierarchical" and all(v is None for v in given):
            return self._screened_start(X, sample_weight, random_state, chunk, init)
        if any(v is None for v in given):
            weights, means, covariances = self._start_from(
                self.init_params, X, sample_weight, random_state
            )
        if self.weights_init is not None:
            weights = _as_float_array(self.weights_init, "weights_init").astype(np.float64)
        if self.means_init is not None:
            means = _as_float_array(self.means_init, "means_init").astype(np.float64)
        if self.precisions_init is None:
            prec_chol = cov.precision_cholesky(covariances, ctype)
        else:
            precisions = cov.check_precisions(self.precisions_init, ctype, k, n_features)
            prec_chol = cov.cholesky_from_precisions(precisions, ctype)
            covariances = cov.covariances_from_cholesky(prec_chol, ctype)
        return weights, means, covariances, prec_chol

    def _start_from(self, strategy, X, sample_weight, random_state):
        """(weights, means, covariances) after one M-step on the responsibilities of ``strategy``."""
        k, ctype, dtype = self.n_components, self.covariance_type, X.dtype.type
        shift = np.asarray(X[: min(len(X), 4096)], dtype=np.float64).mean(axis=0)
        state = copy.deepcopy(random_state)  # to replay the same responsibilities if needed
        resp_chunks = INITIALIZERS_ALL[strategy](X, sample_weight, k, random_state, dtype)
        stats = resp_statistics(X, sample_weight, resp_chunks, k, ctype, shift, dtype)
        cancelled = cancelled_components(stats, dtype)
        if cancelled.size:  # a tight cluster far from the shift: its moments around its mean
            replay = INITIALIZERS_ALL[strategy](X, sample_weight, k, state, dtype)
            stats = recentre_from_responsibilities(stats, X, sample_weight, replay, cancelled)
        return m_step(stats, self.reg_covar, 10 * np.finfo(dtype).eps)

    def _screened_start(self, X, sample_weight, random_state, chunk, init):
        """Start ``init >= 1`` of the default search (see ``n_init`` in the class docstring).

        ``init == 1`` is the hierarchical start on whitened rows; it also screens the pool
        (:meth:`_screen_starts`), kept until the last initialisation. ``init == 2`` is the
        model-based (VVV) agglomeration; ``init >= 3`` take their starts from the pool. When the
        pool runs out (every screened start collapsed), the hierarchical start is used.
        """
        strategy = "hierarchical"
        if init == 1:
            strategy = WHITENED_START
            if self.n_init > _N_DETERMINISTIC:
                self._screen_pool = self._screen_starts(X, sample_weight, random_state, chunk)
        elif init == 2:
            strategy = MODEL_BASED_START
        else:
            pool = getattr(self, "_screen_pool", None) or []
            if init - _N_DETERMINISTIC < len(pool):
                strategy = None
                params = pool[init - _N_DETERMINISTIC]
        if init == self.n_init - 1:
            self.__dict__.pop("_screen_pool", None)  # not part of the fitted state
        if strategy is None:
            return params
        weights, means, covariances = self._start_from(strategy, X, sample_weight, random_state)
        return weights, means, covariances, cov.precision_cholesky(covariances, self.covariance_type)

    def _screen_starts(self, X, sample_weight, random_state, chunk):
        """emEM screening: up to ``n_init - 2`` distinct starts for full EM runs.

        ``8 * (n_init - 1)`` starts of several kinds each run a few EM steps (on a subsample of
        large data); :func:`gaussmix._init.pick_screened` chooses among them. A start whose
        component collapses is discarded.
        """
        rows = screening_rows(X.shape[0], random_state)
        if rows is not None:
            X = np.asarray(X[rows])
            sample_weight = None if sample_weight is None else sample_weight[rows]
        ctype = self.covariance_type
        strategies, n_iter = screen_plan(self.n_init - 1)
        found = []
        for strategy in strategies:
            try:
                weights, means, covariances = self._start_from(
                    strategy, X, sample_weight, random_state
                )
                params = (weights, means, covariances, cov.precision_cholesky(covariances, ctype))
                bound, params = em_steps(
                    X, sample_weight, params, ctype, self.reg_covar, n_iter, chunk, self.tol
                )
            except ValueError:  # a collapsed start is simply not a candidate
                continue
            if np.isfinite(bound):
                found.append((bound, strategy, params))
        return pick_screened(found, self.n_init - _N_DETERMINISTIC)

    def _current_parameters(self):
        return (
            self.weights_.astype(np.float64),
            self.means_.astype(np.float64),
            self.covariances_.astype(np.float64),
            self.precisions_cholesky_.astype(np.float64),
        )

    def _set_parameters(self, weights, means, covariances, prec_chol, dtype):
        self.weights_ = np.asarray(weights, dtype=dtype)
        self.means_ = np.asarray(means, dtype=dtype)
        self.covariances_ = np.asarray(covariances, dtype=dtype)
        self.precisions_cholesky_ = np.asarray(prec_chol, dtype=dtype)
        self.precisions_ = cov.precisions_from_cholesky(
            np.asarray(prec_chol, dtype=np.float64), self.covariance_type
        ).astype(dtype)

    # ------------------------------------------------------------------ inference
    def _kernel(self, dtype):
        weights, means, _, prec_chol = self._current_parameters()
        return Kernel(weights, means, prec_chol, self.covariance_type, weights @ means, dtype)

    def _iter_e_step(self, X):
        """Iterate ``(start, stop, resp, log_norm)`` over chunks of validated ``X``.

        ``resp`` is a reused buffer: consume or copy it before the next step.
        """
        dtype = np.result_type(X.dtype, self.means_.dtype).type
        kernel = self._kernel(dtype)
        return iter_e_step(kernel, X, self._chunk_rows(X.shape[1], dtype))

    def score_samples(self, X):
        """Log-density ``log p(x)`` of each row, shape ``(n_samples,)`` (lazy for Dask input)."""
        if _stream.is_dask_collection(X):
            return _stream.backend_for(X).apply(self, X, "score_samples")
        X = self._validate_predict_input(X)
        parts = [log_norm for _, _, _, log_norm in self._iter_e_step(X)]
        return np.concatenate(parts) if parts else np.empty(0)

    def score(self, X, y=None):
        """Mean log-likelihood per sample of ``X``."""
        return float(np.mean(self.score_samples(X), dtype=np.float64))

    def predict_proba(self, X):
        """Responsibilities (posterior probability of each component), shape ``(n_samples, K)``.

        A Dask array in gives a lazy Dask array out.
        """
        if _stream.is_dask_collection(X):
            return _stream.backend_for(X).apply(self, X, "predict_proba")
        X = self._validate_predict_input(X)
        out = None
        for start, stop, resp, _ in self._iter_e_step(X):
            if out is None:
                out = np.empty((X.shape[0], self.n_components), dtype=resp.dtype)
            out[start:stop] = resp
        return out

    def predict(self, X):
        """Most probable component of each row (a lazy Dask array for Dask input)."""
        if _stream.is_dask_collection(X):
            return _stream.backend_for(X).apply(self, X, "predict")
        X = self._validate_predict_input(X)
        out = np.empty(X.shape[0], dtype=np.intp)
        for start, stop, resp, _ in self._iter_e_step(X):
            out[start:stop] = resp.argmax(axis=1)
        return out

    def sample(self, n_samples=1):
        """Draw ``n_samples`` points; returns ``(X, y)`` with the component of each point.

        Uses ``random_state`` exactly as scikit-learn does.
        """
        check_is_fitted(self, "means_")
        if not _is_int(n_samples) or n_samples < 1:
            raise ValueError(f"Invalid value for 'n_samples': {n_samples!r}; it must be an integer >= 1.")
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_.astype(np.float64))
        means = self.means_.astype(np.float64)
        covariances = self.covariances_.astype(np.float64)
        ctype = self.covariance_type
        if ctype == "full":
            parts = [rng.multivariate_normal(m, c, int(n)) for m, c, n in zip(means, covariances, counts)]
        elif ctype == "tied":
            parts = [rng.multivariate_normal(m, covariances, int(n)) for m, n in zip(means, counts)]
        else:
            parts = [
                m + rng.standard_normal(size=(n, means.shape[1])) * np.sqrt(c)
                for m, c, n in zip(means, covariances, counts)
            ]
        X = np.vstack(parts).astype(self.means_.dtype)
        y = np.concatenate([np.full(n, k, dtype=int) for k, n in enumerate(counts)])
        return X, y

    # ------------------------------------------------------------------ criteria
    def _n_parameters(self):
        return cov.n_parameters(self.covariance_type, self.n_components, self.means_.shape[1])

    def bic(self, X):
        """Bayesian information criterion (lower is better)."""
        n = X.shape[0] if hasattr(X, "shape") else len(X)
        return -2 * self.score(X) * n + self._n_parameters() * np.log(n)

    def aic(self, X):
        """Akaike information criterion (lower is better)."""
        n = X.shape[0] if hasattr(X, "shape") else len(X)
        return -2 * self.score(X) * n + 2 * self._n_parameters()


# ---------------------------------------------------------------------- module helpers
def _validate_numeric(estimator, X, **kwargs):
    """``validate_data`` to float32/float64, with messages that say X must hold real numbers."""
    if X is None:
        raise TypeError("X must be an array-like of shape (n_samples, n_features), got None.")
    try:
        return validate_data(estimator, X, dtype=list(_FLOAT_DTYPES), **kwargs)
    except (TypeError, ValueError) as err:
        # numpy's bare "could not convert string to float: 'a'" does not say which input failed
        if "convert" in str(err) or "argument must be" in str(err):
            raise type(err)(
                f"X must contain only real numbers (no strings or other objects): {err}"
            ) from None
        raise


def _as_float_array(value, name):
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array.") from None
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}.")
    return arr.astype(np.float32 if arr.dtype == np.float32 else np.float64)


def _check_weights(weights, n_components, name):
    if weights.shape != (n_components,):
        raise ValueError(f"{name} must have shape (n_components,) = ({n_components},), got {weights.shape}.")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or np.any(weights > 1):
        raise ValueError(f"{name} must be finite and in [0, 1], got {weights}.")
    if not np.isclose(np.sum(weights, dtype=np.float64), 1.0, rtol=0, atol=1e-6):
        raise ValueError(f"{name} must sum to 1, but they sum to {np.sum(weights):.8g}.")
    return weights


def _check_positive_rows(n_positive, n_components):
    """As with repeated rows, fewer points than components cannot be fitted."""
    if n_positive < n_components:
        raise ValueError(
            f"Only {n_positive} rows have a positive sample_weight, fewer than "
            f"n_components = {n_components}. Use fewer components or give more rows a positive "
            "weight."
        )


def _check_sample_weight(sample_weight, n_samples, n_components=None):
    """Validated float64 weights (or None); with ``n_components``, enough positive rows too."""
    if sample_weight is None:
        return None
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("sample_weight must be a 1-D array of numbers.") from None
    if w.ndim == 0:
        w = np.full(n_samples, float(w))
    if w.ndim != 1:
        raise ValueError(f"sample_weight must be 1-D, got shape {w.shape}.")
    if w.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has {w.shape[0]} entries but X has {n_samples} rows; they must match."
        )
    if not np.all(np.isfinite(w)):
        raise ValueError("sample_weight contains NaN or infinite values.")
    if np.any(w < 0):
        raise ValueError("sample_weight must be non-negative.")
    if not w.sum() > 0:
        raise ValueError("sample_weight sums to zero; at least one row must have positive weight.")
    if n_components is not None:
        _check_positive_rows(int(np.count_nonzero(w)), n_components)
    return w

