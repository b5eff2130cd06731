"""Over-relaxed EM steps against plain EM, in one run (issue 25).

gaussmix with its over-relaxed steps (``gaussmix.engine.overrelaxation``) and the same code with
them switched off (``GaussianMixture._over_relaxed = False``), taking turns so that a slow spell
of the machine slows both:

* the panel of ``benchmarks/panel/``: ``select_model(X, range(1, 10), covariance_types="all",
  random_state=0)`` per data set, with the grid's total EM iterations, its time (best of
  ``--repeat``), the cells of mclust's grid reached (within 0.01) and the choice;
* random fits (``--fuzz N``): ``GaussianMixture`` on random clustered rows (1 to 4 columns, 2 to
  5 components, every model, scales over six decades, copies, rounding, weights), counting
  where the two end within the stopping rule's tolerance of each other, where either ends
  higher (another optimum), and their iterations.

    python benchmarks/bench_relaxation.py                      # the whole panel, 1 repeat
    python benchmarks/bench_relaxation.py trees precip --repeat 3
    python benchmarks/bench_relaxation.py --fuzz 1000 --no-panel
"""

from __future__ import annotations

import argparse
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mclust_panel as panel

import gaussmix as gm
from gaussmix.engine import covariance, starts


@contextmanager
def plain_em(on):
    """Within it, with ``on``, every fit takes plain EM steps only."""
    if not on:
        yield
        return
    gm.GaussianMixture._over_relaxed = False
    try:
        yield
    finally:
        del gm.GaussianMixture._over_relaxed


def grid(X, plain):
    """``(seconds, selection)`` of the panel's default grid on ``X``, cold."""
    starts._TREES.clear()
    with plain_em(plain):
        selection, seconds = panel.select_default(X)
    return seconds, selection


def run_panel(names, repeat):
    print("| data set | EM iterations of the table's fits (plain) | time (plain) | speed-up | cells "
          "(plain) | choice (plain) |")
    print("|---|---|---|---|---|---|")
    ratios = []
    for name in names:
        X, ref = panel.load(name), panel.reference(name)
        best = {True: np.inf, False: np.inf}
        for _ in range(repeat):
            for plain in (True, False):
                seconds, selection = grid(X, plain)
                best[plain] = min(best[plain], seconds)
                if plain:
                    plain_selection = selection
                else:
                    relaxed_selection = selection
        row = []
        for selection in (relaxed_selection, plain_selection):
            merged = panel.cells(selection, ref)
            params = selection.best_params_
            row.append((int(selection.table["n_iter"].sum()), int(merged["reached"].sum()),
                        len(merged), f"{params['covariance_type']},{params['n_components']}"))
        ratios.append(best[True] / best[False])
        (it, reached, n, choice), (it0, reached0, _, choice0) = row
        print(f"| {name} | {it} ({it0}) | {best[False]:.2f} s ({best[True]:.2f} s) | "
              f"{ratios[-1]:.2f}x | {reached}/{n} ({reached0}) | {choice} ({choice0}) |",
              flush=True)
    print(f"\ngeometric mean speed-up {np.exp(np.mean(np.log(ratios))):.2f}x over "
          f"{len(ratios)} data sets")


def random_case(rng, names):
    """One random fit's ``(X, sample_weight, parameters)``."""
    rows, d, k = int(rng.integers(20, 300)), int(rng.integers(1, 5)), int(rng.integers(2, 6))
    X = rng.normal(size=(rows, d)) * 10.0 ** rng.uniform(-3, 3, size=d)
    if rng.random() < 0.5:
        X[: rows // 3] += 3 * X.std(axis=0)
    if rng.random() < 0.2:
        X = np.vstack([X, X[: rows // 4]])
    if rng.random() < 0.2:
        X = np.round(X, 1)
    weights = rng.uniform(0.1, 3, size=len(X)) if rng.random() < 0.2 else None
    name = names[int(rng.integers(len(names)))] if d > 1 else str(rng.choice(["E", "V"]))
    params = {"n_components": k, "covariance_type": name, "n_init": int(rng.integers(1, 5)),
              "random_state": 0, "max_iter": 3000}
    return X, weights, params


def run_fuzz(n_cases, seed):
    names = [name for name in covariance.names() if name not in ("E", "V")]
    rng = np.random.default_rng(seed)
    counts = {"same": 0, "relaxed higher": 0, "plain higher": 0}
    iterations = {True: 0, False: 0}
    done = 0
    while done < n_cases:
        X, weights, params = random_case(rng, names)
        ends = {}
        for plain in (True, False):
            with plain_em(plain), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    fit = gm.GaussianMixture(**params).fit(X, sample_weight=weights)
                except ValueError:  # a collapse: refused, with or without
                    break
            ends[plain] = fit.lower_bound_
            iterations[plain] += fit.n_iter_
        if len(ends) < 2:
            continue
        done += 1
        tol = 1e-5 * (1 + abs(ends[True]))
        if ends[False] > ends[True] + tol:
            counts["relaxed higher"] += 1
        elif ends[False] < ends[True] - tol:
            counts["plain higher"] += 1
        else:
            counts["same"] += 1
    print(f"\n{n_cases} random fits (seed {seed}): " + ", ".join(
        f"{key} {value}" for key, value in counts.items())
        + f"; iterations {iterations[False]} over-relaxed against {iterations[True]} plain")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="panel data sets (default: all)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--fuzz", type=int, default=0, help="random fits to compare")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-panel", action="store_true")
    args = parser.parse_args(argv)
    if not args.no_panel:
        run_panel(args.names or panel.names(), args.repeat)
    if args.fuzz:
        run_fuzz(args.fuzz, args.seed)


if __name__ == "__main__":
    main()
