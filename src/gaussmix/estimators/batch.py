"""EM runs side by side: the starts of a fit (or of several fits) iterated together, one E-step
pass and one M-step pass for all.

On small data an EM iteration costs the Python and NumPy call overhead of its few dozen array
operations, not arithmetic: iris at K=3 spends ~0.2 ms per iteration whatever the rows hold. The
default search runs several starts to convergence (and screens many more for a few steps), and a
model selection grid fits every covariance type at every number of components, so runs are
iterated as one kernel of all their components, mixtures of any sizes
(:func:`gaussmix.engine.estep.terms_kernel`, each mixture normalised on its own), with one
M-step pass for the runs of all the estimators of one class (their ``_m_step_side_by_side``,
:func:`gaussmix.engine.em.stacked_m_step`) whose result gives the next kernel's terms, while
each run keeps its own convergence test and history. A run's result is the one it reaches
iterated alone, up to the order of BLAS's sums; a run that converges leaves the batch.

* :meth:`BatchedRuns._iterate_runs`: the runs of one estimator (its ``n_init`` starts, the
  screened pool);
* :func:`fit_side_by_side`: whole fits of several estimators on the same rows
  (``select_model`` fits its whole grid this way).

Runs are batched on data held in memory or memory-mapped of at most ``BATCH_ROWS`` rows (above
that an iteration is arithmetic, and batching saves nothing), for estimators that supply
``_kernel_terms``, and on rows without missing values; otherwise, or with ``verbose >= 2``
(whose per-iteration log follows one run), they run one after the other.
"""

from __future__ import annotations

import copy
import time
from dataclasses import replace
from functools import partial
from itertools import groupby

import numpy as np

from ..engine.em import e_step
from ..engine.estep import (
    em_statistics,
    resident_rows,
    single_threaded_blas,
    stacked_terms,
    terms_kernel,
)
from ..engine.layout import chunk_rows
from ..engine.stats import components_of, split_groups
from .em_loop import Finished, Run, iterate_alone, rows_held_by_ridge
from .relaxed_steps import plain_instead, relaxed_statistics

# Batched runs pay on at most this many rows (above it an iteration is arithmetic).
BATCH_ROWS = 50_000
# Components of one stacked kernel at most (bounds a chunk's buffers); more runs form more batches.
# A selection grid's runs (every covariance type, K = 1..9, four starts each) fit in one.
BATCH_COMPONENTS = 2048


class BatchedRuns:
    """Mixin of :class:`~gaussmix.estimators.driver.BaseMixture`: several EM runs at once."""

    def _kernel_terms(self, state):
        """``(weights, means, prec_chol, covariances)`` of a state for a stacked kernel
        (:func:`~gaussmix.engine.estep.stacked_kernel`); ``None`` (the default) when the
        estimator's E-step is not that of a plain mixture (no batching)."""
        return

    @classmethod
    def _m_step_side_by_side(cls, groups, stats, dtype):
        """The M-steps of the runs of several estimators of this class in one pass over their
        stacked statistics: ``groups`` holds ``(estimator, runs, components each, states)``
        in stacking order, ``states()`` giving the runs' states. Returns ``(stepped, terms)``:
        ``stepped`` holds each group's
        ``(lower_bounds, state_of)``, ``state_of(g)`` giving the new state of its run ``g``
        (made only when asked for), and ``terms`` the
        :class:`~gaussmix.engine.estep.StackedTerms` of the new states (the next stacked
        E-step's); or ``None`` (the default) to step each run on its own. May raise
        ``ValueError`` (the runs are then stepped one at a time)."""
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
                      n_threads=1, statistics=None, drop_failed=False, plain=False):
        """:meth:`_iterate` of every state in ``states``, batched when :meth:`_batchable`
        (``plain``: plain EM steps only, no over-relaxed ones).

        Returns one ``(state, lower_bound, n_iter, converged, history)`` per state, in order.
        A run whose step raises ``ValueError`` (a collapse) raises it, or with ``drop_failed``
        gives ``None`` instead.
        """
        relaxation = False if plain else None
        if len(states) < 2 or not self._batchable(X, statistics, states[0]):
            rule = self._stopping_rule(X, sample_weight, tol)
            runs = [Run(self, state, max_iter, rule, dtype=dtype, relaxation=relaxation)
                    for state in states]
            iterate_alone(runs, X, sample_weight, dtype, chunk, n_threads, statistics,
                          drop_failed)
            return [run.result() for run in runs]
        return self._iterate_batched(X, sample_weight, states, max_iter, tol, dtype, chunk,
                                     n_threads, statistics, drop_failed, relaxation=relaxation)

    def _iterate_batched(self, X, sample_weight, states, max_iter, tol, dtype, chunk,
                         n_threads=1, statistics=None, drop_failed=False, bounds=None,
                         relaxation=None):
        """:meth:`_iterate_runs` of runs known to be batchable (``bounds``: the lower bound
        each starts from, for its first convergence test; ``-inf`` by default)."""
        bounds = [-np.inf] * len(states) if bounds is None else bounds
        rule = self._stopping_rule(X, sample_weight, tol)
        runs = [Run(self, state, max_iter, rule, bound, dtype, relaxation=relaxation)
                for state, bound in zip(states, bounds)]
        _iterate_side_by_side(runs, X, sample_weight, dtype, chunk, n_threads, statistics,
                              drop_failed)
        return [run.result() for run in runs]


