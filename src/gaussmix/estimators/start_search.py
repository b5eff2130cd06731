"""Starts and the ``n_init`` search of the default start, shared by every estimator.

A start is the state after one M-step on starting responsibilities (a strategy of
:mod:`gaussmix.engine.starts`), as in scikit-learn's ``_initialize``. With the default
``init_params='hierarchical'`` and ``n_init > 1`` the initialisations form a search:

* 0: hierarchical (Ward) agglomeration, so ``n_init > 1`` never ends lower than ``n_init=1``
  (beyond rounding);
* 1: Ward on whitened rows (a Mahalanobis merge cost); it also screens the pool below;
* 2: model-based (VVV) agglomeration;
* 3: mclust's own start: VVV agglomeration with mclust's trace-regularised criterion on the
  scaled SVD of the data;
* 4 and on: the leaders of an "emEM" pool (Biernacki, Celeux & Govaert 2003): ``8 * (n_init -
  1)`` starts of several kinds each run 20 EM steps (on a subsample of large data) and
  ``n_init - 4`` distinct ones, the kinds taking turns, go on to full runs.

The estimator supplies ``_state_from_statistics`` (its first M-step) and its EM iteration; the
search is the same for all of them.
"""

from __future__ import annotations

import copy
import threading
from contextlib import contextmanager

import numpy as np

from ..engine.em import m_step
from ..engine.estep import resp_statistics
from ..engine.kmeans import kmeans_draws, kmeans_side_by_side
from ..engine.starts import (
    INITIALIZERS,
    INITIALIZERS_ALL,
    KMEANS_SIDE_BY_SIDE_ROWS,
    MCLUST_START,
    MODEL_BASED_START,
    WHITENED_START,
    labelled,
    pick_screened,
    screen_plan,
    screening_rows,
)
from ..engine.state import MixtureState
from ..engine.stats import cancelled_components, recentre_from_responsibilities
from ..engine.validation import as_float_array

# Initialisations 0 to 3 of the default search are the deterministic hierarchical starts.
DETERMINISTIC_STARTS = ("hierarchical", WHITENED_START, MODEL_BASED_START, MCLUST_START)
N_DETERMINISTIC = len(DETERMINISTIC_STARTS)
# init_params values: scikit-learn's and the hierarchical start.
INIT_PARAMS = tuple(INITIALIZERS)
# Those whose initialisations >= 1 form the search above.
SEARCH_PARAMS = ("hierarchical",)
# Starting responsibilities of at most this many entries (rows x components) are kept for a
# second pass over them, instead of being drawn again from a saved random stream.
KEPT_RESPONSIBILITIES = 1 << 20


_SHARED = threading.local()


@contextmanager
def starts_shared():
    """Within it (in this thread), fits on the same rows take one another's start statistics
    instead of computing them again: a model-selection grid's covariance models start from the
    same partitions at each number of components (the statistics depend on the covariance model
    only through its kernel family). Only starts that draw nothing from the random stream are
    shared (the hierarchical ones; a start that drew once draws again), so every fit is the
    one it would be alone."""
    before = getattr(_SHARED, "starts", None)
    _SHARED.starts = {}
    try:
        yield
    finally:
        _SHARED.starts = before


def _shared_key(strategy, X, sample_weight, k, family, dtype):
    """The key of a start's statistics within :func:`starts_shared` (``None`` outside it, or
    for a start given as a function)."""
    if getattr(_SHARED, "starts", None) is None or not isinstance(strategy, str):
        return None
    return strategy, k, family, np.dtype(dtype).str, id(X), X.shape, id(sample_weight)


def _stream_position(random_state):
    """Where ``random_state`` stands (``None`` for a stream that cannot say)."""
    if not isinstance(random_state, np.random.RandomState):
        return None
    _, keys, position, *rest = random_state.get_state()
    return keys.tobytes(), position, tuple(rest)


