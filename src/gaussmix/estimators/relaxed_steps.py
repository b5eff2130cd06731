"""Over-relaxed steps of a batch's runs (:mod:`gaussmix.engine.overrelaxation`): from one
stacked E-step, the moments each run's M-step is taken from.

For every run under the default stopping rule (:class:`~gaussmix.estimators.em_loop.Relaxation`
keeps its record): a run whose last step was extrapolated and lowered the log-likelihood takes
the plain step from the state before it instead (its E-step moments were kept); any other run
keeps this E-step's moments as its plain step and, where its ``eta`` has grown to
:data:`SMALLEST`, steps to the moments extrapolated from those of its last step, when they are
moments at all (:func:`~gaussmix.engine.overrelaxation.admissible`). Runs of other estimators
(whose E-steps sum more than moments) take plain steps.
"""

from __future__ import annotations

import numpy as np

from ..engine.overrelaxation import (
    GROWTH,
    Moments,
    admissible,
    extrapolated,
    moments_of,
    pooled,
    sums_of,
)
from ..engine.stats import SuffStats

# The smallest eta an over-relaxed step takes: a step of eta saves about eta - 1 plain steps,
# and a run that has extrapolated needs VERIFIED plain steps to stop (em_loop.Relaxation), so
# steps below twice plain EM's save less than they cost. eta grows from 1 by GROWTH per
# accepted step: runs that converge within about seven steps stay plain EM, step for step.
SMALLEST = 2.0


def relaxed_statistics(runs, stats, one_class=True):
    """``(plain, relaxed)`` statistics of a batch's ``runs`` (in stacking order) from their
    E-step's ``stats``: ``plain`` with each undone step replaced by the plain one from the
    state before it (``stats`` itself where there is none), ``relaxed`` with the extrapolated
    steps too (``None`` where no run extrapolates, or where the runs' estimators are of more
    than one class: their M-steps are not taken together). Sets each run's record for the
    step."""
    if stats.extras or not any(run.relaxation is not None for run in runs):
        for run in runs:
            if run.relaxation is not None:
                run.relaxation.forget()
        return stats, None
    bounds = np.reshape(stats.loglik, -1) / stats.weight
    current = None  # the E-step's moments, taken once some run needs them
    undone, candidates, at = [], [], 0
    for g, run in enumerate(runs):
        own, at = slice(at, at + run.k), at + run.k
        record = run.relaxation
        if record is None:
            continue
        record.next_plain, record.extrapolated, was = True, False, record.extrapolated
        if was and bounds[g] < run.bound:  # the extrapolated step lowered the likelihood
            record.rejected, record.eta, record.moments = True, 1.0, record.accepted
            run.back_to(record.accepted_state)  # an iterative M-step starts where it stood
            undone.append((own, record.accepted))
            continue
        eta = record.eta
        if record.relaxing:
            record.eta = eta * GROWTH
        if not (record.relaxing and record.eta >= SMALLEST):  # no extrapolation from here
            record.moments = record.accepted = None
            continue
        if current is None:
            current = moments_of(stats)
        record.accepted = Moments(*(part[own] for part in current))
        if stats.family == "dense" and run.owner._covariance_model.shared:
            record.accepted = pooled(record.accepted)  # what a run alone extrapolates
        if one_class and eta >= SMALLEST and record.moments is not None:
            record.accepted_state = run.state
            candidates.append((own, record, eta))
        else:
            record.moments = record.accepted
    plain = _replaced(stats, undone)
    if not candidates:
        return plain, None
    before = _joined([record.moments for _, record, _ in candidates])
    after = _joined([record.accepted for _, record, _ in candidates])
    sizes = [own.stop - own.start for own, _, _ in candidates]
    eta = np.repeat([eta for _, _, eta in candidates], sizes)
    stepped = extrapolated(before, after, eta)
    ok = np.logical_and.reduceat(admissible(stepped), np.cumsum(sizes) - sizes)
    taken, first = [], 0
    for (own, record, _), size, good in zip(candidates, sizes, ok):
        part = Moments(*(p[first:first + size] for p in stepped))
        first += size
        if good:
            record.moments, record.extrapolated, record.next_plain = part, True, False
            record.ever = True
            taken.append((own, part))
        else:
            record.moments, record.eta = record.accepted, 1.0
    if not taken:
        return plain, None
    return plain, _replaced(plain, taken)


def plain_instead(runs):
    """Undo :func:`relaxed_statistics`' extrapolated steps: the runs take their plain ones."""
    for run in runs:
        record = run.relaxation
        if record is not None and record.extrapolated:
            record.moments, record.extrapolated, record.next_plain = record.accepted, False, True
            record.eta = 1.0


def _joined(parts):
    """:class:`Moments` of several groups of components, one after the other."""
    return Moments(*(np.concatenate(part) for part in zip(*parts)))


def _replaced(stats, parts):
    """``stats`` with the components of each ``(slice, Moments)`` of ``parts`` holding those
    moments (``stats`` itself when there are none)."""
    if not parts:
        return stats
    index = np.concatenate([np.arange(own.start, own.stop) for own, _ in parts])
    nk, s1, s2 = stats.nk.copy(), stats.s1.copy(), stats.s2.copy()
    nk[index], s1[index], sums = sums_of(_joined([moments for _, moments in parts]),
                                         stats.shift[index], stats.family)
    if stats.family == "shared":  # a run alone: its pooled sums, every component's
        s2 = sums
    else:
        s2[index] = sums
    return SuffStats.of(stats.family, nk, s1, s2, stats.shift, stats.loglik, stats.weight,
                        stats.n_samples, stats.extras)
