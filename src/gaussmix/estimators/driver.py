"""The driver every mixture estimator shares, in the manner of scikit-learn's ``BaseMixture``.

:class:`BaseMixture` owns a fit: validation, the data path (memory, memory-mapped file, Dask),
the starts, ``n_init`` and keeping the best run (with its warnings), ``warm_start``, the
chunked prediction methods and sampling. The EM iterations themselves run in the one loop of
:mod:`.em_loop` (one run at a time) or :mod:`.batch` (runs side by side), both through
:class:`~gaussmix.estimators.em_loop.Run`, which holds the convergence test and the history
``lower_bounds_``. An estimator supplies its state (a record of :mod:`gaussmix.engine.state`)
and these hooks:

============================  =========================================================
``_initial_state``            the start of initialisation ``init`` (see :mod:`.start_search`)
``_state_from_statistics``    the start's state from starting statistics (a first M-step)
``_kernel``                   the E-step terms of a state (an engine ``Kernel``)
``_m_step``                   ``(new state, lower bound)`` from summed statistics
``_fitted_state``,            the state held in the fitted attributes, and storing one
``_store_state``
``_prepare_fit``              optional: per-fit quantities drawn from the data (priors, the
                              noise component's region)
``_kernel_terms``,            optional (:mod:`.batch`): the terms of a stacked kernel and
``_m_step_side_by_side``      the M-steps of runs side by side
============================  =========================================================

Because the statistics come from whichever data path holds the rows, a new estimator gets
memory-mapped files and Dask arrays for free.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..backends import data_path_for, is_dask_collection
from ..engine import covariance
from ..engine.convergence import StoppingRule, tol_text, weight_total
from ..engine.estep import (
    available_threads,
    iter_e_step,
    single_threaded_blas,
)
from ..engine.layout import chunk_rows
from ..engine.starts import check_planned_memory
from ..engine.state import state_arrays
from ..engine.validation import (
    as_float_array,
    check_hyperparameters,
    check_weights,
    is_int,
    is_real,
    validate_numeric,
)
from .batch import BatchedRuns
from .em_loop import Finished, Run, Start, iterate_alone
from .sklearn_protocol import (
    SklearnEstimator,
    check_is_fitted,
    check_random_state,
    warn_convergence,
)
from .start_search import INIT_PARAMS, StartSearch

if TYPE_CHECKING:
    from typing_extensions import Self

    from .._typing import ArrayLike, FloatArray, IntArray

logger = logging.getLogger("gaussmix")

# Declarative checks of the parameters every mixture has: name -> (predicate, what a valid value
# is); the covariance types are read from the registry when a message is needed.
MIXTURE_RULES = {
    "n_components": (lambda v: is_int(v) and v >= 1, "an integer >= 1"),
    "covariance_type": (
        lambda v: isinstance(v, str) and v in covariance.names(),
        lambda: "one of " + ", ".join(repr(t) for t in covariance.names()),
    ),
    "tol": (lambda v: v is None or (is_real(v) and np.isfinite(v) and v >= 0),
            "None (the relative rule) or a finite number >= 0"),
    "reg_covar": (lambda v: is_real(v) and np.isfinite(v) and v >= 0, "a finite number >= 0"),
    "max_iter": (lambda v: is_int(v) and v >= 0, "an integer >= 0"),
    "n_init": (lambda v: is_int(v) and v >= 1, "an integer >= 1"),
    "init_params": (
        lambda v: isinstance(v, str) and v in INIT_PARAMS,
        "one of " + ", ".join(repr(k) for k in INIT_PARAMS),
    ),
    "warm_start": (lambda v: isinstance(v, (bool, np.bool_)), "True or False"),
    "verbose": (lambda v: is_int(v) and v >= 0, "an integer >= 0"),
    "verbose_interval": (lambda v: is_int(v) and v >= 1, "an integer >= 1"),
    "chunk_size": (lambda v: v is None or (is_int(v) and v >= 1), "None or an integer >= 1"),
    "n_threads": (lambda v: v is None or (is_int(v) and v >= 1), "None or an integer >= 1"),
}


def _ensure_log_handler():
    """With ``verbose > 0`` and no logging configured, send gaussmix's messages to stderr."""
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("gaussmix: %(message)s"))
        logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)


