"""gaussmix's default model selection against R mclust on the public panel (issue 25).

For every data set of ``benchmarks/panel/``: gaussmix's
``select_model(X, range(1, 10), covariance_types="all", random_state=0)`` (a new user's call)
and mclust's ``Mclust(X, G = 1:9)``, timed in the same run when ``Rscript`` with mclust is
installed (else against the committed ``mclust_timing.csv``, and the table says so). It prints,
per data set: the cells of mclust's grid whose log-likelihood gaussmix reaches (within 0.01),
the two choices, the held-out comparison where they differ (5-fold cross-validated
log-likelihood per row, 3 repeats, gaussmix's choice minus mclust's), both times and the speed
ratio (above 1: gaussmix is faster), then the geometric mean of the ratios.

    python benchmarks/bench_mclust_panel.py                 # the whole panel (minutes)
    python benchmarks/bench_mclust_panel.py trees swiss     # some data sets
    python benchmarks/bench_mclust_panel.py --no-held-out   # skip the cross-validation
    python benchmarks/bench_mclust_panel.py --markdown      # the README's table

R for timing: ``apt-get install -y r-base-core r-cran-mclust r-cran-mlbench``.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mclust_panel as panel

R_TIMING = """
suppressPackageStartupMessages(library(mclust))
X <- as.matrix(read.csv("{path}"))
if (ncol(X) == 1) X <- as.vector(X)
t <- sapply(1:{repeats}, function(i) {{ set.seed(0)
  system.time(Mclust(X, G = 1:9, verbose = FALSE))[["elapsed"]] }})
cat(median(t), "\\n")
"""


def mclust_installed():
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(["Rscript", "-e", "library(mclust)"], check=False,
                           capture_output=True)
    return probe.returncode == 0


def time_mclust(name, repeats):
    """mclust's median time for ``Mclust(X, G = 1:9)`` on ``name``, measured now."""
    script = R_TIMING.format(path=panel.PANEL / f"{name}.csv", repeats=repeats)
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="data sets (default: the whole panel)")
    parser.add_argument("--no-held-out", action="store_true",
                        help="skip the cross-validated comparison of differing choices")
    parser.add_argument("--committed", action="store_true",
                        help="use mclust's committed timings even when R is installed")
    parser.add_argument("--r-repeats", type=int, default=3, help="mclust timings per set")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    names = args.names or panel.names()
    live = not args.committed and mclust_installed()
    source = "measured in this run" if live else "committed mclust_timing.csv (R not run)"
    print(f"gaussmix vs R mclust on {len(names)} panel data sets; mclust's times: {source}; "
          f"{platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}")
    header = ("| data set | n x d | cells reached | our choice (mclust's) | held-out | "
              "our time (mclust's) | speed |")
    print(header)
    print("|---|---|---|---|---|---|---|")
    ratios, reached, total, failures = [], 0, 0, []
    for name in names:
        outcome = panel.run(name, with_held_out=not args.no_held_out)
        if live:
            outcome.mclust_seconds = time_mclust(name, args.r_repeats)
        ratios.append(outcome.speed)
        reached += outcome.n_reached
        total += outcome.n_cells
        ours, theirs = outcome.choice, outcome.mclust_choice
        if ours == theirs:
            held = "same"
        elif outcome.held_out is None:
            held = "not run"
        else:
            held = f"{outcome.held_out:+.2f}"
        status = "" if outcome.choice_status == "ok" else f" [{outcome.choice_status}]"
        n, d = outcome.shape
        print(f"| {name} | {n} x {d} | {outcome.n_reached}/{outcome.n_cells} | "
              f"{ours[0]},{ours[1]} ({theirs[0]},{theirs[1]}){status} | {held} | "
              f"{outcome.seconds:.2f} s ({outcome.mclust_seconds:.2f} s) | "
              f"{outcome.speed:.3g}x |", flush=True)
        if outcome.n_reached < outcome.n_cells or not outcome.choice_ok:
            failures.append(name)
        if not args.markdown and len(outcome.missed):
            for row in outcome.missed.itertuples():
                print(f"    missed {row.model},{row.G}: mclust {row.loglik_mclust:.4f}, "
                      f"gaussmix {row.loglik:.4f} ({row.status})")
    geometric = float(np.exp(np.mean(np.log(ratios))))
    print(f"\nIn all: {reached} of {total} cells reached; speed {min(ratios):.3g}x to "
          f"{max(ratios):.3g}x of mclust, geometric mean {geometric:.3g}x.")
    print("Sets short of a check: " + (", ".join(failures) if failures else "none"))


if __name__ == "__main__":
    main()
