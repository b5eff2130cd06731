"""The Gaussian family: the engine's own fused kernel, no latent weights."""

from __future__ import annotations

from .base import ComponentFamily, FamilyStep, moment_step


class GaussianFamily(ComponentFamily):
    """Gaussian components: the kernel computes ``log w_k + log N(x | m_k, S_k)`` in one GEMM
    (no extra pass), and the M-step is the weighted mean and scatter."""

    name = "gaussian"
    own_terms = False

    def terms(self, log_weights, log_det, n_features, dtype, dofs=None):
        return None

    def m_step(self, stats, nk_eps, dofs=None, options=None):
        background = stats.extras.get("background", 0.0)
        nk, weights, means, sample = moment_step(stats, nk_eps, background=background)
        return FamilyStep(nk, weights, means, sample)