class StartSearch:
    """Mixin of :class:`~gaussmix.estimators.driver.BaseMixture`: starts and the start search."""

    def _start_statistics(self, strategy, X, sample_weight, random_state):
        """Statistics of the starting responsibilities of ``strategy`` (a name of
        :data:`~gaussmix.engine.starts.INITIALIZERS_ALL`, or such a function) in one pass
        over ``X``."""
        k, dtype = self.n_components, X.dtype.type
        family = self._covariance_model.family
        key = _shared_key(strategy, X, sample_weight, k, family, dtype)
        if key is not None and key in _SHARED.starts:
            return _SHARED.starts[key]
        before = _stream_position(random_state) if key is not None else None
        stats = self._new_start_statistics(strategy, X, sample_weight, random_state)
        if before is not None and _stream_position(random_state) == before:
            _SHARED.starts[key] = stats  # (it drew nothing: the same for any stream)
        return stats

    def _new_start_statistics(self, strategy, X, sample_weight, random_state):
        """:meth:`_start_statistics`, computed."""
        k, dtype = self.n_components, X.dtype.type
        family = self._covariance_model.family
        shift = np.asarray(X[: min(len(X), 4096)], dtype=np.float64).mean(axis=0)
        # a second pass needs the same responsibilities: kept when small, else drawn again
        kept = X.shape[0] * k <= KEPT_RESPONSIBILITIES
        saved = None if kept else _saved_stream(random_state)
        initializer = strategy if callable(strategy) else INITIALIZERS_ALL[strategy]
        resp_chunks = initializer(X, sample_weight, k, random_state, dtype)
        if kept:
            resp_chunks = list(resp_chunks)
        stats = resp_statistics(X, sample_weight, resp_chunks, k, family, shift, dtype)
        cancelled = cancelled_components(stats, dtype)
        if cancelled.size:  # a tight cluster far from the shift: its moments around its mean
            replay = resp_chunks if kept else initializer(X, sample_weight, k, saved(), dtype)
            stats = recentre_from_responsibilities(stats, X, sample_weight, replay, cancelled)
        return stats

    def _default_start(self, X, sample_weight, random_state, chunk, init):
        """The state of initialisation ``init`` when no ``*_init`` is given: the search (see
        the module docstring) or one start of ``init_params``."""
        if init > 0 and self.init_params in SEARCH_PARAMS:
            return self._searched_start(X, sample_weight, random_state, chunk, init)
        return self._start_from(self.init_params, X, sample_weight, random_state)

    def _given_start(self):
        """Whether the user gave any of ``weights_init``, ``means_init``, ``precisions_init``."""
        return any(v is not None for v in (self.weights_init, self.means_init,
                                           self.precisions_init))

    def _gaussian_start(self, X, sample_weight, random_state):
        """The :class:`~gaussmix.engine.state.MixtureState` (float64) of a Gaussian mixture:
        one M-step on the ``init_params`` responsibilities, with the user's ``*_init`` in place
        of the parts they give (none of the start is computed when all three are given)."""
        model = self._covariance_model
        k, n_features = self.n_components, X.shape[1]
        given = (self.weights_init, self.means_init, self.precisions_init)
        if any(v is None for v in given):
            stats = self._start_statistics(self.init_params, X, sample_weight, random_state)
            eps = 10 * np.finfo(X.dtype.type).eps
            weights, means, covariances = m_step(stats, model, self.reg_covar, eps)
        if self.weights_init is not None:
            weights = as_float_array(self.weights_init, "weights_init").astype(np.float64)
        if self.means_init is not None:
            means = as_float_array(self.means_init, "means_init").astype(np.float64)
        if self.precisions_init is None:
            prec_chol = model.precision_cholesky(covariances)
        else:
            precisions = model.check_precisions(self.precisions_init, k, n_features)
            prec_chol = model.cholesky_from_precisions(precisions)
            covariances = model.covariances_from_cholesky(prec_chol)
        return MixtureState(weights, means, covariances, prec_chol)

    def _start_from(self, strategy, X, sample_weight, random_state):
        """The state after one M-step on the responsibilities of ``strategy``."""
        stats = self._start_statistics(strategy, X, sample_weight, random_state)
        return self._state_from_statistics(stats, X.dtype.type)

    def _searched_start(self, X, sample_weight, random_state, chunk, init):
        """Start ``init >= 1`` of the default search (see the module docstring).

        ``init == 1`` is the hierarchical start on whitened rows; it also screens the pool
        (:meth:`_screen_starts`), kept until the last initialisation. ``init == 2`` and ``3``
        are the model-based (VVV) agglomerations; later ones take their starts from the pool.
        When the pool runs out (every screened start collapsed), the hierarchical start is used.
        """
        strategy = "hierarchical"
        if init < N_DETERMINISTIC:
            strategy = DETERMINISTIC_STARTS[init]
            if init == 1 and self.n_init > N_DETERMINISTIC:
                self._screen_pool = self._screen_starts(X, sample_weight, random_state, chunk)
        else:
            pool = getattr(self, "_screen_pool", None) or []
            if init - N_DETERMINISTIC < len(pool):
                strategy = None
                state = pool[init - N_DETERMINISTIC]
        if init == self.n_init - 1:
            self.__dict__.pop("_screen_pool", None)  # not part of the fitted state
        if strategy is None:
            return state
        return self._start_from(strategy, X, sample_weight, random_state)

    def _screen_starts(self, X, sample_weight, random_state, chunk):
        """emEM screening: up to ``n_init - 4`` distinct starts for full EM runs.

        ``8 * (n_init - 1)`` starts of several kinds each run a few EM steps (on a subsample of
        large data); :func:`gaussmix.engine.starts.pick_screened` chooses among them. A start
        whose component collapses is discarded.
        """
        rows = screening_rows(X.shape[0], random_state)
        if rows is not None:
            X = np.asarray(X[rows])
            sample_weight = None if sample_weight is None else sample_weight[rows]
        plan, n_iter = screen_plan(self.n_init - 1)
        # small data: the k-means starts run side by side after the loop, from the random
        # numbers their seeding draws where it stands in the plan (engine.kmeans)
        side_by_side = X.shape[0] <= KMEANS_SIDE_BY_SIDE_ROWS
        strategies, states, kmeans = [], [], []
        for strategy in plan:
            if side_by_side and strategy == "kmeans":
                kmeans.append((len(states), random_state.random_sample(
                    kmeans_draws(self.n_components))))
                states.append(None)
            else:
                try:
                    states.append(self._start_from(strategy, X, sample_weight, random_state))
                except ValueError:  # a collapsed start is simply not a candidate
                    continue
            strategies.append(strategy)
        if kmeans:
            labels = kmeans_side_by_side(X, sample_weight, self.n_components,
                                         [draws for _, draws in kmeans])
            for (at, _), run in zip(kmeans, labels):
                try:
                    states[at] = self._start_from(labelled(run), X, sample_weight, random_state)
                except ValueError:
                    pass
        strategies = [s for s, state in zip(strategies, states) if state is not None]
        states = [state for state in states if state is not None]
        # plain EM: the screen compares starts after the same number of EM steps
        results = self._iterate_runs(X, sample_weight, states, n_iter, self.tol, X.dtype.type,
                                     chunk, drop_failed=True, plain=True)
        found = [(result.lower_bound, strategy, result.state)
                 for strategy, result in zip(strategies, results)
                 if result is not None and np.isfinite(result.lower_bound)]
        return pick_screened(found, self.n_init - N_DETERMINISTIC)


def _saved_stream(random_state):
    """A function returning a copy of ``random_state`` as it is now (a ``RandomState``'s state
    is read in microseconds; a deep copy of one costs half a millisecond)."""
    if isinstance(random_state, np.random.RandomState):
        state = random_state.get_state()

        def replay():
            stream = np.random.RandomState()
            stream.set_state(state)
            return stream

        return replay
    saved = copy.deepcopy(random_state)
    return lambda: copy.deepcopy(saved)