class BaseMixture(StartSearch, BatchedRuns, SklearnEstimator):
    """The shared EM driver; see the module docstring for the hooks a subclass supplies."""

    #: ``name -> (predicate, what)`` checked by :meth:`_check_hyperparameters`.
    _parameter_rules = MIXTURE_RULES

    # ------------------------------------------------------------------ hooks
    def _initial_state(self, X, sample_weight, random_state, chunk, init=0):
        raise NotImplementedError

    def _state_from_statistics(self, stats, dtype):
        raise NotImplementedError

    def _kernel(self, state, dtype, far=(), fitting=False):
        """``fitting``: the kernel serves an EM iteration (it may track statistics that only
        the M-step needs, such as the responsibilities' entropy)."""
        raise NotImplementedError

    def _m_step(self, stats, state, dtype):
        raise NotImplementedError

    def _fitted_state(self):
        raise NotImplementedError

    def _store_state(self, state, dtype):
        raise NotImplementedError

    def _prepare_fit(self, X, sample_weight, start_data, path, chunk, n_threads):
        """Per-fit quantities that depend on the data (a Bayesian model's priors); none here."""

    def _start_rows(self, X, sample_weight):
        """The rows (and weights) the starts work on; the data themselves here."""
        return X, sample_weight

    # ------------------------------------------------------------------ validation
    @property
    def _covariance_model(self):
        return covariance.get(self.covariance_type)

    def _check_hyperparameters(self):
        check_hyperparameters(self, self._parameter_rules)

    def _check_initial_parameters(self, n_features):
        """Validate ``weights_init``, ``means_init`` and ``precisions_init`` against the data."""
        covariance.check_dimensions(self.covariance_type, n_features)
        k = self.n_components
        if self.weights_init is not None:
            check_weights(as_float_array(self.weights_init, "weights_init"), k, "weights_init")
        if self.means_init is not None:
            means = as_float_array(self.means_init, "means_init")
            if means.shape != (k, n_features):
                raise ValueError(  # scikit-learn's wording (its tests match it)
                    f"The parameter 'means' should have the shape of {(k, n_features)}, but got "
                    f"{means.shape} (means_init: one row of n_features per component)."
                )
            if not np.all(np.isfinite(means)):
                raise ValueError("means_init contains NaN or infinite values.")
        if self.precisions_init is not None:
            self._covariance_model.check_precisions(self.precisions_init, k, n_features)

    def _check_fitted_shapes(self, verb, advice):
        """The fitted components must fit the current ``n_components`` and ``covariance_type``
        for ``verb`` (``"warm_start=True continues"``, ``"partial_fit continues"``) to work."""
        expected = self._covariance_model.shape(*self.means_.shape)
        if self.means_.shape[0] != self.n_components or self.covariances_.shape != expected:
            raise ValueError(
                f"{verb} from the fitted {self.means_.shape[0]} components with covariances of "
                f"shape {self.covariances_.shape}, which do not fit "
                f"n_components={self.n_components}, covariance_type={self.covariance_type!r}. "
                + advice
            )

    def _validate_predict_input(self, X):
        check_is_fitted(self, "means_")
        return validate_numeric(self, X, reset=False)

    def _chunk_rows(self, n_features, dtype):
        if self.chunk_size is not None:
            return int(self.chunk_size)
        return chunk_rows(
            n_features, self.n_components, self._covariance_model.family,
            np.dtype(dtype).itemsize,
        )

    # ------------------------------------------------------------------ fitting
    def fit(self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None) -> Self:
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
        self
        """
        # Every matrix here is small (K x D x D factors, chunk GEMMs): a multi-threaded BLAS only
        # adds hand-off latency to them (seconds per fit when the cores are busy). The E-step
        # runs its own threads instead; see gaussmix.engine.estep.em_statistics.
        with single_threaded_blas():
            return self._fit(X, sample_weight)

    def _fit(self, X, sample_weight):
        plan = self._fit_plan(X, sample_weight)
        return self._fit_finish(plan, self._run_all(plan))

    def _fit_plan(self, X, sample_weight):
        """Everything a fit does before EM: validation, the data path, the starts. Returns a
        :class:`_FitPlan` whose ``runs`` are ``(init, state, lower_bound)``."""
        self._check_hyperparameters()
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        if not do_init:
            self._check_fitted_shapes(
                "warm_start=True continues",
                "Fit once with warm_start=False to start the new model afresh.",
            )
        with _random_stream(self.random_state) as random_state:
            path = data_path_for(X)
            X, sample_weight, start_data = path.prepare(self, X, sample_weight, do_init,
                                                        random_state)
            start_data = self._start_rows(*start_data)
            self._check_initial_parameters(X.shape[1])
            if do_init:
                check_planned_memory(self.n_init, self.n_components, X.shape[1],
                                     self._covariance_model.shape(self.n_components, X.shape[1]))
            if self.verbose:
                _ensure_log_handler()
            dtype = X.dtype.type
            chunk = self._chunk_rows(X.shape[1], dtype)
            n_init = self.n_init if do_init else 1
            n_threads = self.n_threads or available_threads()
            self._prepare_fit(X, sample_weight, start_data, path, chunk, n_threads)
            if do_init:
                runs = self._distinct_starts(start_data, random_state, chunk, n_init)
            else:
                runs = [Start(0, self._fitted_state(), self.lower_bound_,
                              getattr(self, "_relaxation", None))]
        return _FitPlan(X, sample_weight, runs, dtype, chunk, n_threads, path.em_statistics,
                        n_init)

    def _fit_finish(self, plan, results):
        """Keep the best of the runs' ``results`` (:class:`~gaussmix.estimators.batch.Finished`)
        as the fitted state; returns ``self``."""
        best = None
        for finished in results:
            result = finished.result
            if self.verbose:
                logger.info(
                    "Initialization %d %s after %d iterations, %.3fs, lower bound %.8g",
                    finished.init, "converged" if result.converged else "did not converge",
                    result.n_iter, finished.seconds, result.lower_bound,
                )
            if best is None or result.lower_bound > best.lower_bound:
                best = result
        if not best.converged and self.max_iter > 0:
            warn_convergence(
                # scikit-learn's sentence (its tests match it), then what happened
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data. "
                f"(Best of {plan.n_init} initialisation(s); did not converge in {self.max_iter} "
                f"iterations ({tol_text(self.tol)}): try a larger max_iter or tol, or check the "
                "data's scaling and duplicated points.)",
                stacklevel=4,
            )
        self._store_state(best.state, plan.dtype)
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = float(best.lower_bound)
        self.lower_bounds_ = [float(v) for v in best.history]
        self._relaxation = best.relaxation  # what a warm start continues
        return self

    def _distinct_starts(self, start_data, random_state, chunk, n_init):
        """The :class:`~gaussmix.estimators.batch.Start` of every initialisation whose start
        differs from the earlier ones' (EM is deterministic: the same start is the same run
        again)."""
        runs, seen = [], []
        for init in range(n_init):
            state = self._initial_state(*start_data, random_state, chunk, init=init)
            if _seen_before(state, seen):
                if self.verbose:
                    logger.info("Initialization %d: the same start as an earlier one", init)
                continue
            runs.append(Start(init, state))
        return runs

    def _run_all(self, plan):
        """Yield the :class:`~gaussmix.estimators.batch.Finished` EM from each of the plan's runs, side by
        side when they are batched (:mod:`.batch`; ``seconds`` is then the batch's), else one
        after the other."""
        X, sample_weight, runs = plan.X, plan.sample_weight, plan.runs
        # The first start runs alone, exactly as with n_init=1, and the others side by side:
        # batched sums come in another order, and n_init > 1 must never return a fit (by one
        # unit in the last place) worse than n_init=1's (scikit-learn's test_multiple_init).
        alone, batched = runs[:1], runs[1:]
        if len(batched) > 1 and self._batchable(X, plan.statistics, batched[0].state):
            yield from self._run_one_by_one(plan, alone)
            start_time = time.perf_counter()
            results = self._iterate_batched(X, sample_weight, [start.state for start in batched],
                                            self.max_iter, self.tol, plan.dtype, plan.chunk,
                                            plan.n_threads, plan.statistics,
                                            bounds=[start.lower_bound for start in batched])
            seconds = time.perf_counter() - start_time
            for start, result in zip(batched, results):
                if self.verbose:
                    logger.info("Initialization %d", start.init)
                yield Finished(start.init, result, seconds)
            return
        yield from self._run_one_by_one(plan, runs)

    def _run_one_by_one(self, plan, runs):
        for start in runs:
            if self.verbose:
                logger.info("Initialization %d", start.init)
            start_time = time.perf_counter()
            result = self._iterate(plan.X, plan.sample_weight, start.state, start.lower_bound,
                                   self.max_iter, self.tol, plan.dtype, plan.chunk,
                                   plan.n_threads, plan.statistics, start_time, start.relaxation)
            yield Finished(start.init, result, time.perf_counter() - start_time)

    def _iterate(self, X, sample_weight, state, lower_bound, max_iter, tol, dtype, chunk,
                 n_threads=1, statistics=None, start_time=None, relaxation=None):
        """At most ``max_iter`` EM iterations from ``state`` on their own (the loop of
        :func:`~gaussmix.estimators.batch.iterate_alone`); stops by the
        :class:`~gaussmix.engine.convergence.StoppingRule` of ``tol`` (``None``: the relative
        rule; ``-inf``: never). Returns a :class:`~gaussmix.estimators.batch.RunResult`.

        With ``start_time`` (a ``perf_counter`` value), ``verbose >= 2`` logs every
        ``verbose_interval`` iterations; ``relaxation``: that of the run a warm start continues.
        """
        run = Run(self, state, max_iter, self._stopping_rule(X, sample_weight, tol),
                  lower_bound, dtype, start_time, relaxation)
        iterate_alone([run], X, sample_weight, dtype, chunk, n_threads, statistics)
        return run.result()

    def _stopping_rule(self, X, sample_weight, tol):
        """The :class:`~gaussmix.engine.convergence.StoppingRule` of EM on ``X`` with ``tol``."""
        min_rows = self._covariance_model.own_parameters(X.shape[1]) + 1
        return StoppingRule.of_fit(tol, weight_total(X, sample_weight), min_rows,
                                   getattr(self, "reg_covar", 0.0))

    def fit_predict(self, X: ArrayLike, y: object = None,
                    sample_weight: ArrayLike | None = None) -> IntArray:
        """Fit, then label ``X``; always equal to ``fit(X).predict(X)``."""
        return self.fit(X, sample_weight=sample_weight).predict(X)

    # ------------------------------------------------------------------ inference
    def _iter_e_step(self, X):
        """Iterate ``(start, stop, resp, log_norm)`` over chunks of validated ``X``.

        ``resp`` is a reused buffer: consume or copy it before the next step.
        """
        dtype = np.result_type(X.dtype, self.means_.dtype).type
        kernel = self._kernel(self._fitted_state(), dtype)
        return iter_e_step(kernel, X, self._chunk_rows(X.shape[1], dtype))

    def score_samples(self, X: ArrayLike) -> FloatArray:
        """Log-density ``log p(x)`` of each row, shape ``(n_samples,)`` (lazy for Dask input)."""
        if is_dask_collection(X):
            return data_path_for(X).apply(self, X, "score_samples")
        X = self._validate_predict_input(X)
        parts = [log_norm for _, _, _, log_norm in self._iter_e_step(X)]
        return np.concatenate(parts) if parts else np.empty(0)

    def score(self, X: ArrayLike, y: object = None) -> float:
        """Mean log-likelihood per sample of ``X``."""
        return float(np.mean(self.score_samples(X), dtype=np.float64))

    def predict_proba(self, X: ArrayLike) -> FloatArray:
        """Responsibilities (posterior probability of each component), shape ``(n_samples, K)``;
        with a noise component, its probability is one more, last column.

        A Dask array in gives a lazy Dask array out.
        """
        if is_dask_collection(X):
            return data_path_for(X).apply(self, X, "predict_proba")
        X = self._validate_predict_input(X)
        out = np.empty((X.shape[0], self._n_columns()), dtype=self._result_dtype(X))
        for start, stop, resp, _ in self._iter_e_step(X):
            out[start:stop] = resp
        return out

    def _n_columns(self):
        """Columns of :meth:`predict_proba`: one per component, and the noise component's."""
        noise_on = getattr(self, "_noise_on", None)
        return self.n_components + int(bool(noise_on and noise_on()))

    def _result_dtype(self, X):
        return np.result_type(X.dtype, self.means_.dtype)

    def predict(self, X: ArrayLike) -> IntArray:
        """Most probable component of each row, ``-1`` for the noise component (a lazy Dask
        array for Dask input)."""
        if is_dask_collection(X):
            return data_path_for(X).apply(self, X, "predict")
        X = self._validate_predict_input(X)
        out = np.empty(X.shape[0], dtype=np.intp)
        for start, stop, resp, _ in self._iter_e_step(X):
            out[start:stop] = resp.argmax(axis=1)
        if self._n_columns() > self.n_components:  # the noise component's label
            out[out == self.n_components] = -1
        return out

    def sample(self, n_samples: int = 1) -> tuple[FloatArray, IntArray]:
        """Draw ``n_samples`` points; returns ``(X, y)`` with the component of each point
        (``-1``: the noise component's, drawn uniformly over its region).

        Uses ``random_state`` exactly as scikit-learn does.
        """
        check_is_fitted(self, "means_")
        if not is_int(n_samples) or n_samples < 1:
            raise ValueError(f"Invalid value for 'n_samples': {n_samples!r}; it must be an integer >= 1.")
        rng = check_random_state(self.random_state)
        weights = self.weights_.astype(np.float64)
        noise = self._n_columns() > self.n_components
        if noise:  # the noise component's rows last, labelled -1
            weights = np.append(weights, max(0.0, 1.0 - weights.sum()))
        counts = rng.multinomial(n_samples, weights)
        k = self.n_components
        means = self.means_.astype(np.float64)
        covariances = self.covariances_.astype(np.float64)
        parts = self._covariance_model.sample(rng, means, covariances, counts[:k])
        parts = self._sample_family(rng, parts, means)
        labels = [np.full(n, j, dtype=int) for j, n in enumerate(counts[:k])]
        if noise:
            parts.append(self._sample_noise(rng, counts[k]))
            labels.append(np.full(counts[k], -1, dtype=int))
        X = np.vstack(parts).astype(self.means_.dtype)
        return X, np.concatenate(labels)

    def _sample_family(self, rng, parts, means):
        """Rows of a family other than the Gaussian from Gaussian ``parts`` (one array per
        component); the Gaussian family's as they are."""
        return list(parts)


_STREAMS = threading.local()


@contextmanager
def _random_stream(seed):
    """``check_random_state(seed)`` for the duration of the context. An integer seeds this
    thread's reused ``RandomState`` (the same stream as a new one: seeding takes 1 us, making
    one 90 us, which a small-data fit with deterministic starts spends on nothing else)."""
    if not is_int(seed) or getattr(_STREAMS, "busy", False):
        yield check_random_state(seed)
        return
    if not hasattr(_STREAMS, "stream"):
        _STREAMS.stream = np.random.RandomState()
    _STREAMS.stream.seed(seed)  # a bad seed raises RandomState's own error
    _STREAMS.busy = True
    try:
        yield _STREAMS.stream
    finally:
        _STREAMS.busy = False


def _seen_before(state, seen):
    """Whether the start ``state`` (a state record) equals one in ``seen``; adds it if not."""
    arrays = state_arrays(state)
    for other in seen:
        if all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(arrays, other)):
            return True
    seen.append(arrays)
    return False


@dataclass
class _FitPlan:
    """What :meth:`BaseMixture._fit_plan` prepares for EM: the validated rows, the runs (their
    :class:`~gaussmix.estimators.batch.Start`), and how their statistics are computed."""

    X: object
    sample_weight: object
    runs: list
    dtype: type
    chunk: int
    n_threads: int
    statistics: object
    n_init: int
