"""Outlier detection on real data, in one run: MixtureOutlierDetector against scikit-learn's.

    python benchmarks/bench_anomaly.py             # 5 seeds, with the ablation of the design
    python benchmarks/bench_anomaly.py --quick     # 2 seeds, detectors only

The panel is scikit-learn's bundled data (no download): one class, subsampled, plays the
outliers among the rows of the others.

* ``breast_cancer``: 357 benign rows, 19 malignant (5%), 30 columns;
* ``wine``: classes 1 and 2 (119 rows), 10 rows of class 0 (7.8%), 13 columns;
* ``iris``: setosa and versicolor (100 rows), 5 virginica (4.8%), 4 columns;
* ``digits``: the digits 1-9 (1617 images), 50 zeros (3%), 64 pixels.

Every seed draws a different subsample of outliers and shuffles the rows. Each detector is
fitted on all the rows (unsupervised; nobody is told the true fraction) and scores them:
``-score_samples`` for MixtureOutlierDetector, IsolationForest and EllipticEnvelope,
``-negative_outlier_factor_`` for LocalOutlierFactor (``novelty=False``), all with their
defaults. Printed: ROC AUC and average precision per data set (mean over seeds), their means
over the panel, each detector's mean rank (1 = best AUC on a data set) and its mean AUC over
IsolationForest's.

The ablation (without ``--quick``) switches the detector's parts off one at a time: a plain
BIC-chosen mixture on the raw columns; standardised + PCA (5 components); + trimmed refits; and
the default (+ small components left out of the score); then the default without
standardisation (for columns in the same units, such as pixels), with 5 and 10 components.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn import datasets
from sklearn.covariance import EllipticEnvelope
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor

import gaussmix as gm

#: name -> (loader, inlier classes, outlier class, outlier fraction of all rows)
PANEL = {
    "breast_cancer": (datasets.load_breast_cancer, [1], 0, 0.05),
    "wine": (datasets.load_wine, [1, 2], 0, 10 / 129),
    "iris": (datasets.load_iris, [0, 1], 2, 0.05),
    "digits": (datasets.load_digits, list(range(1, 10)), 0, 0.03),
}


def task(name, seed):
    """Rows and 0/1 outlier labels of data set ``name`` for ``seed``."""
    loader, inlier_classes, outlier_class, fraction = PANEL[name]
    data = loader()
    rng = np.random.default_rng(seed)
    inliers = np.flatnonzero(np.isin(data.target, inlier_classes))
    outliers = np.flatnonzero(data.target == outlier_class)
    n_out = max(2, round(fraction / (1 - fraction) * len(inliers)))
    rows = rng.permutation(np.concatenate([inliers, rng.choice(outliers, n_out, replace=False)]))
    return data.data[rows].astype(np.float64), (data.target[rows] == outlier_class).astype(int)


def _mixture(**params):
    def outlyingness(X, seed):
        return -gm.MixtureOutlierDetector(random_state=seed, **params).fit(X).score_samples(X)
    return outlyingness


DETECTORS = {
    "MixtureOutlierDetector": _mixture(),
    "IsolationForest": lambda X, seed: -IsolationForest(random_state=seed).fit(X).score_samples(X),
    "LocalOutlierFactor": lambda X, seed: -LocalOutlierFactor().fit(X).negative_outlier_factor_,
    "EllipticEnvelope":
        lambda X, seed: -EllipticEnvelope(random_state=seed).fit(X).score_samples(X),
}
ABLATION = {
    "plain BIC mixture, raw columns": _mixture(n_pca=None, standardize=False, trim=0,
                                               min_component_weight=0),
    "+ standardise, PCA(5)": _mixture(trim=0, min_component_weight=0),
    "+ trimmed refits": _mixture(min_component_weight=0),
    "+ small components out (default)": _mixture(),
    "default, standardize=False": _mixture(standardize=False),
    "default, standardize=False, n_pca=10": _mixture(standardize=False, n_pca=10),
}


def evaluate(detectors, seeds):
    """``{detector: {data set: (mean AUC, mean AP)}}`` and the seconds each detector took."""
    results = {name: {} for name in detectors}
    seconds = dict.fromkeys(detectors, 0.0)
    for data_name in PANEL:
        cases = [task(data_name, seed) for seed in seeds]
        for name, detector in detectors.items():
            aucs, aps = [], []
            for seed, (X, labels) in zip(seeds, cases):
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    outlyingness = detector(X, seed)
                seconds[name] += time.perf_counter() - start
                aucs.append(roc_auc_score(labels, outlyingness))
                aps.append(average_precision_score(labels, outlyingness))
            results[name][data_name] = (float(np.mean(aucs)), float(np.mean(aps)))
    return results, seconds


def report(title, results, seconds, reference=None):
    names = list(results)
    auc = np.array([[results[n][d][0] for d in PANEL] for n in names])
    ap = np.array([[results[n][d][1] for d in PANEL] for n in names])
    ranks = (-auc).argsort(axis=0).argsort(axis=0) + 1
    print(f"\n{title}")
    header = "".join(f"{d:>16}" for d in PANEL)
    print(f"{'ROC AUC / average precision':<38}{header}{'mean':>14}{'rank':>6}"
          + (f"{'/IF':>7}" if reference else "") + f"{'time':>8}")
    for i, name in enumerate(names):
        cells = "".join(f"{a:>9.3f} /{p:>5.2f}" for a, p in zip(auc[i], ap[i]))
        line = f"{name:<38}{cells}{auc[i].mean():>7.3f} /{ap[i].mean():>5.2f}"
        line += f"{ranks[:, :][i].mean():>6.2f}" if len(names) > 1 else f"{'':>6}"
        if reference:
            line += f"{auc[i].mean() / np.mean([reference[d][0] for d in PANEL]):>7.3f}"
        print(line + f"{seconds[name]:>7.1f}s", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds and no ablation.")
    parser.add_argument("--seeds", type=int, default=None, help="Number of seeds (default 5).")
    args = parser.parse_args(argv)
    seeds = list(range(args.seeds or (2 if args.quick else 5)))
    print(f"outlier detection panel, seeds {seeds}; scores on the training rows")
    results, seconds = evaluate(DETECTORS, seeds)
    report("detectors (defaults)", results, seconds, reference=results["IsolationForest"])
    if not args.quick:
        ablation, ablation_seconds = evaluate(ABLATION, seeds)
        report("ablation of MixtureOutlierDetector", ablation, ablation_seconds,
               reference=results["IsolationForest"])


if __name__ == "__main__":
    main()
