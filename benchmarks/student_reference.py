"""Reference fits of Student-t mixtures by ``studenttmixture`` (PyPI), for
``tests/test_student_reference.py``.

    pip install studenttmixture           # not a requirement of gaussmix or its tests
    python benchmarks/student_reference.py          # writes tests/reference/studenttmixture.json

``studenttmixture.EMStudentMixture`` (J. Parkinson; full scale matrices, one degrees of freedom
per component estimated by Newton's method in an ECM step) is fitted with its own start (k-means
centres, every scale the data's covariance, equal weights, df 4), ``fixed_df=False``, a tight
tolerance (``tol=1e-10`` on the change of the mean log-likelihood, ``max_iter=20000``) and a
negligible ``reg_covar`` (1e-10). On iris and Old Faithful some components are nearly Gaussian:
their degrees of freedom grow without bound and the log-likelihood creeps up forever, so a tight
tolerance never stops (studenttmixture gives up and keeps no fit); there it uses ``tol=1e-6``
and ``max_iter=3000``, and its log-likelihood is short of the supremum (a bound ours must
reach all the more). For each data set the table records its start (the k-means
centres it begins from), its fitted weights, locations, scale matrices and degrees of freedom,
and its log-likelihood at those parameters (``score(X) * n``; the value it prints as its lower
bound belongs to the parameters one M-step earlier).

Data sets:

* ``t_simulated``: 4,000 rows drawn with numpy from ``SEED`` (:func:`simulated_t`), two 2-D
  Student-t components with 4 and 15 degrees of freedom; the test regenerates the rows with the
  same function (a copy) and checks them against the checksum recorded here;
* ``sp500``: S&P 500 daily log returns (percent) against the previous day's return, 5,029 rows,
  from ``gaussmix.apps.finance.load_sp500`` (needs the optional ``arch`` package);
* ``iris``: ``tests/reference/iris.csv`` (3 components);
* ``old_faithful``: the CSV gaussmix ships (2 components).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import gaussmix as gm

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "tests" / "reference" / "studenttmixture.json"
SEED = 20280
#: the truth of ``t_simulated``
TRUE_WEIGHTS = [0.5, 0.5]
TRUE_MEANS = [[0.0, 0.0], [6.0, 3.0]]
TRUE_SCALES = [[[1.0, 0.5], [0.5, 1.0]], [[2.0, -0.6], [-0.6, 1.0]]]
TRUE_DOFS = [4.0, 15.0]


def simulated_t(n=4000, seed=SEED):
    """Rows and labels of a two-component multivariate-t mixture with the ``TRUE_*`` parameters:
    ``x = mean + z / sqrt(g / df)``, ``z ~ N(0, scale)`` (standard normals times the Cholesky
    factor: no SVD, whose signs may differ between LAPACK builds), ``g ~ chi2(df)``."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(TRUE_WEIGHTS), size=n, p=TRUE_WEIGHTS)
    X = np.empty((n, 2))
    for k, (mean, scale, dof) in enumerate(zip(TRUE_MEANS, TRUE_SCALES, TRUE_DOFS, strict=True)):
        rows = labels == k
        z = rng.standard_normal((rows.sum(), 2)) @ np.linalg.cholesky(scale).T
        g = rng.chisquare(dof, size=rows.sum())
        X[rows] = np.asarray(mean) + z / np.sqrt(g / dof)[:, None]
    return X, labels


def sp500_lagged():
    """(return of the day, return of the day before), percent log returns, S&P 500 1999-2018."""
    from gaussmix.apps.finance import load_sp500, log_returns

    r = np.asarray(log_returns(load_sp500()["Adj Close"]), dtype=np.float64)
    r = r[np.isfinite(r)]
    return np.column_stack([r[1:], r[:-1]])


def datasets():
    """name -> (X, n_components, tol, max_iter)."""
    iris = np.loadtxt(ROOT / "tests" / "reference" / "iris.csv", delimiter=",", skiprows=1)
    return {
        "t_simulated": (simulated_t()[0], 2, 1e-10, 20000),
        "sp500": (sp500_lagged(), 2, 1e-10, 20000),
        "iris": (iris, 3, 1e-6, 3000),
        "old_faithful": (gm.datasets.load_old_faithful(), 2, 1e-6, 3000),
    }


def fit_reference(X, n_components, tol, max_iter, random_state=0):
    """studenttmixture's fit and its record."""
    from studenttmixture import EMStudentMixture

    model = EMStudentMixture(n_components=n_components, tol=tol, reg_covar=1e-10,
                             max_iter=max_iter, n_init=1, df=4.0, fixed_df=False,
                             random_state=random_state, init_type="kmeans")
    start = model.kmeans_initialization(X, random_state)  # what fit() starts from
    tic = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - tic
    return {
        "n": int(X.shape[0]), "d": int(X.shape[1]), "n_components": n_components,
        "checksum": [float(X.sum()), float((X ** 2).sum())],
        "tol": tol, "max_iter": max_iter,
        "loglik": float(model.score(X) * X.shape[0]),
        "converged": bool(model.converged_),
        "seconds": round(seconds, 3),
        "start_means": start.tolist(),
        "weights": model.mix_weights_.tolist(),
        "means": model.location_.tolist(),
        "scales": np.moveaxis(model.scale_, -1, 0).tolist(),  # (K, D, D)
        "dofs": model.df_.tolist(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    from importlib.metadata import version

    records = {}
    for name, (X, n_components, tol, max_iter) in datasets().items():
        records[name] = fit_reference(X, n_components, tol, max_iter)
        r = records[name]
        print(f"{name:13s} n={r['n']:5d} K={n_components} loglik={r['loglik']:.6f} "
              f"dofs={np.round(r['dofs'], 3).tolist()} ({r['seconds']:.1f} s)")
    out = {
        "description": "studenttmixture EMStudentMixture fits; made by "
                       "benchmarks/student_reference.py (see its docstring)",
        "studenttmixture": version("studenttmixture"),
        "settings": {"reg_covar": 1e-10, "df_start": 4.0, "n_init": 1,
                     "fixed_df": False, "init_type": "kmeans", "random_state": 0},
        "simulated": {"seed": SEED, "n": 4000, "weights": TRUE_WEIGHTS, "means": TRUE_MEANS,
                      "scales": TRUE_SCALES, "dofs": TRUE_DOFS},
        "records": records,
    }
    args.output.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
