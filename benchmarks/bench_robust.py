"""Robustness to heavy tails and gross outliers: Gaussian, Student-t and noise-component fits.

    python benchmarks/bench_robust.py                       # 3 seeds
    python benchmarks/bench_robust.py --seeds 1             # quicker
    python benchmarks/bench_robust.py --markdown robust.md  # also write the table as Markdown

Data (nothing is downloaded; each standardised with its clean rows' mean and standard deviation):

* ``sp500``: S&P 500 daily log returns (percent) against the previous day's return, 1999-2018
  (5,029 rows, heavy tails; needs the optional ``arch`` package, skipped without it); no classes,
  2 components;
* ``iris`` (150 x 4, 3 species), ``wine`` (178 x 13, 3 cultivars), ``breast_cancer`` (569 x 30,
  2 diagnoses): scikit-learn's bundled copies;
* ``old_faithful`` (272 x 2, gaussmix's copy): no classes, 2 components.

Protocol, for each seed: the clean rows are split 70/30 (stratified by class where there are
classes). Each estimator is fitted on the 70% as they are (``clean``) and with 5% of them
replaced by gross outliers (``5% outliers``): points drawn uniformly in the box ten times the
clean data's range on every axis, centred on the middle of that range. Reported, as means over
seeds:

* ``held-out``: mean log-likelihood per row of the 30% held out (clean rows; higher is better);
* ``ARI``: adjusted Rand index of ``predict`` against the true classes on the clean rows (the
  held-out rows and the training rows that were not replaced; outliers excluded; a noise fit's
  ``-1`` counts as a cluster of its own);
* ``caught``: the share of the injected outliers that a noise fit's ``predict`` labels ``-1``;
* ``fit s``: seconds per fit.

Estimators, all with the true number of classes, full covariances, ``n_init=3`` and a fixed
``random_state``: ``GaussianMixture``; ``StudentMixture`` (degrees of freedom per component);
``GaussianMixture(noise=True)`` and ``StudentMixture(noise=True)`` (mclust's uniform noise
component over the bounding box). An estimator that this version of gaussmix does not have yet
is skipped with a note; a fit that fails counts as ``failed``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn import datasets as sk_datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import train_test_split

import gaussmix as gm

CONTAMINATION = 0.05
BOX_FACTOR = 10.0
CONDITIONS = ("clean", "5% outliers")
N_INIT = 3


def sp500():
    """(return of the day, return of the day before), percent, or None without ``arch``."""
    try:
        from gaussmix.apps.finance import load_sp500, log_returns

        prices = load_sp500()["Adj Close"]
    except ImportError:
        return None
    r = np.asarray(log_returns(prices), dtype=np.float64)
    r = r[np.isfinite(r)]
    return np.column_stack([r[1:], r[:-1]]), None, 2


def _sklearn(loader):
    data = loader()
    return np.asarray(data.data, dtype=np.float64), data.target, len(np.unique(data.target))


#: name -> () -> (X, classes or None, n_components), or None where the data are not installed
DATASETS = {
    "sp500": sp500,
    "iris": lambda: _sklearn(sk_datasets.load_iris),
    "wine": lambda: _sklearn(sk_datasets.load_wine),
    "breast_cancer": lambda: _sklearn(sk_datasets.load_breast_cancer),
    "old_faithful": lambda: (gm.datasets.load_old_faithful(), None, 2),
}


def estimators():
    """name -> factory(n_components, random_state) for the estimators this gaussmix has, and the
    notes on those it lacks."""
    common = {"covariance_type": "full", "n_init": N_INIT}
    has_student = hasattr(gm, "StudentMixture")
    gaussian_noise = "noise" in gm.GaussianMixture().get_params()
    student_noise = has_student and "noise" in gm.StudentMixture().get_params()
    found = {"GaussianMixture": lambda k, seed: gm.GaussianMixture(k, random_state=seed, **common)}
    notes = []
    if has_student:
        found["StudentMixture"] = lambda k, seed: gm.StudentMixture(k, random_state=seed, **common)
    else:
        notes.append("StudentMixture: not in this gaussmix (issue 28), rows skipped")
    if gaussian_noise:
        found["GaussianMixture(noise=True)"] = lambda k, seed: gm.GaussianMixture(
            k, noise=True, random_state=seed, **common)
    else:
        notes.append("GaussianMixture(noise=True): no noise parameter yet (issue 28), rows skipped")
    if student_noise:
        found["StudentMixture(noise=True)"] = lambda k, seed: gm.StudentMixture(
            k, noise=True, random_state=seed, **common)
    elif has_student:
        notes.append("StudentMixture(noise=True): no noise parameter yet, rows skipped")
    return found, notes


def contaminate(X, fraction, rng, box_factor=BOX_FACTOR, like=None):
    """``X`` with ``round(fraction * n)`` rows (chosen at random) replaced by points uniform in
    the box ``box_factor`` times the range of ``like`` (default ``X``) on every axis, centred on
    the middle of that range; and the 0/1 mask of the replaced rows."""
    like = X if like is None else like
    low, high = like.min(axis=0), like.max(axis=0)
    centre, half = (low + high) / 2, box_factor * (high - low) / 2
    n_out = round(fraction * len(X))
    rows = rng.choice(len(X), size=n_out, replace=False)
    out = X.copy()
    out[rows] = rng.uniform(centre - half, centre + half, size=(n_out, X.shape[1]))
    mask = np.zeros(len(X), dtype=bool)
    mask[rows] = True
    return out, mask


def run_one(make, X_train, X_test, classes_train, classes_test, outliers, k, seed):
    """One fit and its measures: held-out mean log-likelihood, ARI on the clean rows, share of
    the outliers labelled -1, seconds."""
    model = make(k, seed)
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train)
    seconds = time.perf_counter() - tic
    held_out = float(model.score(X_test))
    labels_train = model.predict(X_train)
    labels_test = model.predict(X_test)
    ari = np.nan
    if classes_train is not None:
        keep = ~outliers
        ari = adjusted_rand_score(np.concatenate([classes_train[keep], classes_test]),
                                  np.concatenate([labels_train[keep], labels_test]))
    has_noise = bool(model.get_params().get("noise", False))
    caught = np.nan
    if has_noise and outliers.any():
        caught = float(np.mean(labels_train[outliers] == -1))
    return {"held_out": held_out, "ari": ari, "caught": caught, "seconds": seconds}


def run(names, seeds):
    """{(data set, estimator, condition): list of measures over seeds}, and the notes."""
    makers, notes = estimators()
    results = {}
    for name in names:
        data = DATASETS[name]()
        if data is None:
            notes.append(f"{name}: data not installed (pip install 'gaussmix[finance]'), skipped")
            continue
        X, classes, k = data
        X = (X - X.mean(axis=0)) / X.std(axis=0)
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            index = np.arange(len(X))
            train, test = train_test_split(index, test_size=0.3, random_state=seed,
                                           stratify=classes)
            dirty, outliers = contaminate(X[train], CONTAMINATION, rng, like=X)
            clean_mask = np.zeros(len(train), dtype=bool)
            for condition, X_train, mask in (("clean", X[train], clean_mask),
                                             ("5% outliers", dirty, outliers)):
                for estimator, make in makers.items():
                    try:
                        measures = run_one(make, X_train, X[test],
                                           None if classes is None else classes[train],
                                           None if classes is None else classes[test],
                                           mask, k, seed)
                    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as error:
                        message = (str(error).splitlines() or [type(error).__name__])[0]
                        measures = {"failed": message}
                        notes.append(f"{name}, {estimator}, {condition}, seed {seed}: failed: "
                                     f"{message[:120]}")
                    results.setdefault((name, estimator, condition), []).append(measures)
    return results, notes


def summary(results):
    """Rows of (data set, estimator, held-out clean and contaminated, ARI clean and
    contaminated, outliers caught, seconds per fit), means over seeds."""
    rows = []
    keys = sorted({(name, est) for name, est, _ in results},
                  key=lambda key: (list(DATASETS).index(key[0]), key[1]))
    for name, estimator in keys:
        runs = {c: results.get((name, estimator, c), []) for c in CONDITIONS}
        ok = {c: [r for r in runs[c] if "failed" not in r] for c in CONDITIONS}

        def mean(measure, condition, fmt, runs=runs, ok=ok):
            if not ok[condition]:
                return "failed"
            values = np.array([r[measure] for r in ok[condition]], dtype=np.float64)
            text = "-" if np.all(np.isnan(values)) else fmt.format(np.nanmean(values))
            n_failed = len(runs[condition]) - len(ok[condition])
            if n_failed and measure == "held_out":
                text += f" ({n_failed}/{len(runs[condition])} failed)"
            return text

        seconds = [r["seconds"] for c in CONDITIONS for r in ok[c]]
        rows.append([name, estimator,
                     mean("held_out", CONDITIONS[0], "{:.3f}"),
                     mean("held_out", CONDITIONS[1], "{:.3f}"),
                     mean("ari", CONDITIONS[0], "{:.3f}"),
                     mean("ari", CONDITIONS[1], "{:.3f}"),
                     mean("caught", CONDITIONS[1], "{:.0%}"),
                     f"{np.mean(seconds):.2f}" if seconds else "-"])
    return rows


HEADER = ["data", "estimator", "held-out, clean", "held-out, 5% outliers", "ARI, clean",
          "ARI, 5% outliers", "outliers caught", "fit s"]


def plain(rows):
    widths = [max(len(str(r[i])) for r in [HEADER] + rows) for i in range(len(HEADER))]
    lines = ["  ".join(str(c).rjust(w) if i > 1 else str(c).ljust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in [HEADER] + rows]
    return "\n".join(lines)


def markdown(rows, notes, seeds):
    intro = (f"Robustness benchmark (`python benchmarks/bench_robust.py --seeds {seeds}`): means "
             "over seeds; held-out = mean log-likelihood per held-out clean row (standardised "
             "data), ARI on the clean rows, caught = share of injected outliers labelled -1, "
             "fit s = seconds per fit.")
    out = [intro, "",
           "| " + " | ".join(HEADER) + " |",
           "|" + "|".join(["---", "---"] + ["---:"] * (len(HEADER) - 2)) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    if notes:
        out += [""] + [f"- {note}" for note in notes]
    return "\n".join(out) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="train/test splits (default 3)")
    parser.add_argument("--data", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--markdown", type=Path, metavar="PATH",
                        help="also write the table as Markdown to PATH")
    args = parser.parse_args(argv)
    results, notes = run(args.data, args.seeds)
    for note in notes:
        print(f"note: {note}")
    rows = summary(results)
    print(plain(rows))
    if args.markdown:
        args.markdown.write_text(markdown(rows, notes, args.seeds))
        print(f"wrote {args.markdown}")


if __name__ == "__main__":
    main()
