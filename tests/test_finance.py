"""gaussmix.apps.finance: mixture quantiles, VaR, ES, backtests, regime features, the S&P 500 data.

References are independent of the code under test: scipy's normal distribution, Monte Carlo
samples drawn with numpy from the fixed seed of ``conftest.py``, and test statistics computed by
hand from their textbook formulas.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, stats
from sklearn.exceptions import NotFittedError

import gaussmix as gm
from _helpers import COVARIANCE_TYPES, MCLUST_SAMPLE
from gaussmix.apps import finance as fin

# weights, means, variances of a fat-tailed 3-component mixture of daily returns (percent)
THREE = (np.array([0.55, 0.35, 0.10]), np.array([0.06, -0.02, -0.25]), np.array([0.3, 1.4, 9.0]))
N_MC = 1_000_000


def draw(params, n, rng):
    w, mu, var = params
    k = rng.choice(len(w), size=n, p=w)
    return rng.normal(mu[k], np.sqrt(var[k]))


# ---------------------------------------------------------------------- quantiles, VaR, ES
@pytest.mark.parametrize("loc, scale", [(0.0, 1.0), (0.05, 1.3), (-2.0, 0.01)])
def test_one_component_quantile_is_the_normal_quantile(loc, scale):
    q = np.array([1e-12, 1e-6, 0.01, 0.05, 0.3, 0.5, 0.7, 0.95, 0.99, 1 - 1e-9])
    expected = stats.norm.ppf(q, loc, scale)
    assert_allclose(fin.mixture_quantile(([1.0], [loc], [scale**2]), q), expected,
                    rtol=1e-10, atol=1e-10)
    model = gm.GaussianMixture.from_parameters([1.0], [[loc]], [[[scale**2]]])
    assert_allclose(fin.mixture_quantile(model, q), expected, rtol=1e-10, atol=1e-10)
    assert_allclose(fin.value_at_risk(model, [0.01, 0.05]), -stats.norm.ppf([0.01, 0.05], loc,
                                                                            scale), rtol=1e-10)


def test_quantile_of_three_components_matches_monte_carlo(rng):
    q = np.array([0.001, 0.01, 0.05, 0.25, 0.5, 0.9, 0.99])
    sample = draw(THREE, N_MC, rng)
    got = fin.mixture_quantile(THREE, q)
    # standard error of a sample quantile: sqrt(q (1 - q) / n) / f(x_q), f the mixture density
    w, mu, var = THREE
    density = stats.norm.pdf((got[:, None] - mu) / np.sqrt(var)) @ (w / np.sqrt(var))
    se = np.sqrt(q * (1 - q) / N_MC) / density
    assert np.all(np.abs(np.quantile(sample, q) - got) < 5 * se), (np.quantile(sample, q), got, se)


def test_cdf_at_the_quantile_is_q_and_quantiles_increase():
    q = np.r_[1e-12, 1e-8, np.linspace(1e-4, 1 - 1e-4, 201), 1 - 1e-8]
    x = fin.mixture_quantile(THREE, q)
    assert np.all(np.diff(x) > 0)
    w, mu, var = THREE
    below = stats.norm.cdf((x[:, None] - mu) / np.sqrt(var)) @ w
    above = stats.norm.sf((x[:, None] - mu) / np.sqrt(var)) @ w
    lower = q <= 0.5
    assert_allclose(below[lower], q[lower], rtol=1e-9, atol=0)      # relative, deep in the tail
    assert_allclose(above[~lower], 1 - q[~lower], rtol=1e-9, atol=0)
    assert_allclose(fin.mixture_cdf(THREE, x), q, rtol=0, atol=1e-12)


def test_quantile_shapes_and_scalars():
    assert isinstance(fin.mixture_quantile(THREE, 0.3), float)
    assert isinstance(fin.value_at_risk(THREE, 0.01), float)
    assert fin.mixture_quantile(THREE, [[0.1, 0.2], [0.3, 0.4]]).shape == (2, 2)
    # identical components: the bracket is a point
    assert_allclose(fin.mixture_quantile(([0.5, 0.5], [1.0, 1.0], [4.0, 4.0]), 0.2),
                    stats.norm.ppf(0.2, 1.0, 2.0), rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES + MCLUST_SAMPLE[:1])
def test_fitted_models_of_every_covariance_shape(covariance_type, rng):
    X = draw(THREE, 3000, rng)[:, None]
    model = gm.GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    variances = np.broadcast_to(np.ravel(model.covariances_), (2,))
    params = (model.weights_, model.means_.ravel(), variances)
    q = [0.01, 0.05, 0.5]
    assert_allclose(fin.mixture_quantile(model, q), fin.mixture_quantile(params, q), rtol=1e-12)
    # the quantile of the model's own density: its integral by quadrature of score_samples
    mass, _ = integrate.quad(lambda x: np.exp(model.score_samples([[x]]))[0], -np.inf,
                             fin.mixture_quantile(model, 0.05), epsabs=1e-12)
    assert abs(mass - 0.05) < 1e-8


def test_expected_shortfall_of_a_normal_has_its_closed_form():
    for level in (0.01, 0.05):
        for loc, scale in ((0.0, 1.0), (0.1, 2.0)):
            expected = -loc + scale * stats.norm.pdf(stats.norm.ppf(level)) / level
            assert_allclose(fin.expected_shortfall(([1.0], [loc], [scale**2]), level), expected,
                            rtol=1e-12)


def test_expected_shortfall_matches_monte_carlo(rng):
    sample = draw(THREE, N_MC, rng)
    for level in (0.01, 0.05):
        es = fin.expected_shortfall(THREE, level)
        tail = sample[sample <= fin.mixture_quantile(THREE, level)]
        se = tail.std() / np.sqrt(tail.size)  # standard error of the tail mean
        assert abs(-tail.mean() - es) < 5 * se, (-tail.mean(), es, se)
        assert es > fin.value_at_risk(THREE, level)
    assert fin.expected_shortfall(THREE, [0.01, 0.05]).shape == (2,)


def test_bad_mixtures_and_probabilities_give_clear_errors(rng):
    for q in (0.0, 1.0, -0.1, 1.5, np.nan, [0.5, 1.0]):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            fin.mixture_quantile(THREE, q)
    with pytest.raises(ValueError, match="tail probability"):
        fin.value_at_risk(THREE, 0.99)
    with pytest.raises(ValueError, match="empty"):
        fin.mixture_quantile(THREE, [])
    with pytest.raises(TypeError, match="number"):
        fin.mixture_quantile(THREE, "1%")
    two_d = gm.GaussianMixture(2, random_state=0).fit(rng.normal(size=(100, 2)))
    with pytest.raises(ValueError, match="2 features.*one variable"):
        fin.value_at_risk(two_d, 0.01)
    with pytest.raises(NotFittedError):
        fin.mixture_quantile(gm.GaussianMixture(2), 0.5)
    with pytest.raises(TypeError, match=r"tuple \(weights, means, variances\)"):
        fin.mixture_quantile(3.0, 0.5)
    with pytest.raises(ValueError, match="sum to one"):
        fin.mixture_quantile(([0.5, 0.6], [0.0, 1.0], [1.0, 1.0]), 0.5)
    with pytest.raises(ValueError, match="positive"):
        fin.mixture_quantile(([0.5, 0.5], [0.0, 1.0], [1.0, 0.0]), 0.5)
    with pytest.raises(ValueError, match="one entry per component"):
        fin.mixture_quantile(([0.5, 0.5], [0.0], [1.0, 1.0]), 0.5)
    with pytest.raises(ValueError, match="finite"):
        fin.mixture_quantile(([1.0], [np.nan], [1.0]), 0.5)


# ---------------------------------------------------------------------- backtests
def kupiec_by_hand(n, x, p):
    """LR = -2 ln[(1-p)^(n-x) p^x / ((1-x/n)^(n-x) (x/n)^x)], p-value of chi2(1) via erfc."""
    pi = x / n
    lr = -2 * ((n - x) * math.log(1 - p) + x * math.log(p)
               - (n - x) * math.log(1 - pi) - x * math.log(pi))
    return lr, math.erfc(math.sqrt(lr / 2))


def test_backtest_counts_known_exceedances_and_kupiec_matches_the_hand_computation(rng):
    n, x = 1000, 15
    var = rng.uniform(1.0, 3.0, n)
    returns = rng.uniform(-0.99, 1.0, n) * var        # never beyond the VaR ...
    days = rng.choice(n, x, replace=False)
    returns[days] = -var[days] - 0.01                 # ... except on these 15 days
    at_var = np.setdiff1d(np.arange(n), days)[0]
    returns[at_var] = -var[at_var]                    # a loss equal to the VaR is no exceedance
    bt = fin.var_backtest(pd.Series(returns), var, 0.01)
    assert (bt.n_days, bt.n_exceedances, bt.rate, bt.level) == (n, x, 0.015, 0.01)
    lr, p = kupiec_by_hand(n, x, 0.01)
    assert_allclose([bt.kupiec_lr, bt.kupiec_p_value], [lr, p], rtol=1e-10)
    assert 0.13 < p < 0.15  # 15 breaches in 1000 days at 1%: LR = 2.19, not rejected at 5%
    # a constant VaR; no exceedance at all: LR = -2 n ln(1 - p)
    calm = fin.var_backtest(np.zeros(250), 2.0, 0.01)
    assert calm.n_exceedances == 0
    assert_allclose(calm.kupiec_lr, -2 * 250 * math.log(0.99), rtol=1e-12)


def test_christoffersen_independence():
    # transitions 00:4 01:2 10:2 11:1, so P(hit | no hit) = P(hit | hit) = 1/3: LR = 0
    hits = np.array([0, 1, 1, 0, 0, 0, 1, 0, 0, 0], dtype=bool)
    bt = fin.var_backtest(np.where(hits, -2.0, 0.0), 1.0, 0.05)
    assert bt.independence_lr == pytest.approx(0.0, abs=1e-12)
    assert bt.independence_p_value == pytest.approx(1.0)
    # the same 20 hits in 400 days, scattered and then bunched together
    scattered = np.zeros(400, dtype=bool)
    scattered[::20] = True
    bunched = np.zeros(400, dtype=bool)
    bunched[100:120] = True
    a = fin.var_backtest(np.where(scattered, -2.0, 0.0), 1.0, 0.05)
    b = fin.var_backtest(np.where(bunched, -2.0, 0.0), 1.0, 0.05)
    assert a.kupiec_p_value == b.kupiec_p_value == pytest.approx(1.0)
    assert b.independence_p_value < 1e-10 < a.independence_p_value
    # bunched by hand (399 transitions): n00 = 378, n01 = 1, n10 = 1, n11 = 19
    n00, n01, n10, n11 = 378, 1, 1, 19
    pi, pi0, pi1 = 20 / 399, n01 / (n00 + n01), n11 / (n10 + n11)
    lr = -2 * ((n00 + n10) * math.log(1 - pi) + (n01 + n11) * math.log(pi)
               - n00 * math.log(1 - pi0) - n01 * math.log(pi0)
               - n10 * math.log(1 - pi1) - n11 * math.log(pi1))
    assert_allclose(b.independence_lr, lr, rtol=1e-10)
    assert_allclose(b.conditional_p_value, stats.chi2.sf(b.kupiec_lr + lr, 2), rtol=1e-10)


def test_backtest_bad_inputs():
    r = np.zeros(10)
    with pytest.raises(ValueError, match="one number or one per day"):
        fin.var_backtest(r, np.ones(9), 0.01)
    with pytest.raises(ValueError, match="drop the days without a forecast"):
        fin.var_backtest(r, np.r_[np.nan, np.ones(9)], 0.01)
    with pytest.raises(ValueError, match="one number"):
        fin.var_backtest(r, 1.0, [0.01, 0.05])
    with pytest.raises(ValueError, match="tail probability"):
        fin.var_backtest(r, 1.0, 0.95)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        fin.var_backtest(np.zeros((5, 2)), 1.0, 0.01)


def test_rolling_var_uses_only_the_past(rng):
    r = rng.standard_t(4, 420)
    kwargs = {"n_components": (1, 2), "window": 200, "refit_every": 50, "restart_every": 2}
    var, used = fin.rolling_var(r, [0.01, 0.05], return_n_components=True, **kwargs)
    assert var.shape == (420, 2)
    assert np.isnan(var[:200]).all() and np.isfinite(var[200:]).all()
    assert set(used[:200]) == {0} and set(used[200:]) <= {1, 2}
    assert np.all(var[200:, 0] > var[200:, 1])
    assert np.all(var[200:250] == var[200])            # constant between refits
    # changing day 300 and later changes no forecast for days up to 300
    changed = r.copy()
    changed[300:] *= 10
    again = fin.rolling_var(changed, [0.01, 0.05], **kwargs)
    assert_allclose(again[:301], var[:301])
    assert not np.allclose(again[350:], var[350:])
    # one component is the normal VaR of the window (maximum likelihood: ddof=0)
    normal = fin.rolling_var(r, 0.05, n_components=1, window=200, refit_every=50)
    past = r[150:350]
    assert_allclose(normal[350], -stats.norm.ppf(0.05, past.mean(), past.std()), rtol=1e-5)
    with pytest.raises(ValueError, match="no day left to forecast"):
        fin.rolling_var(r[:100], 0.01, window=200)
    with pytest.raises(ValueError, match="refit_every must be an integer"):
        fin.rolling_var(r, 0.01, refit_every=0)


# ---------------------------------------------------------------------- regimes
def test_regime_features_are_aligned(rng):
    dates = pd.bdate_range("2020-01-01", periods=120)
    prices = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 120))), index=dates)
    features = fin.regime_features(prices, window=21)
    assert list(features.columns) == ["return", "volatility"]
    assert len(features) == 120 - 21 and features.index[0] == dates[21]
    assert features.index.equals(dates[21:]) and not features.isna().any().any()
    day = 50
    r = 100 * np.diff(np.log(prices.to_numpy()))       # r[i] is the return of dates[i + 1]
    assert_allclose(features.loc[dates[day], "return"], r[day - 1])
    assert_allclose(features.loc[dates[day], "volatility"],
                    r[day - 21:day].std(ddof=1) * np.sqrt(252))
    plain = fin.regime_features(prices.to_numpy(), window=10)
    assert len(plain) == 110 and isinstance(plain.index, pd.RangeIndex)
    assert_allclose(fin.log_returns(prices, percent=False).to_numpy(), r / 100)


def test_regime_features_validate_window_and_prices():
    prices = np.linspace(100, 120, 30)
    for window in (1, 0, 2.5, True, "21"):
        with pytest.raises(ValueError, match="window must be an integer >= 2"):
            fin.regime_features(prices, window=window)
    with pytest.raises(ValueError, match="too few for window=30"):
        fin.regime_features(prices, window=30)
    assert len(fin.regime_features(prices, window=29)) == 1
    with pytest.raises(ValueError, match="positive and finite"):
        fin.regime_features(np.r_[prices, -1.0])
    with pytest.raises(ValueError, match="positive and finite"):
        fin.regime_features(np.r_[prices, np.nan])
    with pytest.raises(ValueError, match="one price column"):
        fin.regime_features(pd.DataFrame({"a": prices, "b": prices}))


def test_regimes_are_ordered_by_volatility(rng):
    means = [[0.0, 40.0], [0.1, 10.0], [0.0, 20.0]]       # crisis, calm, turbulent
    model = gm.GaussianMixture.from_parameters([0.2, 0.5, 0.3], means,
                                               [np.diag([1.0, 4.0])] * 3)
    assert fin.regime_order(model).tolist() == [1, 2, 0]
    features = pd.DataFrame({"return": [0.0, 0.0, 0.0], "volatility": [10.0, 20.0, 40.0]},
                            index=pd.date_range("2008-09-01", periods=3))
    proba = fin.regime_probabilities(model, features)
    assert list(proba.columns) == ["calm", "turbulent", "crisis"]
    assert proba.index.equals(features.index)
    assert np.argmax(proba.to_numpy(), axis=1).tolist() == [0, 1, 2]
    assert_allclose(proba.sum(axis=1), 1.0)
    assert fin.regime_names(2) == ["calm", "turbulent"]
    assert fin.regime_names(5)[-1] == "crisis"


# ---------------------------------------------------------------------- data
def test_load_sp500_returns_the_real_data():
    pytest.importorskip("arch", reason="the optional 'arch' package (gaussmix[finance]) is "
                                       "not installed")
    data = fin.load_sp500()
    assert data.shape == (5031, 6) and "Adj Close" in data.columns
    assert str(data.index[0].date()) == "1999-01-04" and str(data.index[-1].date()) == "2018-12-31"
    prices = data["Adj Close"]
    assert prices.notna().all() and (prices > 0).all()
    assert_allclose(prices.loc["2008-10-15"], 907.84, atol=0.01)   # a -9.5% day of 2008
    features = fin.regime_features(prices)
    assert len(features) == 5031 - 21
    worst = features["return"].idxmin()
    assert str(worst.date()) == "2008-10-15" and features.loc[worst, "volatility"] > 50


def test_load_sp500_without_arch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "arch.data.sp500", None)
    with pytest.raises(ImportError, match=r'pip install "gaussmix\[finance\]"'):
        fin.load_sp500()
