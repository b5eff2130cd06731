"""Outlier detection on the public anomaly panel: MixtureOutlierDetector against IsolationForest
and PyOD's GMM and LOF, in the two settings, with data sets kept out of development as a check.

    python benchmarks/bench_anomaly.py                     # everything (about ten minutes)
    python benchmarks/bench_anomaly.py --quick             # small sets, 2 seeds: a smoke run
    python benchmarks/bench_anomaly.py --markdown out.md   # also write the tables as Markdown

Data (no download):

* **panel**: the seven sets of ``benchmarks/anomaly/`` (ODDS outlier definitions on R's
  mlbench data, see ``benchmarks/anomaly/README.md``). The last column marks the outliers; it
  is split off here and only ever reaches the metrics.
* **off-panel**: scikit-learn's bundled data with one class, subsampled, as the outliers (never
  used to choose a default): ``breast_cancer`` (357 benign rows, 19 malignant, 30 columns),
  ``wine`` (classes 1 and 2, 10 rows of class 0, 13 columns), ``iris`` (setosa and versicolor,
  5 virginica), ``digits`` (the digits 1-9, 50 zeros, 64 pixels). Each seed draws another
  subsample of the outliers.

Settings, each seed ``s`` in ``0 .. n_seeds - 1`` (metrics averaged over the seeds):

* **outlier detection**: every detector is fitted on all rows (outliers included, fraction not
  told) and scores the same rows.
* **novelty detection**: a random 60% of the inliers (``numpy.random.default_rng(s)``, the same
  rows for every detector) is the training set; the other 40% of the inliers and all the
  outliers are scored.

Detectors, with ``random_state=s`` where they take one: ``MixtureOutlierDetector()`` at its
defaults; ``IsolationForest(n_estimators=200)``; PyOD's ``GMM()`` and ``LOF()`` at their
defaults (skipped, with a note, when ``pyod`` is not installed). Scores: ``-score_samples``
(ours, IsolationForest), PyOD's ``decision_function`` on the scored rows, except LOF in the
outlier setting, whose training scores (``decision_scores_``) leave each row out of its own
neighbourhood. ROC AUC and average precision per set; fit time is the mean wall time of one
``fit`` (with the process CPU time of ours in the log, as the machine may be shared).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn import datasets
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score

import gaussmix as gm

HERE = Path(__file__).resolve().parent / "anomaly"
PANEL = ["breastw", "glass", "ionosphere", "pima", "satellite", "satimage2", "shuttle"]
QUICK_PANEL = ["breastw", "glass", "ionosphere", "pima"]
#: name -> (loader, inlier classes, outlier class, outlier fraction of all rows)
OFF_PANEL = {
    "breast_cancer": (datasets.load_breast_cancer, [1], 0, 0.05),
    "wine": (datasets.load_wine, [1, 2], 0, 10 / 129),
    "iris": (datasets.load_iris, [0, 1], 2, 0.05),
    "digits": (datasets.load_digits, list(range(1, 10)), 0, 0.03),
}
QUICK_OFF_PANEL = ["wine", "iris"]
NOVELTY_TRAIN_FRACTION = 0.6
log = logging.getLogger("bench_anomaly")


def load_panel(name):
    """Rows and 0/1 outlier labels of panel set ``name`` (the label column split off)."""
    import pandas as pd

    frame = pd.read_csv(HERE / f"{name}.csv.gz")
    return frame.iloc[:, :-1].to_numpy(np.float64), frame.iloc[:, -1].to_numpy(int)


def load_off_panel(name, seed):
    """Rows and 0/1 labels of off-panel set ``name``, its outliers drawn with ``seed``."""
    loader, inlier_classes, outlier_class, fraction = OFF_PANEL[name]
    data = loader()
    rng = np.random.default_rng(seed)
    inliers = np.flatnonzero(np.isin(data.target, inlier_classes))
    outliers = np.flatnonzero(data.target == outlier_class)
    n_out = max(2, round(fraction / (1 - fraction) * len(inliers)))
    rows = rng.permutation(np.concatenate([inliers, rng.choice(outliers, n_out, replace=False)]))
    return data.data[rows].astype(np.float64), (data.target[rows] == outlier_class).astype(int)


def novelty_split(labels, seed):
    """``(train, test)`` row indices: a random 60% of the inliers, and everything else."""
    rng = np.random.default_rng(seed)
    inliers = np.flatnonzero(labels == 0)
    train = np.sort(rng.choice(inliers, round(NOVELTY_TRAIN_FRACTION * len(inliers)),
                               replace=False))
    return train, np.setdiff1d(np.arange(len(labels)), train)


# ---------------------------------------------------------------------- detectors
# Each: (X_train, X_test or None, seed) -> (outlyingness of the scored rows, fit seconds).
def ours(X_train, X_test, seed):
    detector = gm.MixtureOutlierDetector(random_state=seed)
    start, cpu = time.perf_counter(), time.process_time()
    detector.fit(X_train)
    seconds = time.perf_counter() - start
    log.info("ours: %d x %d fitted in %.2f s (%.2f s CPU)", *X_train.shape, seconds,
             time.process_time() - cpu)
    return -detector.score_samples(X_train if X_test is None else X_test), seconds


def isolation_forest(X_train, X_test, seed):
    forest = IsolationForest(n_estimators=200, random_state=seed)
    start = time.perf_counter()
    forest.fit(X_train)
    seconds = time.perf_counter() - start
    return -forest.score_samples(X_train if X_test is None else X_test), seconds


def _pyod(make, training_scores=False):
    def detect(X_train, X_test, seed):
        model = make(seed)
        start = time.perf_counter()
        model.fit(X_train)
        seconds = time.perf_counter() - start
        if X_test is None:
            return (model.decision_scores_ if training_scores
                    else model.decision_function(X_train)), seconds
        return model.decision_function(X_test), seconds
    return detect


def detectors():
    """``{name: detector}``; PyOD's only when it is installed."""
    found = {"MixtureOutlierDetector": ours, "IsolationForest": isolation_forest}
    try:
        from pyod.models.gmm import GMM
        from pyod.models.lof import LOF
    except ImportError:
        print("note: pyod is not installed (pip install pyod): its GMM and LOF are skipped")
        return found
    found["PyOD GMM"] = _pyod(lambda seed: GMM(random_state=seed))
    found["PyOD LOF"] = _pyod(lambda seed: LOF(), training_scores=True)
    return found


