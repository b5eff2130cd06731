"""
Fat tails of daily returns: a mixture's value-at-risk
=====================================================

Daily stock-market returns have more very bad (and very good) days than a normal distribution
allows. A mixture of a few normals, a calm one and wider ones, follows those fat tails, and its
quantiles give a value-at-risk (VaR): the loss exceeded on a given fraction of days.

The data: daily S&P 500 prices 1999-2018, bundled with the optional ``arch`` package
(``pip install "gaussmix[finance]"``); nothing is downloaded.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

import gaussmix as gm
from gaussmix.apps import finance as fin

returns = fin.log_returns(fin.load_sp500()["Adj Close"])       # daily, in percent
r = returns.to_numpy()[:, None]
selection = gm.select_model(r, range(1, 6), covariance_types="full", random_state=0,
                            tol=1e-6, max_iter=2000)
mixture = selection.best_
normal = stats.norm(r.mean(), r.std())
print("K chosen by BIC:", selection.best_params_["n_components"])
print("1% VaR, mixture:", np.round(fin.value_at_risk(mixture, 0.01), 2),
      " normal:", round(-normal.ppf(0.01), 2))

# %%
# The density on a log scale
# --------------------------
# On a log scale a normal density is a parabola that falls fast; the histogram's tails do not.
# The mixture's density follows them.
grid = np.linspace(-10, 10, 400)
fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
ax.hist(r[:, 0], bins=200, density=True, color="0.8", label="daily returns 1999-2018")
ax.plot(grid, normal.pdf(grid), "C0--", label="one normal")
ax.plot(grid, np.exp(mixture.score_samples(grid[:, None])), "C3",
        label=f"mixture of {mixture.n_components} normals")
ax.axvline(-fin.value_at_risk(mixture, 0.01), color="C3", ls=":", label="mixture 1% VaR")
ax.axvline(normal.ppf(0.01), color="C0", ls=":", label="normal 1% VaR")
ax.set(yscale="log", ylim=(1e-5, 1), xlabel="daily log return (%)", ylabel="density")
ax.legend()
plt.show()

# %%
# How often was each VaR exceeded? A correct 1% VaR is exceeded on about 1% of days.
for name, var in [("mixture", fin.value_at_risk(mixture, 0.01)), ("normal", -normal.ppf(0.01))]:
    test = fin.var_backtest(returns, var, 0.01)
    print(f"{name}: VaR {var:.2f}%, exceeded on {test.rate:.2%} of days "
          f"(Kupiec p = {test.kupiec_p_value:.3f})")
