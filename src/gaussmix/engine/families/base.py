"""The interface every component family implements (see :mod:`gaussmix.engine.families`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..stats import sample_covariances


@dataclass(frozen=True)
class FamilyStep:
    """What a family's M-step gives: ``nk`` (the responsibilities' sums, plus a small epsilon),
    the weights (summing to one less the noise weight), the means, the sample covariances in
    the statistics' layout (what the covariance model's ``estimate`` solves) and the family's
    own parameters (``dofs`` for Student-t, else ``None``)."""

    nk: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    sample: np.ndarray
    dofs: np.ndarray | None = None


class ComponentFamily:
    """A family of mixture components on the sufficient-statistics engine.

    Subclasses set ``name`` and define :meth:`terms`, :meth:`m_step` and
    :meth:`n_parameters`; see the module docstring of :mod:`gaussmix.engine.families`.
    """

    name = ""
    #: Whether the family has E-step terms of its own (else the fused Gaussian kernel, whose
    #: runs may be stacked side by side in a batch).
    own_terms = True

    def terms(self, log_weights, log_det, n_features, dtype, dofs=None):
        """The kernel's ``density`` (``None``: the fused Gaussian kernel)."""
        raise NotImplementedError

    def m_step(self, stats, nk_eps, dofs=None, options=None):
        """A :class:`FamilyStep` from summed statistics."""
        raise NotImplementedError

    def n_parameters(self, n_components, options=None):
        """Free parameters of the family beyond the means, the covariances and the weights."""
        return 0


def moment_step(stats, nk_eps, moment_weight=None, resp_sums=None, background=0.0):
    """``(nk, weights, means, sample covariances)`` from summed statistics.

    Gaussian components (the defaults): ``nk`` is the statistics' weight sums. A family whose
    moments were weighted by latent weights (Student-t: ``r u``) gives the responsibilities'
    sums as ``resp_sums`` and the moments' weights as ``moment_weight``: the means are the
    moments' weighted means and the sample covariances their weighted scatter divided by the
    responsibilities' sums (the M-step of Peel & McLachlan 2000). ``background``: the noise
    component's responsibilities' sum, so that the weights sum to one with its weight.
    ``nk_eps`` is added to every sum (an empty component gets a finite mean).
    """
    nk = (stats.nk if resp_sums is None else resp_sums) + nk_eps
    moments = nk if moment_weight is None else moment_weight + nk_eps
    mc = stats.s1 / moments[:, None]
    sample = sample_covariances(stats, moments, mc)
    if moment_weight is not None:
        if stats.family == "dense":
            sample = sample * (moments / nk)[:, None, None]
        elif stats.family == "shared":
            sample = sample * (moments.sum() / nk.sum())
        else:
            sample = sample * (moments / nk)[:, None]
    weights = nk / (nk.sum() + background) if background else nk / nk.sum()
    return nk, weights, mc + stats.shift, sample
