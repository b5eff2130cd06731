"""Mini-batch streams: the stepwise (online) EM update behind ``partial_fit``.

Per-sample statistics of each batch are blended into running statistics with a decaying step
size ``rho_t = (t + learning_offset) ** -learning_decay`` (Cappé & Moulines 2009; Liang & Klein
2009), then the estimator's own M-step runs on them. The pieces here are pure; the estimator holds
the running state (:class:`StreamState`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.stats import SuffStats


def step_size(step, learning_decay, learning_offset):
    """Weight ``rho`` of the ``step``-th batch (0-based) in the running statistics.

    ``rho_0 = 1`` (the first batch has nothing to blend with); afterwards
    ``rho_t = (t + learning_offset) ** -learning_decay``, which sums to infinity while its squares
    converge for ``learning_decay`` in (0.5, 1], the Robbins-Monro conditions.
    """
    if step == 0:
        return 1.0
    return float(min(1.0, (step + learning_offset) ** -learning_decay))


def blend(running, batch, rho):
    """``(1 - rho) * running + rho * batch / batch.weight``: the stepwise EM update, around the
    batch's centres (the running statistics are moved there first)."""
    per_sample = batch.scale(1.0 / batch.weight)
    if running is None or rho >= 1.0:
        return per_sample
    return running.recentred(per_sample.shift).scale(1.0 - rho) + per_sample.scale(rho)


@dataclass
class StreamState:
    """Running statistics of ``partial_fit`` and the ``means_`` array they produced.

    ``means`` identifies the parameters the statistics belong to: after ``fit``, ``set_params``
    or any other change of ``means_`` the state is stale and is rebuilt from the parameters.
    """

    stats: SuffStats
    step: int
    means: np.ndarray
