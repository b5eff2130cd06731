"""Missing values: EM on the observed values against dropping rows and imputing first.

    python benchmarks/bench_missing.py            # 5 seeds, 10/30/50% missing
    python benchmarks/bench_missing.py --seeds 2  # quicker

Data: ``gm.make_mixture`` draws (3 components, 5 features, average pairwise overlap 0.05, full
covariances, 2,000 rows) with entries removed completely at random (MCAR). Every fit is a full
``GaussianMixture(3)`` with the default start, so the three ways differ only in what they do
with the holes (``(no holes)`` is the same fit on the data before removal: the floor):

* ``em``: ``GaussianMixture(missing="em")`` on the data with NaN (the observed-data likelihood);
* ``drop rows``: the same fit on the rows with no missing value (none left, or fewer than the
  fit needs, counts as a failure);
* ``mean-impute``: the same fit after ``SimpleImputer(strategy="mean")``.

Parameter error, after matching the fitted components to the true ones (Hungarian assignment on
the means): ``means`` is the mean distance of the matched means divided by the data's average
standard deviation; ``cov`` the mean ``||S_fit - S_true||_F / ||S_true||_F``; ``weights`` the mean
absolute weight error. Imputation error is the RMSE of the filled entries divided by the standard
deviation of the true values there: ``model.impute`` of the EM fit against ``SimpleImputer(mean)``
and ``IterativeImputer`` (scikit-learn's default, Bayesian ridge, ``max_iter=10``).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, SimpleImputer

import gaussmix as gm

N_SAMPLES, N_COMPONENTS, N_FEATURES = 2_000, 3, 5
FRACTIONS = (0.1, 0.3, 0.5)


def parameter_errors(model, truth, scale):
    """``(means, cov, weights)`` errors of ``model`` against ``truth`` after matching."""
    cost = np.linalg.norm(model.means_[:, None] - truth.means_[None], axis=2)
    rows, cols = linear_sum_assignment(cost)
    k, d = truth.means_.shape
    dense = gm.engine.covariance.get(model.covariance_type).dense(model.covariances_, k, d)
    means = cost[rows, cols].mean() / scale
    cov = np.mean([np.linalg.norm(dense[r] - truth.covariances_[c]) /
                   np.linalg.norm(truth.covariances_[c]) for r, c in zip(rows, cols, strict=True)])
    weights = np.mean(np.abs(model.weights_[rows] - truth.weights_[cols]))
    return means, cov, weights


def fit(X, **params):
    return gm.GaussianMixture(N_COMPONENTS, random_state=0, **params).fit(X)


def one_case(seed, fraction):
    X, _, truth = gm.make_mixture(N_SAMPLES, N_COMPONENTS, N_FEATURES, overlap=0.05,
                                  random_state=seed)
    rng = np.random.default_rng(seed + 1000)
    holes = rng.random(X.shape) < fraction
    holes[holes.all(axis=1), 0] = False  # a row needs one observed value
    Xm = np.where(holes, np.nan, X)
    scale = float(np.mean(X.std(axis=0)))
    out = {"(no holes)": parameter_errors(fit(X), truth, scale)}
    em = fit(Xm, missing="em")
    out["em"] = parameter_errors(em, truth, scale)
    complete = Xm[~holes.any(axis=1)]
    try:
        out["drop rows"] = parameter_errors(fit(complete), truth, scale)
    except ValueError:  # too few complete rows for the fit
        out["drop rows"] = (np.nan, np.nan, np.nan)
    mean_filled = SimpleImputer(strategy="mean").fit_transform(Xm)
    out["mean-impute"] = parameter_errors(fit(mean_filled), truth, scale)
    spread = X[holes].std()
    iterative = IterativeImputer(random_state=0, max_iter=10).fit_transform(Xm)
    imputation = {
        "gaussmix impute": em.impute(Xm),
        "SimpleImputer(mean)": mean_filled,
        "IterativeImputer": iterative,
    }
    errors = {name: float(np.sqrt(np.mean((filled[holes] - X[holes]) ** 2)) / spread)
              for name, filled in imputation.items()}
    return out, errors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"{N_SAMPLES} rows, {N_COMPONENTS} components, {N_FEATURES} features, "
          f"seeds 0..{args.seeds - 1}; errors are means over seeds (lower is better)\n")
    print(f"{'missing':>8} {'method':<14}{'means':>9}{'cov':>9}{'weights':>9}   "
          f"{'failed':>6}")
    imputation_rows = []
    for fraction in FRACTIONS:
        results, imputed = {}, {}
        for seed in range(args.seeds):
            params, errors = one_case(seed, fraction)
            for name, value in params.items():
                results.setdefault(name, []).append(value)
            for name, value in errors.items():
                imputed.setdefault(name, []).append(value)
        for name, values in results.items():
            values = np.array(values)
            failed = int(np.isnan(values[:, 0]).sum())
            mean = np.nanmean(values, axis=0) if failed < len(values) else [np.nan] * 3
            print(f"{fraction:>8.0%} {name:<14}{mean[0]:>9.4f}{mean[1]:>9.4f}{mean[2]:>9.4f}   "
                  f"{failed:>6}")
        imputation_rows.append((fraction, {k: float(np.mean(v)) for k, v in imputed.items()}))
        print()
    names = list(imputation_rows[0][1])
    print("imputation RMSE / std of the removed values (lower is better)")
    print(f"{'missing':>8}" + "".join(f"{name:>22}" for name in names))
    for fraction, values in imputation_rows:
        print(f"{fraction:>8.0%}" + "".join(f"{values[name]:>22.4f}" for name in names))


if __name__ == "__main__":
    main()
