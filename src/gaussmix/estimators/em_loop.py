"""The one EM loop: every run of every estimator, alone or side by side in a batch, advances
through :class:`Run`, which holds its state, its one convergence test
(:class:`~gaussmix.engine.convergence.StoppingRule`), its history of lower bounds, the
``verbose`` log and the observer of the EM animation.

:func:`iterate_alone` drives runs one at a time (an E-step of each run's own kernel through the
data path, then its estimator's ``_m_step``); :mod:`.batch` drives runs side by side through
the same :class:`Run` objects. The records :class:`Start`, :class:`RunResult` and
:class:`Finished` name what a fit's runs start from and end with.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass

import numpy as np

from ..engine.em import e_step
from ..engine.estep import resident_rows
from .relaxed_steps import plain_instead, relaxed_statistics
from .sklearn_protocol import warn_convergence

logger = logging.getLogger("gaussmix")


def iterate_alone(runs, X, sample_weight, dtype, chunk, n_threads, statistics,
                  drop_failed=False):
    """Iterate each of ``runs`` (:class:`Run`) on its own until it converges, fails or
    reaches its ``max_iter``: its E-step through the data path's ``statistics`` (its rows held
    loaded between iterations when they are small and complete), then its estimator's
    ``_m_step``. The loop of every run that is not batched; the convergence test and the
    history are :class:`Run`'s, the same as in a batch."""
    for run in runs:
        owner = run.owner
        held = statistics
        if not owner._holds_missing(X):  # small data: its rows held loaded between iterations
            held = resident_rows(X, sample_weight, statistics, chunk, owner.n_components)
        n_iter = run.n_iter
        observer = getattr(owner, "_observer", None)
        if observer is not None and n_iter == 0:  # the start, as iteration 0
            observer(0, run.state, run.bound)
        while run.active(n_iter + 1):
            n_iter += 1
            run.step_alone(X, sample_weight, n_iter, dtype, chunk, n_threads, held,
                           drop_failed)


#: With reg_covar=0, a fall of the lower bound larger than this (relative, per dtype) is no
#: rounding but a numerically singular covariance: the run stops there and says so.
_DROP_RTOL = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-3}
SINGULAR_DROP = (
    "EM stopped where its lower bound went down with reg_covar=0: a component's covariance is "
    "numerically singular (about as many rows as features, or copies of points), so the fit "
    "cannot be trusted; raise reg_covar (e.g. 1e-6)."
)


def singular_drop(estimator, previous, bound, dtype):
    """Whether ``bound`` after ``previous`` is a fall EM cannot take (with ``reg_covar=0``);
    warns once with :data:`SINGULAR_DROP` when it is."""
    if getattr(estimator, "reg_covar", None) != 0 or not np.isfinite(previous):
        return False
    rtol = _DROP_RTOL.get(np.dtype(dtype), _DROP_RTOL[np.dtype(np.float64)])
    if bound >= previous - rtol * max(1.0, abs(previous)):
        return False
    warn_convergence(SINGULAR_DROP, stacklevel=3)
    return True


def held_by_ridge_state(model, state, rule):
    """Per component of ``state`` (a mixture under the covariance ``model``), whether ``rule``
    (:class:`~gaussmix.engine.convergence.StoppingRule`) finds its covariance held up by the
    ridge, from the state's precision factors in the kernel's layout, as a batch judges its
    stacked ones."""
    k, d = np.shape(state.means)
    factors = model.kernel_factor(state.prec_chol, d)
    if model.family == "diagonal":
        return rule.held(factors, "diagonal")
    return rule.held(np.broadcast_to(factors, (k, d, d)))  # a shared one for every component


def rows_held_by_ridge(model, rule, nk, s1, s2):
    """Per component of E-step moments (those of :meth:`StoppingRule.rows_held
    <gaussmix.engine.convergence.StoppingRule.rows_held>`, dense ones for a diagonal model
    taken along the axes), whether ``rule`` finds its rows' own variance held up by the ridge
    where the covariance ``model``'s shape is each component's own; ``None`` where it judges
    none."""
    if rule.ridge <= 0 or not model.own_shape:
        return None
    if model.family == "diagonal" and s2.ndim == 3:
        s2 = np.diagonal(s2, axis1=1, axis2=2)
    return rule.rows_held(nk, s1, s2)