def fit_side_by_side(estimators, X, sample_weight=None, each_alone=False, on_done=None):
    """Fit each of ``estimators`` on ``X`` (as ``estimator.fit(X, sample_weight=...)`` does),
    their EM runs side by side where they can be (see the module docstring).

    Every run of the estimators whose rows come out of validation with one dtype shares a
    batch, whatever its number of components (others are fitted one after the other).
    Returns, per estimator, the fitted estimator or the ``ValueError`` its fit raised (a
    collapse, bad parameters), so that one failure does not stop the others. Each fit equals
    ``estimator.fit`` up to rounding. With ``each_alone``, each entry is a pair: that outcome,
    and one function per run of the batch that did not fail (in the order of the
    initialisations), each returning a copy of the estimator with ``n_init=1`` fitted from that
    run alone (made only when asked for, as a fit rarely needs it), or ``None`` where the batch
    did not hold the estimator's runs.
    ``on_done(i)`` is called as the EM of estimator ``i`` ends (a progress bar).

    Examples
    --------
    >>> import gaussmix as gm
    >>> from gaussmix.estimators.batch import fit_side_by_side
    >>> X = gm.datasets.load_iris()
    >>> models = [gm.GaussianMixture(3, covariance_type=t, n_init=4, random_state=0)
    ...           for t in ("full", "tied", "diag", "spherical")]
    >>> fitted = fit_side_by_side(models, X)
    >>> [round(m.score(X), 3) for m in fitted]
    [-1.201, -1.709, -2.046, -2.562]
    """
    outcomes = [None] * len(estimators)
    alone = [None] * len(estimators)
    with single_threaded_blas():
        plans = {}
        for i, estimator in enumerate(estimators):
            try:
                plans[i] = estimator._fit_plan(X, sample_weight)
            except ValueError as err:
                outcomes[i] = err
        batched = {i: plan for i, plan in plans.items() if len(plan.runs) and
                   estimators[i]._batchable(plan.X, plan.statistics, plan.runs[0].state)}
        done = on_done or (lambda i: None)
        for i in range(len(estimators)):
            if i not in batched:
                if i in plans:
                    outcomes[i] = _finish_alone(estimators[i], plans[i])
                done(i)
        index = {id(estimator): i for i, estimator in enumerate(estimators)}

        def key(i):  # the runs of one batch: the same dtype
            return np.dtype(batched[i].dtype).str

        for _, members in groupby(sorted(batched, key=key), key=key):
            members = list(members)
            rules = {i: estimators[i]._stopping_rule(batched[i].X, batched[i].sample_weight,
                                                     estimators[i].tol) for i in members}
            runs = {i: [Run(estimators[i], start.state, estimators[i].max_iter, rules[i],
                             start.lower_bound, batched[i].dtype)
                        for start in batched[i].runs]
                    for i in members}
            lead = batched[members[0]]  # the rows, as its validation left them
            start = time.perf_counter()
            _iterate_side_by_side([run for i in members for run in runs[i]], lead.X,
                                  lead.sample_weight, lead.dtype, lead.chunk,
                                  lead.n_threads, lead.statistics, drop_failed=True,
                                  on_done=lambda owner: done(index[id(owner)]))
            seconds = time.perf_counter() - start
            for i in members:
                results = [Finished(start.init, run.result(), seconds)
                           for start, run in zip(batched[i].runs, runs[i])]
                if each_alone:
                    alone[i] = [partial(_one_alone, estimators[i], batched[i], j, finished)
                                for j, finished in enumerate(results)
                                if finished.result is not None]
                failed = [run.error for run in runs[i] if run.failed]
                outcomes[i] = failed[0] if failed else estimators[i]._fit_finish(batched[i],
                                                                                results)
    return list(zip(outcomes, alone)) if each_alone else outcomes


