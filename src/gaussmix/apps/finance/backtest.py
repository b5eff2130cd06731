"""Value-at-risk backtests: exceedances, Kupiec's and Christoffersen's tests, rolling forecasts."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from ...estimators import GaussianMixture
from ...estimators.sklearn_protocol import convergence_warnings_off
from .risk import _positive_int, _probabilities, value_at_risk

__all__ = ["VaRBacktest", "rolling_var", "var_backtest"]


# ---------------------------------------------------------------------- backtests
@dataclass(frozen=True)
class VaRBacktest:
    """Outcome of :func:`var_backtest`: how often the VaR was exceeded, and the tests.

    Attributes
    ----------
    level : float
        Nominal exceedance probability.
    n_days, n_exceedances : int
        Days tested, and days whose loss exceeded the VaR (``return < -VaR``).
    rate : float
        ``n_exceedances / n_days``, to compare with ``level``.
    kupiec_lr, kupiec_p_value : float
        Kupiec's (1995) unconditional coverage likelihood ratio, ``chi2(1)`` under the hypothesis
        that the exceedance probability is ``level``; a small p-value rejects the VaR.
    independence_lr, independence_p_value : float
        Christoffersen's (1998) likelihood ratio against exceedances that cluster (a first-order
        Markov chain), ``chi2(1)``.
    conditional_p_value : float
        Christoffersen's conditional coverage test (both together, ``chi2(2)``).
    """

    level: float
    n_days: int
    n_exceedances: int
    rate: float
    kupiec_lr: float
    kupiec_p_value: float
    independence_lr: float
    independence_p_value: float
    conditional_p_value: float


def _bernoulli_loglik(n_zero, n_one, p):
    return special.xlogy(n_zero, 1.0 - p) + special.xlogy(n_one, p)


def var_backtest(returns, var, level):
    """Backtest a value-at-risk: the exceedance rate, Kupiec's and Christoffersen's tests.

    Parameters
    ----------
    returns : array-like of shape (n_days,)
        Realised returns, in the units of ``var``.
    var : float or array-like of shape (n_days,)
        The VaR of each day as a positive loss (one number for a constant VaR). Day ``t`` is an
        exceedance when ``returns[t] < -var[t]``. Arrays are matched by position.
    level : float
        Nominal exceedance probability of the VaR, in (0, 0.5).

    Returns
    -------
    VaRBacktest

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.apps.finance import var_backtest
    >>> returns = np.r_[np.full(95, 0.1), np.full(5, -3.0)]   # 5 losses beyond a VaR of 2
    >>> bt = var_backtest(returns, 2.0, 0.05)
    >>> bt.n_exceedances, bt.rate, round(bt.kupiec_p_value, 6)
    (5, 0.05, 1.0)
    """
    if np.ndim(level) != 0:
        raise ValueError(f"level must be one number (backtest one VaR at a time), got {level!r}.")
    level = float(_probabilities(level, "level", upper=0.5))
    r = np.asarray(returns, dtype=float)
    if r.ndim != 1 or r.size == 0:
        raise ValueError(f"returns must be a non-empty 1-D series, got shape {r.shape}.")
    v = np.asarray(var, dtype=float)
    if v.ndim > 1 or (v.ndim == 1 and v.size != r.size):
        raise ValueError(
            f"var must be one number or one per day ({r.size}), got shape {v.shape}."
        )
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(v))):
        raise ValueError(
            "returns and var must be finite; drop the days without a forecast first "
            "(e.g. keep = ~np.isnan(var); var_backtest(returns[keep], var[keep], level))."
        )
    hits = r < -v
    n, x = hits.size, int(hits.sum())
    lr_uc = -2.0 * (_bernoulli_loglik(n - x, x, level) - _bernoulli_loglik(n - x, x, x / n))
    prev, cur = hits[:-1], hits[1:]
    n01, n11 = int(np.sum(~prev & cur)), int(np.sum(prev & cur))
    n00, n10 = int(np.sum(~prev & ~cur)), int(np.sum(prev & ~cur))
    pi = (n01 + n11) / max(n - 1, 1)
    pi0, pi1 = n01 / max(n00 + n01, 1), n11 / max(n10 + n11, 1)
    lr_ind = -2.0 * (_bernoulli_loglik(n00 + n10, n01 + n11, pi)
                     - _bernoulli_loglik(n00, n01, pi0) - _bernoulli_loglik(n10, n11, pi1))
    lr_uc, lr_ind = max(float(lr_uc), 0.0), max(float(lr_ind), 0.0)
    return VaRBacktest(
        level=level, n_days=n, n_exceedances=x, rate=x / n,
        kupiec_lr=lr_uc, kupiec_p_value=float(stats.chi2.sf(lr_uc, 1)),
        independence_lr=lr_ind, independence_p_value=float(stats.chi2.sf(lr_ind, 1)),
        conditional_p_value=float(stats.chi2.sf(lr_uc + lr_ind, 2)),
    )


def _fit_returns(x, ks, random_state, params, previous, fresh):
    """The mixture with the lowest BIC among ``ks`` components, fitted on the column ``x``.

    Each K starts from ``previous[K]`` (the last window's fit) when there is one, and from the
    model's own (hierarchical) start when there is none or ``fresh``; the likelier fit is kept and
    stored in ``previous``.
    """
    best, best_bic = None, np.inf
    # heavy tails converge slowly: EM's default tol=1e-3 can stop far enough from the optimum to
    # reorder the BIC, so the fits run to a tight tolerance unless told otherwise; a fit still
    # short of it after max_iter (an over-sized K creeping along a flat likelihood) competes as is
    params = {"tol": 1e-5, "max_iter": 500, **params}
    for k in ks:
        starts = []
        if k in previous:
            last = previous[k]
            starts.append({"weights_init": last.weights_, "means_init": last.means_,
                           "precisions_init": last.precisions_})
        if fresh or not starts:
            starts.append({})
        fits = []
        for start in starts:
            with convergence_warnings_off():
                fits.append(GaussianMixture(k, random_state=random_state, **params, **start).fit(x))
        model = max(fits, key=lambda m: m.score(x))
        previous[k] = model
        bic = model.bic(x) if len(ks) > 1 else 0.0
        if bic < best_bic:
            best, best_bic = model, bic
    return best


def rolling_var(returns, level=0.01, *, n_components=range(1, 6), window=1000, refit_every=21,
                restart_every=12, random_state=0, return_n_components=False, **params):
    """Out-of-sample VaR forecasts: each day's VaR from a mixture fitted on the days before it.

    Every ``refit_every`` days a mixture is fitted on the previous ``window`` returns (the number
    of components chosen by BIC when ``n_components`` is a range) and its VaR is the forecast for
    the next ``refit_every`` days. No day's forecast uses that day or any later one.

    Parameters
    ----------
    returns : array-like of shape (n_days,)
    level : float or array-like, default=0.01
        Tail probabilities, in (0, 0.5).
    n_components : int or iterable of int, default=range(1, 6)
        Components of each fit; ``1`` is the normal VaR.
    window : int, default=1000
        Days each fit sees (about four years).
    refit_every : int, default=21
        Days between refits (about a month).
    restart_every : int, default=12
        Each refit starts EM from the previous window's fit with the same number of components
        (the window has moved by only ``refit_every`` days, so it converges in a few steps); every
        ``restart_every`` refits (about a year) a fresh start is fitted too and the likelier fit
        kept. ``1`` starts afresh every time.
    random_state : int, default=0
    return_n_components : bool, default=False
        Also return the number of components behind each day's forecast (0 before the first).
    **params
        Further :class:`~gaussmix.GaussianMixture` parameters; ``tol`` defaults to ``1e-5`` and
        ``max_iter`` to ``500`` here, since heavy-tailed fits converge slowly and BIC compares
        them at their optima.

    Returns
    -------
    var : ndarray of shape (n_days,) or (n_days, n_levels)
        NaN for the first ``window`` days, which have no forecast.
    n_components : ndarray of int, shape (n_days,)
        Only with ``return_n_components=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.apps.finance import rolling_var
    >>> r = np.random.default_rng(0).standard_normal(300)
    >>> var = rolling_var(r, 0.05, n_components=1, window=200, refit_every=50)
    >>> int(np.isnan(var).sum()), bool(np.all(np.abs(var[200:] - 1.645) < 0.3))
    (200, True)
    """
    r = np.asarray(returns, dtype=float)
    if r.ndim != 1 or not np.all(np.isfinite(r)):
        raise ValueError("returns must be a 1-D series of finite numbers.")
    levels = _probabilities(level, "level", upper=0.5)
    window = _positive_int(window, "window", minimum=10)
    refit_every = _positive_int(refit_every, "refit_every")
    restart_every = _positive_int(restart_every, "restart_every")
    ks = [n_components] if isinstance(n_components, numbers.Integral) else list(n_components)
    for k in ks:
        _positive_int(k, "every n_components")
    if r.size <= window:
        raise ValueError(
            f"returns has {r.size} days but window={window}; there is no day left to forecast. "
            "Use a shorter window or a longer series."
        )
    out = np.full((r.size, levels.size), np.nan)
    used = np.zeros(r.size, dtype=int)
    previous = {}
    for i, start in enumerate(range(window, r.size, refit_every)):
        model = _fit_returns(r[start - window:start, None], ks, random_state, params, previous,
                             fresh=i % restart_every == 0)
        stop = min(start + refit_every, r.size)
        out[start:stop] = np.atleast_1d(value_at_risk(model, levels.ravel()))
        used[start:stop] = model.n_components
    var = out[:, 0] if np.ndim(level) == 0 else out
    return (var, used) if return_n_components else var