class Run:
    """The progress of one EM run of a batch (what ``_iterate`` keeps for one run)."""

    __slots__ = ("_rows_held", "_state", "_state_of", "before", "bound", "converged", "dtype",
                 "error", "history", "k", "max_iter", "n_iter", "owner", "relaxation", "rule",
                 "start_time", "stopped", "terms")

    def __init__(self, owner, state, max_iter, rule, bound=-np.inf, dtype=np.float64,
                 start_time=None, relaxation=None):
        self.owner, self.max_iter, self.rule = owner, max_iter, rule
        self.before = -np.inf
        self.dtype, self.stopped = dtype, False
        # with verbose >= 2, every verbose_interval iterations are logged (time from here)
        self.start_time = start_time
        self._state, self._state_of, self.k = state, None, state.n_components
        self.bound, self.history, self.n_iter = float(bound), [], 0
        self.converged, self.error = False, None
        # whether the E-step of the step under way found rows held up by the ridge (step_alone)
        self._rows_held = False
        # (StackedTerms, first component): where the E-step terms of ``state`` stand in the
        # terms of the last M-step this run took side by side with others, if it did
        self.terms = None
        # the record of the run's over-relaxed steps, under the default rule (None: plain EM
        # only). ``relaxation``: that of the run a warm start continues; False: plain EM only
        self.relaxation = None
        if rule.tol is None and relaxation is not False and getattr(owner, "_over_relaxed",
                                                                      False):
            self.relaxation = Relaxation() if relaxation is None else copy.copy(relaxation)

    @property
    def state(self):
        """The run's state (made from its batch's M-step the first time it is asked for)."""
        if self._state is None:
            state_of, g = self._state_of
            self._state = state_of(g)
        return self._state

    def back_to(self, state):
        """Make ``state`` the run's again (an undone over-relaxed step: its M-step then starts
        from the state that step left, as plain EM's would)."""
        self._state, self._state_of = state, None

    @property
    def failed(self):
        return self.error is not None

    def active(self, n_iter):
        """Whether the run takes iteration ``n_iter``."""
        return not (self.converged or self.stopped or self.error is not None) \
            and n_iter <= self.max_iter

    def advance(self, state, bound, n_iter):
        self._state = state
        held = self._rows_held or (self.rule.ridge > 0 and bool(
            held_by_ridge_state(self.owner._covariance_model, state, self.rule).any()))
        self._rows_held = False
        self._advance(float(bound), n_iter, state.weights, held)

    def advance_to(self, state_of, g, bound, n_iter, weights, held=False):
        """:meth:`advance` to the state ``state_of(g)``, made only when asked for (its
        ``weights`` known already; ``held``: whether a covariance of it is held up by the
        ridge, see :class:`~gaussmix.engine.convergence.StoppingRule`)."""
        self._state, self._state_of = None, (state_of, g)
        self._advance(bound, n_iter, weights, held)

    def _advance(self, bound, n_iter, weights, held=False):
        """The one convergence test and history of every EM run, alone or in a batch."""
        previous, relaxation = self.bound, self.relaxation
        if relaxation is not None and relaxation.undone(self, bound, n_iter):
            return
        if singular_drop(self.owner, previous, bound, self.dtype) or held:
            self.stopped = True
        elif self.rule.converged(self.before, previous, bound, weights):
            self.converged = relaxation is None or relaxation.may_stop()
        if relaxation is not None:
            relaxation.stepped(self.converged)
        self.before = previous
        self.bound, self.n_iter, self.terms = bound, n_iter, None
        self.history.append(bound)
        owner = self.owner
        if (self.start_time is not None and owner.verbose >= 2
                and n_iter % owner.verbose_interval == 0):
            logger.info("  Iteration %d  time %.3fs  lower bound %.8g  change %.3g", n_iter,
                        time.perf_counter() - self.start_time, bound, bound - previous)
        observer = getattr(owner, "_observer", None)
        if observer is not None:  # e.g. the EM animation's snapshots
            observer(n_iter, self.state, bound)

    def attempt(self, step, n_iter, drop_failed):
        """Advance to iteration ``n_iter`` by ``step()`` -> ``(state, lower_bound)``; its
        ``ValueError`` (a collapse) is raised, or with ``drop_failed`` fails this run."""
        try:
            state, bound = step()
        except ValueError as err:
            if not drop_failed:
                raise
            self.error = err
            return
        self.advance(state, bound, n_iter)

    def step_alone(self, X, sample_weight, n_iter, dtype, chunk, n_threads, statistics,
                   drop_failed):
        """This run's iteration ``n_iter`` on its own: an E-step of its own kernel, then its
        estimator's M-step."""
        owner, state = self.owner, self.state

        def step():
            stats = e_step(lambda far: owner._kernel(state, dtype, far, fitting=True),
                           X, sample_weight, dtype, chunk, n_threads, statistics)
            stats, relaxed = relaxed_statistics([self], stats)
            stepped, start = None, self.state  # (an undone step starts where it stood)
            if relaxed is not None:
                try:
                    stepped, stats = owner._m_step(relaxed, start, dtype), relaxed
                except ValueError:  # the plain step below says whether it still fails
                    plain_instead([self])
            if stepped is None:
                stepped = owner._m_step(stats, start, dtype)
            rows = rows_held_by_ridge(owner._covariance_model, self.rule, stats.nk, stats.s1,
                                      stats.s2)
            self._rows_held = rows is not None and bool(rows.any())
            return stepped

        self.attempt(step, n_iter, drop_failed)

    def result(self):
        """The run's :class:`RunResult` (``None`` when it failed)."""
        if self.failed:
            return None
        return RunResult(self.state, self.bound, self.n_iter, self.converged, self.history,
                         self.relaxation)


