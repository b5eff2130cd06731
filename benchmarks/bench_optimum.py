"""How good an optimum does each search reach, and at what cost?

For iris, Old Faithful and diabetes, every covariance type and K = 1..6, fits

* scikit-learn's ``GaussianMixture`` (k-means starts) with ``n_init=1`` and ``n_init=10``, for
  several seeds, and
* gaussmix's ``GaussianMixture`` with its default search, ``n_init=1`` (the hierarchical start)
  and ``n_init=10`` (hierarchical + screened k-means / random / single-row starts),

all with the default ``tol=1e-3``, and prints the log-likelihood (total over the rows) of each and
the time it took. A second column pair polishes every fit to ``tol=1e-12`` from where it stopped,
which shows the optimum that each run was heading for (``tol=1e-3`` can stop several units short
on slowly converging fits). The summary counts, per scikit-learn seed, how often gaussmix's
``n_init=10`` is at least as high (float noise allowed) and how often strictly higher.

Run::

    python benchmarks/bench_optimum.py               # 3 scikit-learn seeds
    python benchmarks/bench_optimum.py --seeds 0 1 2 3 4 --csv optimum.csv
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from threadpoolctl import threadpool_limits

import gaussmix as gm

TYPES = ("full", "tied", "diag", "spherical")
DATASETS = {
    "iris": gm.datasets.load_iris,
    "old_faithful": gm.datasets.load_old_faithful,
    "diabetes": gm.datasets.load_diabetes,
}
RTOL = 1e-9


def _timed_fit(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X)
        return time.perf_counter() - start


def _polished(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return gm.polished_log_likelihood(model, X)


def run(seeds, ks, our_seed):
    rows = []
    for name, load in DATASETS.items():
        X = load()
        n = len(X)
        for ctype in TYPES:
            for k in ks:
                for n_init in (1, 10):
                    fits = [("gaussmix", our_seed, gm.GaussianMixture(
                        k, covariance_type=ctype, n_init=n_init, random_state=our_seed))]
                    fits += [("sklearn", s, SkGaussianMixture(
                        k, covariance_type=ctype, n_init=n_init, random_state=s)) for s in seeds]
                    for library, seed, model in fits:
                        seconds = _timed_fit(model, X)
                        rows.append({
                            "data": name, "covariance_type": ctype, "K": k, "n_init": n_init,
                            "library": library, "seed": seed, "seconds": seconds,
                            "loglik": model.score(X) * n, "polished": _polished(model, X),
                        })
    return pd.DataFrame(rows)


def summarise(df):
    key = ["data", "covariance_type", "K"]
    ours = df[(df.library == "gaussmix") & (df.n_init == 10)].set_index(key)
    lines = []
    for column in ("loglik", "polished"):
        for seed, sk in df[(df.library == "sklearn") & (df.n_init == 10)].groupby("seed"):
            sk = sk.set_index(key)
            diff = ours[column] - sk[column]
            slack = RTOL * sk[column].abs()
            lines.append(
                f"{column:>9}, sklearn seed {seed}: gaussmix n_init=10 >= sklearn in "
                f"{int((diff >= -slack).sum())}/{len(diff)}, strictly higher in "
                f"{int((diff > 1e-6 * sk[column].abs()).sum())}, lower in "
                f"{int((diff < -slack).sum())} (worst {diff.min():+.4g})"
            )
    times = df.groupby(["library", "n_init"]).seconds.sum()
    for (library, n_init), seconds in times.items():
        per_seed = seconds / df[(df.library == library) & (df.n_init == n_init)].seed.nunique()
        lines.append(f"total fit time {library:>8} n_init={n_init:<2}: {per_seed:7.2f} s per seed")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="scikit-learn random_state values")
    parser.add_argument("--our-seed", type=int, default=0, help="gaussmix random_state")
    parser.add_argument("--max-k", type=int, default=6)
    parser.add_argument("--csv", help="also write every fit to this CSV file")
    args = parser.parse_args(argv)
    # Both libraries single-threaded: on data this small threads only add hand-off latency
    # (scikit-learn's k-means uses OpenMP, gaussmix's fit single-threaded BLAS).
    with threadpool_limits(1):
        df = run(args.seeds, range(1, args.max_k + 1), args.our_seed)
    wide = df[df.n_init == 10].pivot_table(
        index=["data", "covariance_type", "K"], columns=["library", "seed"], values="loglik"
    )
    with pd.option_context("display.width", 200, "display.max_rows", 500,
                           "display.float_format", "{:.3f}".format):
        print("Log-likelihood (total), n_init=10, default tol=1e-3:")
        print(wide)
        print()
        print(summarise(df))
    if args.csv:
        tmp = args.csv + ".tmp"
        df.to_csv(tmp, index=False)
        os.replace(tmp, args.csv)


if __name__ == "__main__":
    main()
