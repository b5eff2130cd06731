"""Tails of one-dimensional normal mixtures: CDF, quantiles, value-at-risk, expected shortfall.

VaR and ES are losses: positive numbers in the units of the returns.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np
from scipy import optimize, stats
from sklearn.utils.validation import check_is_fitted

if TYPE_CHECKING:
    from ..._typing import ArrayLike, FloatArray, Mixture, MixtureParams

__all__ = ["expected_shortfall", "mixture_cdf", "mixture_quantile", "value_at_risk"]


# ---------------------------------------------------------------------- one-dimensional mixtures
def _mixture_1d(model_or_params):
    """``(weights, means, standard deviations)``, three float arrays of length K, validated."""
    if hasattr(model_or_params, "get_params"):
        check_is_fitted(model_or_params, "means_")
        n_features = np.shape(model_or_params.means_)[1]
        if n_features != 1:
            raise ValueError(
                f"The model has {n_features} features; mixture quantiles, VaR and ES are for a "
                "mixture of one variable (fit it on one column of returns, shape (n, 1))."
            )
        weights, means = model_or_params.weights_, model_or_params.means_
        variances = model_or_params.covariances_
    else:
        try:
            weights, means, variances = model_or_params
        except (TypeError, ValueError):
            raise TypeError(
                "Pass a fitted one-feature mixture or a tuple (weights, means, variances), got "
                f"{type(model_or_params).__name__}."
            ) from None
    weights, means = np.ravel(weights).astype(float), np.ravel(means).astype(float)
    n = weights.size
    variances = np.ravel(variances).astype(float)
    if variances.size == 1:  # one variance shared by every component
        variances = np.repeat(variances, n)
    if n == 0 or means.size != n or variances.size != n:
        raise ValueError(
            f"weights, means and variances must have one entry per component; got {n}, "
            f"{means.size} and {variances.size}."
        )
    if not np.all(np.isfinite(np.r_[weights, means, variances])):
        raise ValueError("weights, means and variances must be finite (no NaN or infinity).")
    if np.any(weights < 0) or abs(weights.sum() - 1.0) > 1e-6:
        raise ValueError(f"weights must be non-negative and sum to one, got {weights.tolist()}.")
    if np.any(variances <= 0):
        raise ValueError(f"variances must be positive, got {variances.tolist()}.")
    return weights / weights.sum(), means, np.sqrt(variances)


def _probabilities(p, name, upper=1.0):
    """``p`` as a float array with every entry strictly between 0 and ``upper``."""
    try:
        arr = np.asarray(p, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {p!r}.") from None
    if arr.size == 0:
        raise ValueError(f"{name} is empty; give at least one probability.")
    if not np.all((arr > 0) & (arr < upper)):
        bad = arr[~((arr > 0) & (arr < upper))].ravel()[0]
        hint = (" It is the tail probability: 0.01 for the 99% VaR." if upper < 1
                else " 0 and 1 would be infinite quantiles.")
        raise ValueError(f"{name} must lie strictly between 0 and {upper:g}, got {bad!r}.{hint}")
    return arr


def _shaped(values, like):
    """``values`` shaped like ``like``; a plain float when ``like`` is a scalar."""
    return float(values.ravel()[0]) if np.ndim(like) == 0 else values.reshape(np.shape(like))


def mixture_cdf(model_or_params: Mixture | MixtureParams,
                x: float | ArrayLike) -> float | FloatArray:
    """Cumulative distribution function of a one-dimensional normal mixture.

    Parameters
    ----------
    model_or_params : fitted mixture with one feature, or tuple ``(weights, means, variances)``
    x : float or array-like

    Returns
    -------
    float or ndarray
        ``sum_k w_k Phi((x - mu_k) / sigma_k)``, shaped like ``x``.

    Examples
    --------
    >>> from gaussmix.apps.finance import mixture_cdf
    >>> mixture_cdf(([0.5, 0.5], [-1.0, 1.0], [1.0, 1.0]), 0.0)
    0.5
    """
    w, mu, sd = _mixture_1d(model_or_params)
    xs = np.asarray(x, dtype=float)
    cdf = stats.norm.cdf((xs.ravel()[:, None] - mu) / sd) @ w
    return _shaped(cdf, x)


def mixture_quantile(model_or_params: Mixture | MixtureParams,
                     q: float | ArrayLike) -> float | FloatArray:
    """Quantiles of a one-dimensional normal mixture, by root finding on its CDF.

    The ``q``-quantile lies between the smallest and the largest of the components' own
    ``q``-quantiles ``mu_k + sigma_k * Phi^{-1}(q)`` (the mixture CDF is a weighted mean of theirs),
    a bracket in which :func:`scipy.optimize.brentq` finds it to about machine precision. Upper
    quantiles are solved on the survival function, so that ``q = 1 - 1e-12`` stays accurate.

    Parameters
    ----------
    model_or_params : fitted mixture with one feature, or tuple ``(weights, means, variances)``
        A :class:`~gaussmix.GaussianMixture` (any covariance type) or
        :class:`~gaussmix.BayesianGaussianMixture` fitted on data of shape ``(n, 1)``, or the
        parameters themselves (a single variance is shared by every component).
    q : float or array-like
        Probabilities, each strictly between 0 and 1.

    Returns
    -------
    float or ndarray
        The quantiles, shaped like ``q``.

    Examples
    --------
    >>> from gaussmix.apps.finance import mixture_quantile
    >>> round(mixture_quantile(([1.0], [0.0], [1.0]), 0.975), 6)
    1.959964
    >>> mixture_quantile(([0.5, 0.5], [-1.0, 1.0], [1.0, 1.0]), [0.5, 0.9]).round(4).tolist()
    [0.0, 1.8495]
    """
    w, mu, sd = _mixture_1d(model_or_params)
    qs = _probabilities(q, "q")
    flat = qs.ravel()
    own = mu[:, None] + sd[:, None] * stats.norm.ppf(flat)  # (K, n) component quantiles
    lows, highs = own.min(axis=0), own.max(axis=0)
    out = np.empty_like(flat)
    xtol = 1e-13 * sd.max()
    for i, (p, lo, hi) in enumerate(zip(flat, lows, highs)):
        if hi - lo <= xtol:
            out[i] = lo
            continue
        if p <= 0.5:
            def gap(x, p=p):
                return stats.norm.cdf((x - mu) / sd) @ w - p
        else:
            def gap(x, p=p):
                return (1.0 - p) - stats.norm.sf((x - mu) / sd) @ w
        g_lo, g_hi = gap(lo), gap(hi)
        if g_lo >= 0 or g_hi <= 0:  # rounding at a bracket end: that end is the root
            out[i] = lo if g_lo >= 0 else hi
            continue
        out[i] = optimize.brentq(gap, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps,
                                 maxiter=500)
    return _shaped(out, q)


def value_at_risk(model_or_params: Mixture | MixtureParams,
                  level: float | ArrayLike = 0.01) -> float | FloatArray:
    """Value-at-risk of a one-dimensional return mixture, as a positive loss.

    ``VaR = -Q(level)``: the loss that a return falls below with probability ``level``.

    Parameters
    ----------
    model_or_params : fitted mixture with one feature, or tuple ``(weights, means, variances)``
        The distribution of returns (see :func:`mixture_quantile`).
    level : float or array-like, default=0.01
        Tail probabilities, in (0, 0.5): 0.01 is the 99% VaR, 0.05 the 95% VaR.

    Returns
    -------
    float or ndarray
        VaR in the units of the returns, shaped like ``level``.

    Examples
    --------
    >>> from gaussmix.apps.finance import value_at_risk
    >>> value_at_risk(([1.0], [0.0], [1.0]), [0.01, 0.05]).round(4).tolist()
    [2.3263, 1.6449]
    """
    levels = _probabilities(level, "level", upper=0.5)
    return _shaped(-np.asarray(mixture_quantile(model_or_params, levels)), level)


def expected_shortfall(model_or_params: Mixture | MixtureParams,
                       level: float | ArrayLike = 0.01) -> float | FloatArray:
    """Expected shortfall (conditional VaR) of a one-dimensional normal mixture, closed form.

    The mean loss on the days beyond the VaR, ``ES = -E[R | R <= Q(level)]``. With
    ``z_k = (Q - mu_k) / sigma_k``, each component contributes
    ``E[R; R <= Q] = mu_k Phi(z_k) - sigma_k phi(z_k)``, so
    ``ES = -(1 / level) sum_k w_k (mu_k Phi(z_k) - sigma_k phi(z_k))``.

    Parameters
    ----------
    model_or_params : fitted mixture with one feature, or tuple ``(weights, means, variances)``
    level : float or array-like, default=0.01
        Tail probabilities, in (0, 0.5).

    Returns
    -------
    float or ndarray
        ES as a positive loss, at least the VaR, shaped like ``level``.

    Examples
    --------
    >>> from gaussmix.apps.finance import expected_shortfall
    >>> round(expected_shortfall(([1.0], [0.0], [1.0]), 0.05), 4)   # phi(1.645) / 0.05
    2.0627
    """
    w, mu, sd = _mixture_1d(model_or_params)
    levels = _probabilities(level, "level", upper=0.5).ravel()
    quantiles = np.atleast_1d(mixture_quantile((w, mu, sd**2), levels))
    z = (quantiles[:, None] - mu) / sd
    partial = (mu * stats.norm.cdf(z) - sd * stats.norm.pdf(z)) @ w
    return _shaped(-partial / levels, level)


def _positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)
