"""gaussmix's default model selection against R mclust on data sets that are not in the panel.

The panel of ``benchmarks/panel/`` is where issue 25's misses were diagnosed; this script checks
the same call on six data sets that ship with R and were kept out of it (iris, faithful,
USArrests, quakes, mtcars, MASS::Boston), so that a rule tuned to the panel would show here.
R writes each data set and ``Mclust(X, G = 1:9)``'s log-likelihood for every cell (from its BIC
and parameter count) into a temporary folder; gaussmix then runs
``select_model(X, range(1, 10), covariance_types="all", random_state=0)`` on the same CSV and the
table gives, per data set, the cells whose log-likelihood gaussmix reaches (within 0.01,
counting the degenerate fits it lists apart), both choices and both times.

    python benchmarks/bench_mclust_offpanel.py

Needs ``Rscript`` with mclust (``apt-get install -y r-base-core r-cran-mclust``); without it
the script says so and stops.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mclust_panel as panel
from bench_mclust_panel import mclust_installed

R_REFERENCE = r"""
suppressPackageStartupMessages(library(mclust))
out <- "{folder}"
sets <- list(iris = iris[, 1:4], faithful = datasets::faithful,
             usarrests = datasets::USArrests, quakes = datasets::quakes,
             mtcars = datasets::mtcars, boston = MASS::Boston)
rows <- list()
for (name in names(sets)) {{
  path <- file.path(out, paste0(name, ".csv"))
  write.csv(sets[[name]], path, row.names = FALSE)
  X <- read.csv(path)
  set.seed(0)
  seconds <- system.time(fit <- Mclust(X, G = 1:9, verbose = FALSE))[["elapsed"]]
  bic <- fit$BIC
  for (model in colnames(bic)) for (g in 1:9) {{
    df <- nMclustParams(model, ncol(X), g)
    rows[[length(rows) + 1]] <- data.frame(
      dataset = name, model = model, G = g, loglik = (bic[g, model] + df * log(nrow(X))) / 2,
      best = model == fit$modelName && g == fit$G, seconds = seconds)
  }}
}}
write.csv(do.call(rbind, rows), file.path(out, "reference.csv"), row.names = FALSE)
"""


def main():
    if not mclust_installed():
        print("bench_mclust_offpanel needs Rscript with mclust "
              "(apt-get install -y r-base-core r-cran-mclust); nothing was run.")
        return 1
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["Rscript", "-e", R_REFERENCE.format(folder=folder)], check=True,
                       capture_output=True)
        reference = pd.read_csv(Path(folder) / "reference.csv")
        print("| data set | n x d | cells reached | our choice (mclust's) | our time (mclust's) |")
        print("|---|---|---|---|---|")
        reached_all = total = 0
        for name, ref in reference.groupby("dataset", sort=False):
            X = pd.read_csv(Path(folder) / f"{name}.csv").to_numpy(dtype=np.float64)
            selection, seconds = panel.select_default(X)
            cells = panel.cells(selection, ref.reset_index(drop=True))
            reached = int(cells["reached"].sum())
            reached_all, total = reached_all + reached, total + len(cells)
            best = selection.best_params_
            theirs = ref[ref["best"]].iloc[0]
            print(f"| {name} | {X.shape[0]} x {X.shape[1]} | {reached}/{len(cells)} | "
                  f"{best['covariance_type']},{best['n_components']} "
                  f"({theirs['model']},{theirs['G']}) | {seconds:.2f} s "
                  f"({theirs['seconds']:.2f} s) |")
            for row in cells[~cells["reached"]].itertuples():
                print(f"    missed {row.model},{row.G}: mclust {row.loglik_mclust:.4f}, "
                      f"gaussmix {row.loglik:.4f} ({row.status})")
        print(f"\nIn all: {reached_all} of {total} cells reached.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
