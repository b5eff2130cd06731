"""How many components? Model selection on Old Faithful, and how good an optimum the search finds.

1. ``select_model`` fits K = 1..6 for every covariance type on the Old Faithful eruptions, prints
   the BIC ranking (R's mclust chooses a common full covariance, 'tied' = EEE, with 3 components,
   then separate full covariances, 'full' = VVV, with 2) and saves the BIC curves.
2. For iris, Old Faithful and diabetes, every covariance type and K = 1..6, it prints the
   log-likelihood that scikit-learn's ``GaussianMixture(n_init=10)`` and gaussmix's default search
   with ``n_init=10`` reach (both run to ``tol=1e-4``, then polished to ``tol=1e-12`` so that the
   optima are compared, not where each run stopped).

Run (``--quick``: the table on iris only, K = 1..3, ``n_init=2``, a smoke run)::

    python examples/model_selection.py [output.png]   # default: model_selection.png
"""

from __future__ import annotations

import argparse
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from threadpoolctl import threadpool_limits

import gaussmix as gm

SEED = 0


def selection(path):
    X = gm.datasets.load_old_faithful()
    sel = gm.select_model(X, range(1, 7), n_init=5, random_state=SEED)
    print(sel)
    columns = ["n_components", "covariance_type", "loglik", "n_parameters", "bic", "icl", "status"]
    print(sel.ranking(8)[columns].to_string(index=False, float_format="{:.2f}".format))
    bad = sel.table[sel.table.status != "ok"]
    if len(bad):
        print("\nnot eligible:")
        for row in bad.itertuples():
            print(f"  K={row.n_components} {row.covariance_type}: {row.status}: {row.message}")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    sel.plot(ax=axes[0])
    sel.plot(ax=axes[1], criterion="icl")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nBIC and ICL curves saved to {path}")


DATA = [("iris", gm.datasets.load_iris), ("old_faithful", gm.datasets.load_old_faithful),
        ("diabetes", gm.datasets.load_diabetes)]


def optimum_table(data=DATA, n_components=range(1, 7), n_init=10):
    print(f"\nLog-likelihood at the optimum reached with n_init={n_init} (higher is better)")
    print(f"{'data':>12} {'type':>10} {'K':>2} {'sklearn':>12} {'gaussmix':>12}")
    n_better = n_total = 0
    for name, load in data:
        X = load()
        for ctype in ("full", "tied", "diag", "spherical"):
            for k in n_components:
                common = {"covariance_type": ctype, "n_init": n_init, "tol": 1e-4,
                          "max_iter": 3000}
                sk = SkGaussianMixture(k, random_state=SEED, **common).fit(X)
                ours = gm.GaussianMixture(k, random_state=SEED, **common).fit(X)
                sk_ll, our_ll = gm.polished_log_likelihood(sk, X), gm.polished_log_likelihood(ours, X)
                mark = "  higher" if our_ll > sk_ll + 1e-6 * abs(sk_ll) else (
                    "  LOWER" if our_ll < sk_ll - 1e-9 * abs(sk_ll) else "")
                n_better += mark == "  higher"
                n_total += 1
                print(f"{name:>12} {ctype:>10} {k:>2} {sk_ll:12.4f} {our_ll:12.4f}{mark}")
    print(f"gaussmix higher in {n_better} of {n_total} cases")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output", nargs="?", default="model_selection.png",
                        help="where the BIC and ICL curves go (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="the optimum table on iris only, K = 1..3, n_init=2 (a smoke run)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        selection(args.output)
        if args.quick:
            optimum_table(DATA[:1], range(1, 4), n_init=2)
        else:
            optimum_table()


if __name__ == "__main__":
    main()
