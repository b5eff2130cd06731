"""Starts and the ``n_init`` search of the default start, shared by every estimator.

A start is the state after one M-step on starting responsibilities (a strategy of
:mod:`gaussmix.engine.starts`), as in scikit-learn's ``_initialize``. With the default
``init_params='hierarchical'`` and ``n_init > 1`` the initialisations form a search:

* 0: hierarchical (Ward) agglomeration, so ``n_init > 1`` never ends lower than ``n_init=1``;
* 1: Ward on whitened rows (a Mahalanobis merge cost); it also screens the pool below;
* 2: model-based (VVV) agglomeration;
* 3 and on: the leaders of an "emEM" pool (Biernacki, Celeux & Govaert 2003): ``8 * (n_init -
  1)`` starts of several kinds each run 20 EM steps (on a subsample of large data) and
  ``n_init - 3`` distinct ones, the kinds taking turns, go on to full runs.

The estimator supplies ``_state_from_statistics`` (its first M-step) and its EM iteration; the
search is the same for all of them.
"""

from __future__ import annotations

import copy

import numpy as np

from ..engine.estep import resp_statistics
from ..engine.starts import (
    INITIALIZERS_ALL,
    MODEL_BASED_START,
    WHITENED_START,
    pick_screened,
    screen_plan,
    screening_rows,
)
from ..engine.stats import cancelled_components, recentre_from_responsibilities

# Initialisations 0, 1, 2 of the default search are the deterministic hierarchical starts.
N_DETERMINISTIC = 3


class StartSearch:
    """Mixin of :class:`~gaussmix.estimators.base.BaseMixture`: starts and the start search."""

    def _start_statistics(self, strategy, X, sample_weight, random_state):
        """Statistics of the starting responsibilities of ``strategy`` (one pass over ``X``)."""
        k, dtype = self.n_components, X.dtype.type
        family = self._covariance_model.family
        shift = np.asarray(X[: min(len(X), 4096)], dtype=np.float64).mean(axis=0)
        state = copy.deepcopy(random_state)  # to replay the same responsibilities if needed
        resp_chunks = INITIALIZERS_ALL[strategy](X, sample_weight, k, random_state, dtype)
        stats = resp_statistics(X, sample_weight, resp_chunks, k, family, shift, dtype)
        cancelled = cancelled_components(stats, dtype)
        if cancelled.size:  # a tight cluster far from the shift: its moments around its mean
            replay = INITIALIZERS_ALL[strategy](X, sample_weight, k, state, dtype)
            stats = recentre_from_responsibilities(stats, X, sample_weight, replay, cancelled)
        return stats

    def _start_from(self, strategy, X, sample_weight, random_state):
        """The state after one M-step on the responsibilities of ``strategy``."""
        stats = self._start_statistics(strategy, X, sample_weight, random_state)
        return self._state_from_statistics(stats, X.dtype.type)

    def _searched_start(self, X, sample_weight, random_state, chunk, init):
        """Start ``init >= 1`` of the default search (see the module docstring).

        ``init == 1`` is the hierarchical start on whitened rows; it also screens the pool
        (:meth:`_screen_starts`), kept until the last initialisation. ``init == 2`` is the
        model-based (VVV) agglomeration; ``init >= 3`` take their starts from the pool. When the
        pool runs out (every screened start collapsed), the hierarchical start is used.
        """
        strategy = "hierarchical"
        if init == 1:
            strategy = WHITENED_START
            if self.n_init > N_DETERMINISTIC:
                self._screen_pool = self._screen_starts(X, sample_weight, random_state, chunk)
        elif init == 2:
            strategy = MODEL_BASED_START
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
        """emEM screening: up to ``n_init - 3`` distinct starts for full EM runs.

        ``8 * (n_init - 1)`` starts of several kinds each run a few EM steps (on a subsample of
        large data); :func:`gaussmix.engine.starts.pick_screened` chooses among them. A start
        whose component collapses is discarded.
        """
        rows = screening_rows(X.shape[0], random_state)
        if rows is not None:
            X = np.asarray(X[rows])
            sample_weight = None if sample_weight is None else sample_weight[rows]
        strategies, n_iter = screen_plan(self.n_init - 1)
        dtype = X.dtype.type
        found = []
        for strategy in strategies:
            try:
                state = self._start_from(strategy, X, sample_weight, random_state)
                state, bound, _, _, _ = self._iterate(
                    X, sample_weight, state, -np.inf, n_iter, self.tol, dtype, chunk
                )
            except ValueError:  # a collapsed start is simply not a candidate
                continue
            if np.isfinite(bound):
                found.append((bound, strategy, state))
        return pick_screened(found, self.n_init - N_DETERMINISTIC)
