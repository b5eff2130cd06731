"""Market risk and regimes with Gaussian mixtures: fat tails, value-at-risk, volatility regimes.

* Tails: a mixture of normals fitted to daily returns has the fat tails a single normal lacks.
  :func:`mixture_cdf`, :func:`mixture_quantile` (root finding on the mixture CDF),
  :func:`value_at_risk` and :func:`expected_shortfall` (closed form) work on any fitted
  one-feature mixture, or on ``(weights, means, variances)``.
* Backtests: :func:`var_backtest` counts the days whose loss exceeds the VaR and tests the count
  (Kupiec's unconditional coverage) and the clustering of exceedances (Christoffersen's
  independence test); :func:`rolling_var` forecasts each day's VaR from the previous ``window``
  days only, an honest out-of-sample backtest.
* Regimes: :func:`regime_features` turns prices into (daily log return, annualised rolling
  volatility); :func:`regime_order` and :func:`regime_probabilities` label the components of a
  mixture fitted on them by volatility (calm, turbulent, crisis), so that labels and colours do not
  depend on the order EM happened to find them in.
* Data: :func:`load_sp500`, the daily S&P 500 1999-2018 bundled with the optional ``arch`` package
  (``pip install "gaussmix[finance]"``; nothing is downloaded).

Sign and units: returns are what the caller passes (:func:`log_returns` and
:func:`regime_features` give percent); the VaR and the ES are *losses*, positive numbers in the
units of the returns: at ``level=0.01`` a VaR of 2.5 means that a return below -2.5 has
probability 1%.

Examples
--------
>>> from gaussmix.apps.finance import expected_shortfall, mixture_quantile, value_at_risk
>>> calm_and_wild = ([0.8, 0.2], [0.05, -0.2], [0.5, 4.0])   # weights, means, variances (%)
>>> normal = ([1.0], [0.0], [1.0])
>>> round(value_at_risk(calm_and_wild, 0.01), 3), round(value_at_risk(normal, 0.01), 3)
(3.49, 2.326)
>>> round(expected_shortfall(calm_and_wild, 0.01), 3)
4.325
>>> mixture_quantile(calm_and_wild, [0.01, 0.5, 0.99]).round(3).tolist()
[-3.49, 0.03, 3.09]
"""

from __future__ import annotations

from ..._optional import require
from .backtest import VaRBacktest, rolling_var, var_backtest
from .regimes import (
    log_returns,
    regime_features,
    regime_names,
    regime_order,
    regime_probabilities,
)
from .risk import expected_shortfall, mixture_cdf, mixture_quantile, value_at_risk

__all__ = [
    "VaRBacktest", "expected_shortfall", "load_sp500", "log_returns", "mixture_cdf",
    "mixture_quantile", "regime_features", "regime_names", "regime_order", "regime_probabilities",
    "rolling_var", "value_at_risk", "var_backtest",
]


def load_sp500():
    """Daily S&P 500 prices, 1999-01-04 to 2018-12-31 (5,031 days), bundled with ``arch``.

    The data ship inside the optional ``arch`` package (Kevin Sheppard's ``arch.data.sp500``,
    from Yahoo! Finance); install it with ``pip install "gaussmix[finance]"``. Nothing is
    downloaded.

    Returns
    -------
    pandas.DataFrame
        Indexed by date, columns ``Open``, ``High``, ``Low``, ``Close``, ``Adj Close``, ``Volume``.
    """
    module = require("arch.data.sp500", "finance", "the S&P 500 example data")
    return module.load()
