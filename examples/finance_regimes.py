"""Financial regimes: fat tails, value-at-risk backtests and volatility regimes of the S&P 500.

The data are the daily S&P 500 prices 1999-2018 that ship with the ``arch`` package
(``pip install "gaussmix[finance]"``; nothing is downloaded). Returns are daily log returns in
percent.

1. Tails: mixtures of K = 1..5 normals fitted to the daily returns, K chosen by BIC, against a
   single normal; ``docs/images/finance_tails.png`` shows the densities on a log scale and the
   left tail.
2. Value-at-risk at 1% and 5%, normal against mixture, backtested three ways: in-sample (fit and
   test on 1999-2018), a split (fit on 1999-2008, test on 2009-2018) and rolling (each day's VaR
   from a mixture fitted on the previous 1,000 days, refitted every 21 days, K by BIC in each
   window). The table gives the fraction of days whose loss exceeded the VaR, Kupiec's
   unconditional coverage p-value and Christoffersen's independence p-value.
3. Regimes: a 3-component mixture on (daily return, 21-day annualised volatility), components
   ordered calm / turbulent / crisis by volatility; ``docs/images/finance_regimes.png`` colours the
   price by the regime probabilities.

Run from the repository root (about a minute)::

    python examples/finance_regimes.py [--out FOLDER] [--quick]

``--out``: the folder of the two pictures (default ``docs/images/``); ``--quick`` (a smoke run):
the rolling forecasts refit once a year instead of every 21 days.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgb

import gaussmix as gm
from gaussmix.apps import finance as fin

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"
SEED = 0
LEVELS = (0.01, 0.05)
COLOURS = {"calm": "#2a9d8f", "turbulent": "#e9a227", "crisis": "#c1121f"}
NORMAL, MIXTURE = "#5a6f8c", "#c1121f"
TIGHT = {"tol": 1e-6, "max_iter": 2000}


def save(fig, name):
    path = OUT / name
    tmp = path.with_suffix(".tmp" + path.suffix)
    fig.savefig(tmp, dpi=90)
    os.replace(tmp, path)
    plt.close(fig)
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


def fit_by_bic(returns, label):
    """The BIC-best mixture of 1..5 normals, and the single normal.

    Heavy tails make EM converge slowly, and the default tol=1e-3 can stop early enough to
    reorder the BIC, so the fits run to tol=1e-6.
    """
    sel = gm.select_model(returns.to_numpy()[:, None], range(1, 6), covariance_types="full",
                          random_state=SEED, progress=False, **TIGHT)
    bic = "  ".join(f"K={row.n_components}: {row.bic:.1f}" for row in sel.table.itertuples())
    print(f"BIC on {label} ({len(returns)} days): {bic}  -> K = {sel.best_params_['n_components']}")
    return sel.best_, sel.models_[(1, sel.best_params_["covariance_type"])]


# ---------------------------------------------------------------------- 1. tails
def tails_picture(returns, mixture, normal):
    k = mixture.n_components
    x = np.linspace(-11, 11, 1200)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    bins = np.arange(-11, 11.25, 0.25)
    left.hist(returns, bins=bins, density=True, color="0.8", label="S&P 500, 1999-2018")
    left.plot(x, np.exp(normal.score_samples(x[:, None])), color=NORMAL, lw=2,
              label=f"normal (sd {np.sqrt(normal.covariances_.ravel()[0]):.2f}%)")
    left.plot(x, np.exp(mixture.score_samples(x[:, None])), color=MIXTURE, lw=2,
              label=f"mixture of {k} normals (BIC)")
    for w, mu, var in zip(mixture.weights_, mixture.means_.ravel(), mixture.covariances_.ravel()):
        sd = np.sqrt(var)
        left.plot(x, w * np.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)),
                  color=MIXTURE, lw=0.8, ls="--")
    left.plot([], [], color=MIXTURE, lw=0.8, ls="--", label="its components (weighted)")
    left.set(yscale="log", ylim=(1e-5, 1.5), xlim=(-11, 11), xlabel="daily log return (%)",
             ylabel="density (log scale)", title="Daily returns: the normal misses the tails")
    left.legend(loc="upper left", fontsize=8.5, frameon=False)

    loss = np.linspace(0, 10, 400)
    sorted_r = np.sort(returns.to_numpy())
    empirical = np.searchsorted(sorted_r, -loss, side="right") / sorted_r.size
    right.step(loss, np.where(empirical > 0, empirical, np.nan), where="post", color="0.35",
               lw=1.5, label="observed fraction of days")
    right.plot(loss, fin.mixture_cdf(normal, -loss), color=NORMAL, lw=2, label="normal")
    right.plot(loss, fin.mixture_cdf(mixture, -loss), color=MIXTURE, lw=2,
               label=f"mixture of {k} normals")
    for level in LEVELS:
        right.axhline(level, color="0.6", lw=0.8, ls=":")
        right.text(9.9, level * 1.12, f"{level:.0%}", ha="right", fontsize=8, color="0.4")
        for model, colour in ((normal, NORMAL), (mixture, MIXTURE)):
            right.plot(fin.value_at_risk(model, level), level, "o", color=colour, ms=5)
    right.set(yscale="log", ylim=(1e-5, 0.6), xlim=(0, 10), xlabel="daily loss x (%)",
              ylabel="P(return < -x) (log scale)",
              title="Left tail; dots: the VaR at 1% and 5% of each model")
    right.legend(loc="lower left", fontsize=8.5, frameon=False)
    fig.tight_layout()
    save(fig, "finance_tails.png")


# ---------------------------------------------------------------------- 2. VaR backtests
def backtest_rows(returns, mixture, normal, refit_every=21):
    train, test = returns[:"2008-12-31"], returns["2009-01-01":]
    mix_train, normal_train = fit_by_bic(train, "1999-2008")
    r_all, r_test = returns.to_numpy(), test.to_numpy()
    rows = []
    for sample, r, models in [
        ("in-sample 1999-2018", r_all, ((normal, "normal"), (mixture, "mixture"))),
        ("fit 1999-2008, test 2009-2018", r_test,
         ((normal_train, "normal"), (mix_train, "mixture"))),
    ]:
        for level in LEVELS:
            for model, name in models:
                var = fin.value_at_risk(model, level)
                rows.append((sample, level, name, str(model.n_components), var,
                             fin.var_backtest(r, var, level)))
    print(f"rolling forecasts (1,000-day window, refit every {refit_every} days) ...", flush=True)
    rolling = []
    for ks, name in ((1, "normal"), (range(1, 6), "mixture")):
        var, used = fin.rolling_var(r_all, LEVELS, n_components=ks, window=1000,
                                    refit_every=refit_every,
                                    random_state=SEED, return_n_components=True)
        keep = used > 0
        k = f"{used[keep].min()}-{used[keep].max()}" if name == "mixture" else "1"
        for j, level in enumerate(LEVELS):
            rolling.append((f"rolling {returns.index[keep][0].year}-2018", level, name, k,
                            var[keep, j].mean(), fin.var_backtest(r_all[keep], var[keep, j],
                                                                  level)))
    return rows + sorted(rolling, key=lambda row: row[1])  # by level, normal first


def print_table(rows):
    header = (f"{'sample':<30} {'level':>5} {'model':<8} {'K':>3} {'VaR %':>6} {'days':>5} "
              f"{'beyond':>6} {'rate':>6} {'Kupiec p':>9} {'indep. p':>9}")
    print("\n" + header + "\n" + "-" * len(header))
    for sample, level, name, k, var, bt in rows:
        print(f"{sample:<30} {level:>5.0%} {name:<8} {k:>3} {var:>6.2f} {bt.n_days:>5} "
              f"{bt.n_exceedances:>6} {bt.rate:>6.2%} {bt.kupiec_p_value:>9.3f} "
              f"{bt.independence_p_value:>9.3f}")
    print("VaR %: the loss not exceeded with probability 1 - level (rolling: its mean); rate: the "
          "fraction of days beyond it;\nKupiec p: is the rate the level? indep. p: are the "
          "exceedances independent (Christoffersen)? Small p-values reject the VaR.")


# ---------------------------------------------------------------------- 3. regimes
def regimes(prices):
    features = fin.regime_features(prices, window=21)
    model = gm.GaussianMixture(3, n_init=4, random_state=SEED, **TIGHT).fit(features)
    proba = fin.regime_probabilities(model, features)
    order = fin.regime_order(model)
    print("\nRegimes on (daily return %, 21-day annualised volatility %):")
    for name, k in zip(proba.columns, order):
        print(f"  {name:<10} weight {model.weights_[k]:.2f}  mean return "
              f"{model.means_[k, 0]:+.3f}%  mean volatility {model.means_[k, 1]:5.1f}%")
    by_year = proba.groupby(proba.index.year).mean()
    print("  mean probability by year:  " + "  ".join(
        f"{year}: {row.crisis:.2f}" for year, row in by_year.iterrows() if row.crisis > 0.1)
        + "  (crisis, years above 0.10)")

    price = prices.loc[proba.index]
    rgb = proba.to_numpy() @ np.array([to_rgb(COLOURS[name]) for name in proba.columns])
    dates = mdates.date2num(proba.index.to_pydatetime())
    fig, (top, mid, low) = plt.subplots(
        3, 1, figsize=(12, 7.6), sharex=True, gridspec_kw={"height_ratios": [3, 1.2, 1.3]})
    points = np.column_stack([dates, price.to_numpy()])
    segments = np.stack([points[:-1], points[1:]], axis=1)
    top.add_collection(LineCollection(segments, colors=rgb[1:], linewidths=1.8))
    top.set(yscale="log", xlim=(dates[0], dates[-1]),
            ylim=(price.min() * 0.85, price.max() * 1.1), ylabel="S&P 500 (log scale)",
            title="S&P 500 1999-2018, coloured by the regime probabilities of a 3-component "
                  "mixture on (return, volatility)")
    top.set_yticks([700, 1000, 1500, 2000, 3000], labels=["700", "1000", "1500", "2000", "3000"])
    top.minorticks_off()
    for text, date, y in [("dot-com bust", "2002-09-01", 700), ("2008 crisis", "2009-01-15", 655),
                          ("2011: US downgrade,\neuro debt crisis", "2011-08-10", 1020),
                          ("2015-16", "2015-10-01", 1760), ("2018 Q4", "2018-04-15", 2350)]:
        top.annotate(text, (mdates.datestr2num(date), y), ha="center", va="top",
                     fontsize=8.5, color="0.25")
    for name, colour in COLOURS.items():
        top.plot([], [], color=colour, lw=3, label=name)
    top.legend(loc="upper left", frameon=False, fontsize=9, title="regime (colours blend by "
               "probability)", title_fontsize=8.5)
    mid.plot(dates, features["volatility"], color="0.3", lw=0.8)
    mid.set(ylabel="volatility %\n(21 days, annual.)")
    low.stackplot(dates, proba.to_numpy().T, colors=[COLOURS[n] for n in proba.columns],
                  labels=list(proba.columns), linewidth=0)
    low.set(ylim=(0, 1), ylabel="regime\nprobability")
    low.xaxis_date()
    fig.tight_layout()
    save(fig, "finance_regimes.png")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT,
                        help="the folder of the pictures (default: docs/images/)")
    parser.add_argument("--quick", action="store_true",
                        help="rolling forecasts refitted once a year (a smoke run)")
    return parser.parse_args(argv)


def main(argv=None):
    global OUT
    args = parse_args(argv)
    OUT = args.out
    OUT.mkdir(parents=True, exist_ok=True)
    prices = fin.load_sp500()["Adj Close"]
    returns = fin.log_returns(prices)
    print(f"S&P 500 {prices.index[0].date()} to {prices.index[-1].date()}: {len(returns)} daily "
          "log returns (%)")
    mixture, normal = fit_by_bic(returns, "1999-2018")
    for level in LEVELS:
        observed = np.quantile(returns, level)
        print(f"  {level:.0%}: VaR normal {fin.value_at_risk(normal, level):.2f}%, mixture "
              f"{fin.value_at_risk(mixture, level):.2f}%, observed "
              f"{-observed:.2f}%;  ES normal "
              f"{fin.expected_shortfall(normal, level):.2f}%, mixture "
              f"{fin.expected_shortfall(mixture, level):.2f}%, observed "
              f"{-returns[returns <= observed].mean():.2f}%")
    tails_picture(returns, mixture, normal)
    print_table(backtest_rows(returns, mixture, normal, refit_every=252 if args.quick else 21))
    regimes(prices)


if __name__ == "__main__":
    main()