def _one_alone(estimator, plan, index, result):
    """A copy of ``estimator`` with ``n_init=1``, fitted from run ``index`` of its batch."""
    alone = copy.copy(estimator)  # the fit below replaces every fitted attribute it has
    alone.n_init = 1  # (scikit-learn's clone costs more than the fit on small data)
    return alone._fit_finish(replace(plan, runs=plan.runs[index:index + 1], n_init=1),
                             [result])


def _finish_alone(estimator, plan):
    try:
        return estimator._fit_finish(plan, estimator._run_all(plan))
    except ValueError as err:
        return err


def _iterate_side_by_side(runs, X, sample_weight, dtype, chunk, n_threads, statistics,
                          drop_failed, on_done=None):
    """Iterate ``runs`` (:class:`Run`) until each has converged, failed or reached its
    ``max_iter``, those still active in batches of at most ``BATCH_COMPONENTS`` components.
    ``on_done(owner)`` is called as the last run of each estimator stops."""
    # runs of one number of components next to each other: the kernel normalises each such
    # block of mixtures in one pass (responsibilities.normalize_groups)
    runs = sorted(runs, key=lambda run: run.k)
    components = min(BATCH_COMPONENTS, sum(run.k for run in runs))
    if runs[0].owner.chunk_size is None:
        chunk = chunk_rows(X.shape[1], components, "dense", np.dtype(dtype).itemsize)
    statistics = resident_rows(X, sample_weight, statistics, chunk, components)
    # every step's rows centred on the data's mean (each run's mixture mean after one M-step),
    # whatever the batch holds, so that small data is loaded once
    shift = np.average(np.asarray(X, dtype=np.float64), axis=0, weights=sample_weight)
    left, stopped = {}, set()  # runs still active per estimator; those that stopped
    for run in runs:
        left[id(run.owner)] = left.get(id(run.owner), 0) + 1
    n_iter = 0
    while True:
        n_iter += 1
        active = []
        for run in runs:
            if run.active(n_iter):
                active.append(run)
            elif on_done is not None and id(run) not in stopped:
                stopped.add(id(run))
                left[id(run.owner)] -= 1
                if not left[id(run.owner)]:
                    on_done(run.owner)
        if not active:
            return
        for batch in _batches(active):
            _batch_step(batch, X, sample_weight, n_iter, dtype, chunk, n_threads, statistics,
                        drop_failed, shift)


def _batches(runs):
    """Consecutive ``runs`` in groups of at most ``BATCH_COMPONENTS`` components (one run each
    at least)."""
    batch, components = [], 0
    for run in runs:
        k = run.k
        if batch and components + k > BATCH_COMPONENTS:
            yield batch
            batch, components = [], 0
        batch.append(run)
        components += k
    if batch:
        yield batch


