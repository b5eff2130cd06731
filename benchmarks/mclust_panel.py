"""The public model-selection panel: 22 data sets with R mclust's result for every cell.

``benchmarks/panel/`` holds the data sets (CSV, one column per feature), ``mclust_reference.csv``
(every model and number of components ``G`` of ``Mclust(X, G = 1:9)``: log-likelihood, degrees
of freedom, mclust's BIC and whether mclust chose it; empty where mclust could not fit the cell)
and ``mclust_timing.csv`` (mclust's median time for the whole grid). ``regenerate_panel.R``
remakes all three with R (``Rscript benchmarks/panel/regenerate_panel.R``).

This module holds what the benchmark (``bench_mclust_panel.py``) and the tests
(``tests/test_mclust_panel.py``) both ask of the panel: the data, the reference, gaussmix's
default grid on a data set, and the three checks of issue 25:

* **cells**: every cell mclust fitted reaches mclust's log-likelihood within ``CELL_TOL``
  (or higher) in gaussmix's table;
* **choice**: gaussmix's choice is mclust's, or at least as good on held-out rows (5-fold
  cross-validated log-likelihood per row, 3 repeats, within ``HELD_OUT_TOL``);
* **not spurious**: the choice's status is ``ok``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

PANEL = Path(__file__).resolve().parent / "panel"
CELL_TOL = 0.01
HELD_OUT_TOL = 0.02
N_COMPONENTS = range(1, 10)


def names():
    """The panel's data sets, in the order of ``mclust_timing.csv``."""
    return pd.read_csv(PANEL / "mclust_timing.csv")["dataset"].tolist()


def load(name):
    """The data set ``name`` as a float64 array."""
    return pd.read_csv(PANEL / f"{name}.csv").to_numpy(dtype=np.float64)


def reference(name):
    """mclust's rows for ``name``: ``model``, ``G``, ``loglik``, ``df``, ``bic_mclust``, ``best``."""
    table = pd.read_csv(PANEL / "mclust_reference.csv")
    return table[table["dataset"] == name].reset_index(drop=True)


def mclust_seconds(name):
    """mclust's committed time for ``Mclust(X, G = 1:9)`` on ``name``."""
    timing = pd.read_csv(PANEL / "mclust_timing.csv")
    return float(timing.loc[timing["dataset"] == name, "seconds"].iloc[0])


def mclust_choice(name):
    """``(model, G)`` of mclust's choice."""
    row = reference(name).query("best").iloc[0]
    return str(row["model"]), int(row["G"])


def select_default(X, **params):
    """gaussmix's default grid on ``X`` (as a new user calls it) and its time in seconds."""
    import gaussmix as gm

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        selection = gm.select_model(X, N_COMPONENTS, covariance_types="all", random_state=0,
                                    progress=False, **params)
    return selection, time.perf_counter() - start


def cells(selection, ref):
    """mclust's fitted cells with gaussmix's log-likelihood and ``gap`` (ours minus mclust's):
    the highest fit found for the cell, its table row's or a degenerate one listed apart."""
    found = pd.concat([selection.table, selection.set_aside])
    found = found.sort_values("loglik", ascending=False).drop_duplicates(
        ["covariance_type", "n_components"])
    ours = found.rename(columns={"covariance_type": "model", "n_components": "G"})
    merged = ref[ref["loglik"].notna()].merge(
        ours[["model", "G", "loglik", "status"]], on=["model", "G"], how="left",
        suffixes=("_mclust", ""))
    merged["gap"] = merged["loglik"] - merged["loglik_mclust"]
    merged["reached"] = merged["gap"] >= -CELL_TOL
    return merged


def held_out(X, first, second, *, folds=5, repeats=3, seed=0):
    """Mean 5-fold cross-validated log-likelihood per row of ``first`` minus ``second``, each a
    ``(covariance_type, n_components)`` fitted by gaussmix at its defaults on the training
    folds; ``repeats`` random fold splits."""
    from sklearn.model_selection import KFold

    import gaussmix as gm

    totals = {first: 0.0, second: 0.0}
    for repeat in range(repeats):
        split = KFold(folds, shuffle=True, random_state=seed + repeat)
        for train, test in split.split(X):
            for model, k in (first, second):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fitted = gm.GaussianMixture(min(k, len(train)), covariance_type=model,
                                                n_init=4, random_state=0).fit(X[train])
                totals[(model, k)] += float(np.sum(fitted.score_samples(X[test])))
    n = repeats * len(X)
    return (totals[first] - totals[second]) / n


@dataclass
class Outcome:
    """What one data set of the panel shows."""

    name: str
    shape: tuple
    seconds: float
    mclust_seconds: float
    choice: tuple
    mclust_choice: tuple
    choice_status: str
    n_cells: int
    n_reached: int
    missed: pd.DataFrame = field(repr=False)
    held_out: float | None = None  # ours minus mclust's, per row, where the choices differ

    @property
    def speed(self):
        return self.mclust_seconds / self.seconds

    @property
    def choice_ok(self):
        return self.choice_status == "ok" and (
            self.held_out is None or self.held_out >= -HELD_OUT_TOL)


def run(name, *, with_held_out=True):
    """Run gaussmix's default grid on ``name`` and check it against mclust's."""
    X = load(name)
    ref = reference(name)
    selection, seconds = select_default(X)
    table = selection.table
    merged = cells(selection, ref)
    best = selection.best_params_
    choice = (best["covariance_type"], int(best["n_components"]))
    status = table.loc[(table["covariance_type"] == choice[0])
                       & (table["n_components"] == choice[1]), "status"].iloc[0]
    theirs = mclust_choice(name)
    score = None
    if choice != theirs and with_held_out:
        score = held_out(X, choice, theirs)
    return Outcome(name, X.shape, seconds, mclust_seconds(name), choice, theirs, str(status),
                   len(merged), int(merged["reached"].sum()), merged[~merged["reached"]],
                   score)