# ---------------------------------------------------------------------- evaluation
def evaluate(cases, found, setting):
    """``{set: {detector: (AUC, AP, fit seconds)}}``, means over the cases' seeds.

    ``cases``: ``{set: [(seed, X, labels), ...]}``.
    """
    results = {}
    for set_name, runs in cases.items():
        results[set_name] = {}
        for name, detect in found.items():
            rows = []
            for seed, X, labels in runs:
                if setting == "novelty":
                    train, test = novelty_split(labels, seed)
                    X_train, X_test, y = X[train], X[test], labels[test]
                else:
                    X_train, X_test, y = X, None, labels
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    outlyingness, seconds = detect(X_train, X_test, seed)
                rows.append((roc_auc_score(y, outlyingness),
                             average_precision_score(y, outlyingness), seconds))
            results[set_name][name] = tuple(np.mean(rows, axis=0))
        print(f"  {set_name:<14}" + "".join(
            f"{name[:22]:>24}: {auc:.3f} / {ap:.3f} / {sec:6.2f} s"
            for name, (auc, ap, sec) in results[set_name].items()), flush=True)
    return results


def table(title, results, shapes, names):
    """Markdown lines: one row per data set, a cell ``AUC / AP / fit time`` per detector."""
    lines = [f"**{title}** (ROC AUC / average precision / fit time)", "",
             "| data set | n x d | " + " | ".join(names) + " |",
             "|---|---|" + "---|" * len(names)]
    for set_name, row in results.items():
        best_auc = max(row[n][0] for n in names)
        best_ap = max(row[n][1] for n in names)
        cells = []
        for n in names:
            auc, ap, sec = row[n]
            auc_text = f"**{auc:.3f}**" if auc == best_auc else f"{auc:.3f}"
            ap_text = f"**{ap:.3f}**" if ap == best_ap else f"{ap:.3f}"
            cells.append(f"{auc_text} / {ap_text} / {sec:.2f} s")
        lines.append(f"| {set_name} | {shapes[set_name]} | " + " | ".join(cells) + " |")
    means = [np.mean([results[s][n][:2] for s in results], axis=0) for n in names]
    lines.append("| mean | | " + " | ".join(f"{auc:.3f} / {ap:.3f}" for auc, ap in means)
                 + " |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="The small sets only, 2 seeds: a smoke run.")
    parser.add_argument("--seeds", type=int, default=None, help="Number of seeds (default 5).")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="Write the tables to this Markdown file.")
    parser.add_argument("--setting", choices=["outlier", "novelty", "both"], default="both")
    parser.add_argument("-v", "--verbose", action="store_true", help="Log our fit times.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(message)s")
    seeds = list(range(args.seeds or (2 if args.quick else 5)))
    panel = QUICK_PANEL if args.quick else PANEL
    off_panel = QUICK_OFF_PANEL if args.quick else list(OFF_PANEL)
    found = detectors()
    names = list(found)
    panel_cases, off_cases, shapes = {}, {}, {}
    for name in panel:
        X, labels = load_panel(name)
        panel_cases[name] = [(seed, X, labels) for seed in seeds]
        shapes[name] = f"{X.shape[0]} x {X.shape[1]}"
    for name in off_panel:
        off_cases[name] = [(seed, *load_off_panel(name, seed)) for seed in seeds]
        shapes[name] = "{} x {}".format(*off_cases[name][0][1].shape)
    print(f"seeds {seeds}; {os.cpu_count()} cores, load average "
          + " ".join(f"{v:.1f}" for v in os.getloadavg()))
    settings = ["outlier", "novelty"] if args.setting == "both" else [args.setting]
    lines = []
    for setting in settings:
        label = ("outlier detection (trained on the contaminated rows)" if setting == "outlier"
                 else "novelty detection (trained on 60% of the inliers)")
        for group, cases in (("panel", panel_cases), ("off-panel", off_cases)):
            print(f"\n{group}, {label}", flush=True)
            results = evaluate(cases, found, setting)
            lines += table(f"{group}, {label}", results, shapes, names) + [""]
    print("\n" + "\n".join(lines))
    if args.markdown is not None:
        args.markdown.write_text("\n".join(lines))
        print(f"wrote {args.markdown}")


if __name__ == "__main__":
    main()