def _batch_step(runs, X, sample_weight, n_iter, dtype, chunk, n_threads, statistics,
                drop_failed, shift):
    """One EM iteration of ``runs`` (all active) in one stacked E-step on the rows centred on
    ``shift``."""
    terms = _batch_terms(runs)
    try:
        stats = e_step(lambda far: terms_kernel(terms, shift, dtype, far),
                       X, sample_weight, dtype, chunk, n_threads, statistics)
    except ValueError:  # the runs one at a time find which one fails
        for run in runs:
            run.step_alone(X, sample_weight, n_iter, dtype, chunk, n_threads, statistics,
                           drop_failed)
        return
    groups = [(owner, list(members)) for owner, members in groupby(runs, key=lambda r: r.owner)]
    one_class = len({type(owner) for owner, _ in groups}) == 1
    stats, relaxed = relaxed_statistics(runs, stats, one_class)
    if relaxed is not None:
        if _m_steps_together(groups, relaxed, n_iter, dtype):
            return
        plain_instead(runs)  # a step failed: the plain steps below say which, if one still does
    if one_class and _m_steps_together(groups, stats, n_iter, dtype):
        return
    first, group = 0, 0
    for owner, members in groups:
        n, k = len(members), members[0].k
        part = components_of(stats, slice(group, group + n), slice(first, first + n * k),
                             owner._covariance_model.family)
        first, group = first + n * k, group + n
        _m_steps(owner, members, part, n_iter, dtype, drop_failed)


def _batch_terms(runs):
    """The stacked E-step terms of ``runs``: those their last M-step together gave (the
    components of the runs still active), else built from each run's state."""
    terms = runs[0].terms[0] if runs[0].terms is not None else None
    if terms is not None and all(run.terms is not None and run.terms[0] is terms
                                 for run in runs):
        if len(runs) == len(terms.sizes):  # every run of that step (runs keep their order)
            return terms
        sizes = [run.k for run in runs]
        first = np.repeat([run.terms[1] for run in runs], sizes)
        return terms.take(first + np.arange(len(first)) - np.repeat(np.cumsum(sizes) - sizes,
                                                                     sizes), sizes)
    models = [run.owner._covariance_model for run in runs]
    return stacked_terms(models, [run.owner._kernel_terms(run.state) for run in runs])


def _m_steps_together(groups, stats, n_iter, dtype):
    """The M-steps of every run of ``groups`` (``(estimator, runs)``, all estimators of one
    class) in one pass; whether it could be done so (else nothing changed)."""
    owner_class = type(groups[0][0])
    try:
        together = owner_class._m_step_side_by_side(
            [(owner, len(members), members[0].k,
              lambda members=members: [run.state for run in members])
             for owner, members in groups], stats, dtype)
    except ValueError:  # some run failed: the steps below say which
        return False
    if together is None:
        return False
    stepped, terms = together
    held = _held_by_ridge(groups, terms)
    at = 0
    for (owner, members), (bounds, state_of) in zip(groups, stepped):
        # an estimator's runs share its stopping rule and number of components
        span = slice(at, at + sum(run.k for run in members))
        rows = rows_held_by_ridge(owner._covariance_model, members[0].rule, stats.nk[span],
                                  stats.s1[span], stats.s2[span])
        for g, (run, bound) in enumerate(zip(members, bounds.tolist())):
            own = slice(at, at + run.k)
            run.advance_to(state_of, g, bound, n_iter, terms.weights[own],
                           (held is not None and bool(held[own].any()))
                           or (rows is not None and bool(rows[g * run.k:(g + 1) * run.k].any())))
            run.terms = (terms, at)
            at += run.k
    return True


def _held_by_ridge(groups, terms):
    """Per stacked component, whether its run's rule finds its covariance held up by the ridge
    (:meth:`~gaussmix.engine.convergence.StoppingRule.held`), in one pass where every run has
    the same rule (a selection grid); ``None`` where no run stops so."""
    rules = {(run.rule.ridge, id(run.rule.whitener), run.rule.collapsed): run.rule
             for _, members in groups for run in members}
    if all(rule.ridge <= 0 for rule in rules.values()):
        return None
    if len(rules) == 1:
        return next(iter(rules.values())).held(terms.factor, terms.family)
    held, at = np.zeros(len(terms.weights), dtype=bool), 0
    for _, members in groups:
        for run in members:
            held[at:at + run.k] = run.rule.held(terms.factor[at:at + run.k], terms.family)
            at += run.k
    return held


def _m_steps(owner, runs, stats, n_iter, dtype, drop_failed):
    """The M-steps of one estimator's ``runs`` from their stacked statistics ``stats``."""
    if _m_steps_together([(owner, runs)], stats, n_iter, dtype):
        return
    family = owner._covariance_model.family
    for run, part in zip(runs, split_groups(stats, len(runs), family)):
        run.attempt(lambda run=run, part=part: owner._m_step(part, run.state, dtype), n_iter,
                    drop_failed)
