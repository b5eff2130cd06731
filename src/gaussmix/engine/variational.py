"""The variational Bayesian Gaussian mixture's own arithmetic, as pure functions.

Bishop (2006, sec. 10.2) and Blei & Jordan (2006), in scikit-learn's parametrisation: a
Dirichlet-process (stick-breaking) or Dirichlet-distribution prior on the weights, a Gaussian
prior on each mean (precision ``beta_0`` times the component's), and a Wishart prior on each
precision (``nu_0`` degrees of freedom, scale the inverse of ``covariance_prior``). The posterior
keeps those forms; its covariances are stored *normalised* (the Wishart scale's inverse divided
by its degrees of freedom), so that ``precisions_cholesky_`` is the factor of the expected
precision, ``nu W``.

The E-step is the Gaussian kernel of the normalised covariances with per-component constants
(:func:`expected_log_weights` and :func:`log_weight_terms`); everything else here is the M-step
and the lower bound. ``prior_type`` is ``"dirichlet_process"`` or ``"dirichlet_distribution"``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, gammaln

DIRICHLET_PROCESS = "dirichlet_process"
DIRICHLET_DISTRIBUTION = "dirichlet_distribution"
PRIOR_TYPES = (DIRICHLET_PROCESS, DIRICHLET_DISTRIBUTION)


def weight_concentration(nk, prior, prior_type):
    """Posterior of the weights: ``(1 + nk, prior + sum_{j>k} nk_j)`` (stick-breaking Beta
    parameters) for a Dirichlet process, ``prior + nk`` for a Dirichlet distribution."""
    if prior_type == DIRICHLET_PROCESS:
        return 1.0 + nk, prior + np.hstack((np.cumsum(nk[::-1])[-2::-1], 0))
    return prior + nk


def expected_log_weights(concentration, prior_type):
    """``E[log pi_k]`` under the weights' posterior."""
    if prior_type == DIRICHLET_PROCESS:
        a, b = concentration
        digamma_sum = digamma(a + b)
        return digamma(a) - digamma_sum + np.hstack((0, np.cumsum(digamma(b) - digamma_sum)[:-1]))
    return digamma(concentration) - digamma(np.sum(concentration))


def mixture_weights(concentration, prior_type):
    """The posterior mean weights (summing to one)."""
    if prior_type == DIRICHLET_PROCESS:
        a, b = concentration
        total = a + b
        weights = a / total * np.hstack((1, np.cumprod(b / total)[:-1]))
        return weights / np.sum(weights)
    return concentration / np.sum(concentration)


def log_weight_norm(concentration, prior_type):
    """Log-normaliser of the weights' posterior (Beta distributions for the stick breaks, or a
    Dirichlet)."""
    if prior_type == DIRICHLET_PROCESS:
        return -np.sum(betaln(*concentration))
    return gammaln(np.sum(concentration)) - np.sum(gammaln(concentration))


def _per_feature(degrees_of_freedom, n_features):
    """``0.5 * (nu - i)`` for ``i < n_features``: shape ``(D, K)`` (or ``(D, 1)``)."""
    return 0.5 * (np.atleast_1d(degrees_of_freedom) - np.arange(n_features)[:, None])


def log_wishart_norm(degrees_of_freedom, log_det_precisions_chol, n_features):
    """Log-normaliser of each Wishart posterior, without the ``log(pi)`` constant; shape
    ``(K,)`` (or ``(1,)`` for one shared Wishart)."""
    nu = np.atleast_1d(degrees_of_freedom)
    return -(
        nu * log_det_precisions_chol
        + nu * n_features * 0.5 * np.log(2.0)
        + np.sum(gammaln(_per_feature(nu, n_features)), axis=0)
    )


def log_weight_terms(degrees_of_freedom, mean_precision, n_features):
    """Per-component constants the variational E-step adds to the Gaussian log-density of the
    normalised covariances: ``(E[log |Lambda|] - log |nu W|) / 2 - D / (2 beta)``."""
    nu = np.atleast_1d(degrees_of_freedom)
    log_lambda = n_features * np.log(2.0) + np.sum(digamma(_per_feature(nu, n_features)), axis=0)
    return 0.5 * (log_lambda - n_features / mean_precision) - 0.5 * n_features * np.log(nu)


def posterior_means(nk, xk, mean_prior, mean_precision_prior):
    """``(beta, means)`` of the means' Gaussian posterior."""
    mean_precision = mean_precision_prior + nk
    means = (mean_precision_prior * mean_prior + nk[:, None] * xk) / mean_precision[:, None]
    return mean_precision, means


def posterior_covariances(model, nk, xk, sk, mean_prior, mean_precision_prior, mean_precision,
                          degrees_of_freedom_prior, covariance_prior):
    """``(degrees_of_freedom, normalised covariances)`` of the precisions' Wishart posterior.

    Per component, ``(Psi + nk S_k + nk beta_0 / beta_k d_k d_k^T) / nu_k`` with ``d_k`` the
    offset of the component's mean from the prior mean and ``nu_k = nu_0 + nk``, projected onto
    the covariance model's representation (``model.project``: e.g. pooled with weights ``1/K``
    for a shared covariance, whose ``nu = nu_0 + n / K``). ``sk`` is the model's covariance
    estimate (with ``reg_covar``), ``covariance_prior`` has the model's ``component_shape``.
    """
    n_components, n_features = xk.shape
    equal = np.full(n_components, 1.0 / n_components)
    degrees_of_freedom = model.pool(degrees_of_freedom_prior + nk, equal)
    diff = xk - mean_prior
    spread = model.dense(sk, n_components, n_features)
    spread = spread + (mean_precision_prior / mean_precision)[:, None, None] * (
        diff[:, :, None] * diff[:, None, :]
    )
    scatter = model.project(nk[:, None, None] * spread, equal)
    covariances = covariance_prior + scatter
    nu = np.reshape(degrees_of_freedom, np.shape(degrees_of_freedom)
                    + (1,) * (covariances.ndim - np.ndim(degrees_of_freedom)))
    return degrees_of_freedom, covariances / nu
