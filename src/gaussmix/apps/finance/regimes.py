"""Market regimes: returns and rolling volatility from prices, components labelled by volatility."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .risk import _positive_int

__all__ = ["log_returns", "regime_features", "regime_names", "regime_order",
           "regime_probabilities"]

TRADING_DAYS = 252


# ---------------------------------------------------------------------- prices and regimes
def _price_series(prices):
    import pandas as pd

    if isinstance(prices, pd.DataFrame):
        if prices.shape[1] != 1:
            raise ValueError(
                f"prices has {prices.shape[1]} columns; pass one price column, e.g. "
                "prices['Adj Close']."
            )
        prices = prices.iloc[:, 0]
    series = prices.astype(float) if isinstance(prices, pd.Series) else pd.Series(
        np.asarray(prices, dtype=float))
    if series.ndim != 1 or series.size < 2:
        raise ValueError("prices must be a 1-D series of at least two prices.")
    if not np.all(np.isfinite(series.to_numpy())) or np.any(series.to_numpy() <= 0):
        raise ValueError(
            "prices must be positive and finite; drop missing days first (prices.dropna())."
        )
    return series


def log_returns(prices, *, percent=True):
    """Daily log returns ``log(P_t / P_{t-1})`` (in percent by default), the first day dropped.

    Examples
    --------
    >>> from gaussmix.apps.finance import log_returns
    >>> log_returns([100.0, 101.0, 100.0]).round(4).tolist()
    [0.995, -0.995]
    """
    series = _price_series(prices)
    r = np.log(series).diff().iloc[1:] * (100.0 if percent else 1.0)
    return r.rename("return")


def regime_features(prices, window=21):
    """Features for market regimes: daily log return and annualised rolling volatility (percent).

    Parameters
    ----------
    prices : pandas.Series or array-like of shape (n_days,)
        Positive prices (a date index is kept).
    window : int, default=21
        Trading days in the rolling volatility (21: about a month).

    Returns
    -------
    pandas.DataFrame
        Columns ``return`` (log return of the day, percent) and ``volatility`` (standard deviation
        of the last ``window`` daily log returns, that day's included, times ``sqrt(252)``,
        percent), one row per day from the ``window + 1``-th price on: ``len(prices) - window``
        rows, no NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.apps.finance import regime_features
    >>> prices = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, 300)))
    >>> features = regime_features(prices, window=21)
    >>> features.shape, list(features.columns)
    ((279, 2), ['return', 'volatility'])
    """
    series = _price_series(prices)
    if isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 2:
        raise ValueError(f"window must be an integer >= 2 (trading days), got {window!r}.")
    if series.size <= window:
        raise ValueError(
            f"prices has {series.size} days, too few for window={window}; give at least "
            f"{window + 1} prices or a shorter window."
        )
    r = log_returns(series)
    vol = r.rolling(int(window)).std() * np.sqrt(TRADING_DAYS)
    import pandas as pd

    return pd.DataFrame({"return": r, "volatility": vol}).iloc[int(window) - 1:]


def regime_names(n_components):
    """Names of regimes ordered by volatility: calm, turbulent, crisis (numbered beyond three).

    Examples
    --------
    >>> from gaussmix.apps.finance import regime_names
    >>> regime_names(3), regime_names(4)
    (['calm', 'turbulent', 'crisis'], ['calm', 'turbulent 1', 'turbulent 2', 'crisis'])
    """
    k = _positive_int(n_components, "n_components")
    if k <= 3:
        return ["calm", "turbulent", "crisis"][:k] if k > 1 else ["calm"]
    return ["calm", *[f"turbulent {i}" for i in range(1, k - 1)], "crisis"]


def regime_order(model, column=-1):
    """Component indices from the calmest to the most volatile (by the mean of ``column``).

    Examples
    --------
    >>> import gaussmix as gm
    >>> from gaussmix.apps.finance import regime_order
    >>> m = gm.GaussianMixture.from_parameters([0.5, 0.5], [[0.0, 40.0], [0.1, 12.0]],
    ...                                        [[[1.0, 0.0], [0.0, 9.0]]] * 2)
    >>> regime_order(m).tolist()
    [1, 0]
    """
    check_is_fitted(model, "means_")
    return np.argsort(np.asarray(model.means_)[:, column], kind="stable")


def regime_probabilities(model, features, column=-1):
    """Regime probabilities of each day, columns ordered and named by volatility.

    Parameters
    ----------
    model : fitted mixture on the features
    features : pandas.DataFrame or array-like of shape (n_days, n_features)
        For instance :func:`regime_features`; a DataFrame's index is kept.
    column : int, default=-1
        Feature whose component means order the regimes (the volatility).

    Returns
    -------
    pandas.DataFrame
        ``predict_proba`` with columns ``calm``, ``turbulent``, ``crisis`` (see
        :func:`regime_names`).

    Examples
    --------
    >>> import gaussmix as gm
    >>> from gaussmix.apps.finance import regime_probabilities
    >>> m = gm.GaussianMixture.from_parameters([0.5, 0.5], [[0.0, 40.0], [0.1, 12.0]],
    ...                                        [[[1.0, 0.0], [0.0, 9.0]]] * 2)
    >>> regime_probabilities(m, [[0.0, 11.0]]).round(3).to_dict("records")
    [{'calm': 1.0, 'turbulent': 0.0}]
    """
    import pandas as pd

    order = regime_order(model, column)
    index = features.index if isinstance(features, pd.DataFrame) else None
    # a model fitted on a DataFrame checks the column names; one fitted on an array gets an array
    X = features if hasattr(model, "feature_names_in_") else np.asarray(features, dtype=float)
    proba = np.asarray(model.predict_proba(X))[:, order]
    return pd.DataFrame(proba, index=index, columns=regime_names(len(order)))