# Plain steps in a row on which the convergence test must pass to stop a run that has taken
# over-relaxed steps (Relaxation.may_stop): the test's three bounds then all come from plain
# steps, none of them the first one after an extrapolated step (whose gain still carries it).
VERIFIED = 3


class Relaxation:
    """A run's over-relaxed steps (:mod:`gaussmix.engine.overrelaxation`): the moments its
    state was stepped from (``moments``, and whether they were ``extrapolated``), those of the
    E-step at its last state that raised the log-likelihood (``accepted``: the plain step taken
    instead of an extrapolated one that did not), ``eta``, whether it has ever extrapolated
    (``ever``) and how many of its last states were plain steps (``plain``).

    The convergence test judges plain EM's rate: where it would stop a run that has
    extrapolated, the run goes on with plain steps (``relaxing`` off) until the test passes on
    :data:`VERIFIED` of them in a row, or finds it still climbing (over-relaxed steps
    resume). A run that never extrapolated stops exactly where plain EM stops."""

    __slots__ = ("accepted", "accepted_state", "eta", "ever", "extrapolated", "moments",
                 "next_plain", "plain", "rejected", "relaxing")

    def __init__(self):
        self.moments = self.accepted = self.accepted_state = None
        self.eta, self.relaxing, self.plain = 1.0, True, 1
        self.extrapolated = self.rejected = self.ever = False
        self.next_plain = True

    def undone(self, run, bound, n_iter):
        """Whether this step (to ``bound``) undoes an extrapolated one: the state it judged is
        dropped, its bound not taken (the history repeats the last one), and the plain step
        from the state before is already under way."""
        if not self.rejected:
            return False
        self.rejected, self.plain = False, 1
        run.n_iter, run.terms = n_iter, None
        run.history.append(run.bound)
        observer = getattr(run.owner, "_observer", None)
        if observer is not None:  # the EM animation: a frame per iteration, this one too
            observer(n_iter, run.state, run.bound)
        return True

    def may_stop(self):
        """Whether the convergence test, which has just passed, may stop the run. A run that
        has taken an over-relaxed step goes on with plain steps (``relaxing`` off) until it
        passes on :data:`VERIFIED` of them in a row: the first plain steps after an
        extrapolated one still carry what it set moving, and their gains fall faster than
        plain EM's own rate (the test would stop on a slow ridge that plain EM climbs on)."""
        if not self.ever or self.plain >= VERIFIED:
            return True
        self.relaxing = False
        return False

    def stepped(self, converged):
        """After the convergence test (``converged``: its verdict): where plain steps find the
        run still climbing, over-relaxed steps resume."""
        if not converged and not self.relaxing and self.plain >= VERIFIED:
            self.relaxing = True
        self.plain = self.plain + 1 if self.next_plain else 0

    def forget(self):
        """A plain step from statistics that are more than moments (a Student-t family's, a
        noise component's): nothing to extrapolate from or to."""
        self.moments = self.accepted = self.accepted_state = None
        self.extrapolated, self.next_plain, self.eta = False, True, 1.0


@dataclass(frozen=True)
class RunResult:
    """Where one EM run ended: its ``state``, its last ``lower_bound``, its ``n_iter``
    iterations, whether it ``converged``, the lower bound after each iteration (``history``)
    and its over-relaxed steps' :class:`Relaxation` (``None`` without them)."""

    state: object
    lower_bound: float
    n_iter: int
    converged: bool
    history: list
    relaxation: object = None


@dataclass(frozen=True)
class Finished:
    """A run of a fit as it ended: its initialisation's index ``init``, its
    :class:`RunResult` (``None`` when it failed) and the ``seconds`` it took (a batch's: those
    of the whole batch)."""

    init: int
    result: RunResult | None
    seconds: float


@dataclass(frozen=True)
class Start:
    """One initialisation of a fit: its index ``init`` within ``n_init``, its ``state``, the
    lower bound it starts from (``-inf`` for a new start) and, for a warm start, the
    :class:`Relaxation` of the run it continues."""

    init: int
    state: object
    lower_bound: float = -np.inf
    relaxation: object = None
