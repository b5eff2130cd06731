"""EM runs side by side: the starts of one fit iterated together, one E-step pass for all.

On small data an EM iteration costs the Python and NumPy call overhead of its few dozen array
operations, not arithmetic: iris at K=3 spends ~0.2 ms per iteration whatever the rows hold. The
default search runs several starts to convergence (and screens many more for a few steps), so
:class:`BatchedRuns` iterates them as one kernel of ``S x K`` components
(:func:`gaussmix.engine.estep.stacked_kernel`, each mixture normalised on its own) and gives
each run its own M-step, convergence test and history. A run's result is the one it reaches
iterated alone, up to rounding; a run that converges leaves the batch.

Runs are batched on data held in memory or memory-mapped of at most ``BATCH_ROWS`` rows (above
that an iteration is arithmetic, and batching saves nothing), for estimators that supply
``_kernel_terms``, and on rows without missing values; otherwise, or with ``verbose >= 2``
(whose per-iteration log follows one run), they run one after the other.
"""

from __future__ import annotations

import numpy as np

from ..engine.em import e_step
from ..engine.estep import em_statistics, stacked_kernel
from ..engine.kernel import chunk_rows
from ..engine.stats import split_groups

# Batched runs pay on at most this many rows (above it an iteration is arithmetic).
BATCH_ROWS = 50_000
# Components of one stacked kernel at most (bounds a chunk's buffers); more runs form more batches.
BATCH_COMPONENTS = 256


class BatchedRuns:
    """Mixin of :class:`~gaussmix.estimators.base.BaseMixture`: several EM runs at once."""

    def _kernel_terms(self, state):
        """``(log_weights, means, prec_chol)`` of a state for a stacked kernel; ``None`` (the
        default) when the estimator's E-step is not that of a plain mixture (no batching)."""
        return

    def _m_step_batch(self, stats, states, dtype):
        """``[(state, lower_bound), ...]``: the M-steps of runs from ``states`` in one pass
        over their stacked statistics, or ``None`` (the default) to take them one run at a
        time. May raise ``ValueError`` (the runs are then stepped one at a time)."""
        return

    def _holds_missing(self, X):
        """Whether EM on ``X`` meets missing values (never, unless the estimator takes them)."""
        return False

    def _batchable(self, X, statistics, state):
        """Whether runs from ``state`` on ``X`` through the data path's ``statistics`` are
        batched."""
        return (statistics in (None, em_statistics) and X.shape[0] <= BATCH_ROWS
                and self.verbose < 2 and self._kernel_terms(state) is not None
                and not self._holds_missing(X))

    def _iterate_runs(self, X, sample_weight, states, max_iter, tol, dtype, chunk,
                      n_threads=1, statistics=None, drop_failed=False):
        """:meth:`_iterate` of every state in ``states``, batched when :meth:`_batchable`.

        Returns one ``(state, lower_bound, n_iter, converged, history)`` per state, in order.
        A run whose step raises ``ValueError`` (a collapse) raises it, or with ``drop_failed``
        gives ``None`` instead.
        """
        if len(states) < 2 or not self._batchable(X, statistics, states[0]):
            return [self._run_alone(X, sample_weight, state, max_iter, tol, dtype, chunk,
                                    n_threads, statistics, drop_failed) for state in states]
        runs = [_Run(state) for state in states]
        per_run = len(states[0][1])  # components of each run
        size = max(1, BATCH_COMPONENTS // per_run)
        for n_iter in range(1, max_iter + 1):
            active = [run for run in runs if run.active]
            if not active:
                break
            for lo in range(0, len(active), size):
                self._batch_step(X, sample_weight, active[lo : lo + size], n_iter, tol, dtype,
                                 chunk, n_threads, statistics, drop_failed)
        return [run.result() for run in runs]

    def _run_alone(self, X, sample_weight, state, max_iter, tol, dtype, chunk, n_threads,
                   statistics, drop_failed):
        try:
            return self._iterate(X, sample_weight, state, -np.inf, max_iter, tol, dtype, chunk,
                                 n_threads, statistics)
        except ValueError:
            if drop_failed:
                return None
            raise

    def _batch_step(self, X, sample_weight, runs, n_iter, tol, dtype, chunk, n_threads,
                    statistics, drop_failed):
        """One EM iteration of ``runs`` (all active) in one stacked E-step."""
        model = self._covariance_model
        terms = [self._kernel_terms(run.state) for run in runs]
        weights, means = runs[0].state[0], runs[0].state[1]
        shift = weights @ means  # every run's mixture mean is the data's after one M-step
        rows = chunk
        if self.chunk_size is None:
            rows = chunk_rows(X.shape[1], len(runs) * len(means), model.family,
                              np.dtype(dtype).itemsize)
        try:
            stats = e_step(lambda far: stacked_kernel(model, terms, shift, dtype, far),
                           X, sample_weight, dtype, rows, n_threads, statistics)
        except ValueError:  # the runs one at a time find which one fails
            for run in runs:
                run.step_alone(self, X, sample_weight, n_iter, tol, dtype, chunk, n_threads,
                               statistics, drop_failed)
            return
        try:
            stepped = self._m_step_batch(stats, [run.state for run in runs], dtype)
        except ValueError:  # some run failed: the one-at-a-time steps below say which
            stepped = None
        if stepped is not None:
            for run, (state, bound) in zip(runs, stepped):
                run.advance(state, bound, n_iter, tol)
            return
        for run, part in zip(runs, split_groups(stats, len(runs), model.family)):
            try:
                state, bound = self._m_step(part, run.state, dtype)
            except ValueError:
                if not drop_failed:
                    raise
                run.failed = True
                continue
            run.advance(state, bound, n_iter, tol)


class _Run:
    """The progress of one EM run of a batch (what ``_iterate`` keeps for one run)."""

    __slots__ = ("bound", "converged", "failed", "history", "n_iter", "state")

    def __init__(self, state):
        self.state, self.bound, self.history = state, -np.inf, []
        self.n_iter, self.converged, self.failed = 0, False, False

    @property
    def active(self):
        return not (self.converged or self.failed)

    def advance(self, state, bound, n_iter, tol):
        previous = self.bound
        self.state, self.bound, self.n_iter = state, bound, n_iter
        self.history.append(bound)
        if abs(bound - previous) < tol:
            self.converged = True

    def step_alone(self, estimator, X, sample_weight, n_iter, tol, dtype, chunk, n_threads,
                   statistics, drop_failed):
        """This run's iteration ``n_iter`` on its own (when the batch's E-step failed)."""
        try:
            state, bound, _, _, _ = estimator._iterate(
                X, sample_weight, self.state, self.bound, 1, -np.inf, dtype, chunk, n_threads,
                statistics,
            )
        except ValueError:
            if not drop_failed:
                raise
            self.failed = True
            return
        self.advance(state, bound, n_iter, tol)

    def result(self):
        if self.failed:
            return None
        return self.state, self.bound, self.n_iter, self.converged, self.history
