"""Small data, in one run, against scikit-learn: model selection grids and restarts.

    python benchmarks/bench_small.py            # every case, best of 3
    python benchmarks/bench_small.py --repeat 5

Cases (times are the best of ``--repeat`` runs, scikit-learn's and gaussmix's taking turns so
that a slow spell of the machine slows both, each call after a short pause so that it does not
run among the other's spinning OpenMP threads; every gaussmix run starts cold, with its cache of
agglomeration trees emptied, as a new process would):

* ``gm.select_model`` with its defaults on Old Faithful, iris and diabetes, four covariance
  types and K = 1..9 (36 fits), against scikit-learn fitting the same 36 models with its defaults
  (``n_init=1``, a k-means start), both choosing by BIC;
* ``GaussianMixture(3, n_init=10)`` on iris against scikit-learn's ``n_init=10``, with
  ``covariance_type="full"`` and ``"diag"``;
* the default ``GaussianMixture(3).fit(iris)`` against scikit-learn's default;
* ``select_model`` on Old Faithful run serially, in two worker processes (``n_jobs=2``; the
  first call of a session pays the workers' start) and in two threads, to show why serial is
  the default;
* ``select_model`` on Old Faithful over mclust's fourteen models (gaussmix alone: no Python
  library has them).

Each line prints both times, the ratio (scikit-learn's time over gaussmix's: above 1 means
gaussmix is faster) and the total log-likelihood each reached (for the grids: the sum over the 36
fits), so that a faster search is not a weaker one.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import gaussmix as gm
from gaussmix.engine import starts

TYPES = ("full", "tied", "diag", "spherical")
KS = range(1, 10)
DATASETS = {
    "old_faithful": gm.datasets.load_old_faithful,
    "iris": gm.datasets.load_iris,
    "diabetes": gm.datasets.load_diabetes,
}


# Pause before each timed call: scikit-learn's OpenMP threads keep spinning for a while after
# its k-means returns, and on two cores they would slow whatever runs next.
SETTLE = 0.05


def timed(fn, repeat, cold=False):
    """``(best seconds, result of the last call)``, each call on a settled machine."""
    best, result = np.inf, None
    for _ in range(repeat):
        if cold:
            starts._TREES.clear()
        time.sleep(SETTLE)
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def paired(theirs, ours, repeat):
    """``(best seconds, last result)`` of scikit-learn's ``theirs`` and of our ``ours`` (run
    cold), the two taking turns so that a slow spell of the machine slows both."""
    best_theirs, best_ours = np.inf, np.inf
    for _ in range(repeat):
        t, result_theirs = timed(theirs, 1)
        best_theirs = min(best_theirs, t)
        t, result_ours = timed(ours, 1, cold=True)
        best_ours = min(best_ours, t)
    return (best_theirs, result_theirs), (best_ours, result_ours)


def sklearn_grid(X):
    """scikit-learn's 36 fits, defaults (n_init=1); total log-likelihood and the best by BIC."""
    total, best = 0.0, None
    for ctype in TYPES:
        for k in KS:
            model = SkGaussianMixture(k, covariance_type=ctype, random_state=0).fit(X)
            total += model.score(X) * len(X)
            bic = model.bic(X)
            if best is None or bic < best[0]:
                best = (bic, k, ctype)
    return total, best


def ours_grid(X):
    sel = gm.select_model(X, KS, TYPES, random_state=0, progress=False)
    ok = sel.table[sel.table.status == "ok"]
    best = sel.best_params_
    return float(sel.table.loglik.sum()), (sel.table.loc[sel.best_index_, "bic"],
                                           best["n_components"], best["covariance_type"]), len(ok)


def line(case, ours, theirs, ours_ll, theirs_ll, extra=""):
    print(f"{case:<44}{theirs:>10.3f} s{ours:>10.3f} s{theirs / ours:>8.2f}x"
          f"{theirs_ll:>13.2f}{ours_ll:>13.2f}  {extra}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"{'case':<44}{'sklearn':>12}{'gaussmix':>12}{'ratio':>9}{'sk loglik':>13}"
          f"{'gm loglik':>13}")
    for name, load in DATASETS.items():
        X = load()
        (t_sk, (ll_sk, best_sk)), (t_gm, (ll_gm, best_gm, n_ok)) = paired(
            lambda X=X: sklearn_grid(X), lambda X=X: ours_grid(X), args.repeat)
        line(f"select_model {name} (4 types x K=1..9)", t_gm, t_sk, ll_gm, ll_sk,
             f"best by BIC: sklearn K={best_sk[1]} {best_sk[2]}, gaussmix K={best_gm[1]} "
             f"{best_gm[2]} ({n_ok}/36 proper fits)")
    X = gm.datasets.load_iris()
    (t_sk, sk), (t_gm, ours) = paired(
        lambda: SkGaussianMixture(3, n_init=10, random_state=0).fit(X),
        lambda: gm.GaussianMixture(3, n_init=10, random_state=0).fit(X), args.repeat)
    line("GaussianMixture(3, n_init=10) on iris", t_gm, t_sk, ours.score(X) * len(X),
         sk.score(X) * len(X))
    (t_sk, sk), (t_gm, ours) = paired(
        lambda: SkGaussianMixture(3, covariance_type="diag", n_init=10, random_state=0).fit(X),
        lambda: gm.GaussianMixture(3, covariance_type="diag", n_init=10,
                                   random_state=0).fit(X), args.repeat)
    line("... the same, covariance_type='diag'", t_gm, t_sk, ours.score(X) * len(X),
         sk.score(X) * len(X))
    (t_sk, sk), (t_gm, ours) = paired(lambda: SkGaussianMixture(3).fit(X),
                                      lambda: gm.GaussianMixture(3).fit(X), args.repeat)
    line("GaussianMixture(3) on iris (defaults)", t_gm, t_sk, ours.score(X) * len(X),
         sk.score(X) * len(X))
    parallelism(args)
    fourteen_models(args)


def fourteen_models(args):
    """mclust's fourteen models on Old Faithful (no Python peer has them; R's
    ``Mclust(faithful, G=1:9)`` took 0.49 s where issue 16 measured it, R is not run here)."""
    X = gm.datasets.load_old_faithful()
    seconds, sel = timed(lambda: gm.select_model(X, KS, "all", random_state=0, progress=False),
                         args.repeat, cold=True)
    print(f"\nselect_model on Old Faithful, mclust's 14 models x K=1..9: {seconds:.3f} s, "
          f"best by BIC {sel.best_params_['covariance_type']}/{sel.best_params_['n_components']}")


def parallelism(args):
    from joblib import parallel_config

    X = gm.datasets.load_old_faithful()

    def grid(**kw):
        return gm.select_model(X, KS, TYPES, random_state=0, progress=False, **kw)

    print("\nselect_model on Old Faithful, 36 fits: serial against two workers")
    start = time.perf_counter()
    grid(n_jobs=2)
    first = time.perf_counter() - start
    serial, _ = timed(grid, args.repeat, cold=True)
    processes, _ = timed(lambda: grid(n_jobs=2), args.repeat, cold=True)
    with parallel_config(backend="threading"):
        threads, _ = timed(lambda: grid(n_jobs=2), args.repeat, cold=True)
    print(f"  serial {serial:.3f} s; 2 processes {processes:.3f} s once started "
          f"({first:.3f} s for the first call of a session); 2 threads {threads:.3f} s")


if __name__ == "__main__":
    main()
