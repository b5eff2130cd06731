"""Shared pieces of the core test-suite: data, independent references and comparisons.

References come from scipy and scikit-learn, never from gaussmix itself, and data is
drawn from generators seeded by the fixed, printed ``SEED`` of ``conftest.py``. The covariance
models a test runs over come from the registry (``gaussmix.engine.covariance``), chosen by a
rule (:data:`ONE_PER_REPRESENTATION`, :data:`SKLEARN_TYPES`, ...), never listed by name:
``tests/test_architecture.py`` refuses such lists.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from gaussmix.engine import covariance
from gaussmix.engine.covariance import Diagonals, Matrices, Shared, Variances


def _sklearn_covariance_types():
    from sklearn.mixture import GaussianMixture

    (options,) = GaussianMixture._parameter_constraints["covariance_type"]
    return options.options


#: The built-in models (the fourteen), by the names gaussmix gives them.
MODELS = tuple(model.name for model in covariance.BUILTIN)
#: The models scikit-learn has too (its ``covariance_type`` options), in the registry's order:
#: what a comparison with scikit-learn runs over.
SKLEARN_TYPES = tuple(name for name in MODELS if name in _sklearn_covariance_types())
#: mclust's models that scikit-learn lacks.
MCLUST_ONLY = tuple(name for name in MODELS if name not in SKLEARN_TYPES)
#: The fast subset: the first model of each representation, (K, D, D), (D, D), (K, D) and (K,)
#: (the four of scikit-learn).
ONE_PER_REPRESENTATION = tuple(
    next(model.name for model in covariance.BUILTIN if isinstance(model, representation))
    for representation in (Matrices, Shared, Diagonals, Variances)
)
#: Every other model of :data:`MCLUST_ONLY` (EII, VEI, VEE, VVE, VEV: equal and variable
#: volumes, both diagonal representations, and the iterative M-steps of the dense one).
MCLUST_SAMPLE = MCLUST_ONLY[::2]
#: What most tests run over: one model per representation.
COVARIANCE_TYPES = ONE_PER_REPRESENTATION
#: Two models of different layouts, for a test that needs two: a dense and a diagonal one.
TWO_TYPES = (ONE_PER_REPRESENTATION[0], ONE_PER_REPRESENTATION[2])


def models_where(predicate, names=ONE_PER_REPRESENTATION):
    """The names in ``names`` whose model (``covariance.get(name)``) satisfies ``predicate``."""
    return tuple(name for name in names if predicate(covariance.get(name)))


def structured_estimators(n_components=2, **params):
    """The high-dimensional estimators a test runs over, from the engine's registries of their
    submodels: a :class:`~gaussmix.HighDimensionalMixture` per HDDC submodel (HDclassif's
    fourteen, dimensions by Cattell's scree test) and one with a fixed dimension, and a
    :class:`~gaussmix.FactorMixture` per PGMM model (the eight, two factors)."""
    import gaussmix as gm
    from gaussmix.engine.covariance.factors import FACTOR_MODELS
    from gaussmix.engine.covariance.subspace import SUBSPACE_MODELS

    hddc = [gm.HighDimensionalMixture(n_components, model=name, **params)
            for name in SUBSPACE_MODELS]
    fixed = [gm.HighDimensionalMixture(n_components, model=next(iter(SUBSPACE_MODELS)),
                                       dimension=2, **params)]
    factors = [gm.FactorMixture(n_components, model=name, n_factors=2, **params)
               for name in FACTOR_MODELS]
    return hddc + fixed + factors


def one_per_estimator(estimators):
    """The first of ``estimators`` of each class (the fast subset)."""
    first = {}
    for estimator in estimators:
        first.setdefault(type(estimator), estimator)
    return list(first.values())


def estimator_id(estimator):
    """A test id naming an estimator by its class and own parameters (``model``, ...)."""
    own = [str(getattr(estimator, name)) for name in ("model", "dimension", "n_factors")
           if hasattr(estimator, name)]
    return "-".join([type(estimator).__name__, *own])


SKLEARN_INITS = ("kmeans", "k-means++", "random", "random_from_data")
DTYPES = (np.float64, np.float32)

# Attributes every fitted model has, compared between two fits.
FITTED_ARRAYS = ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_")


def three_blobs(rng, n_per_blob=(150, 150, 100), n_features=3, dtype=np.float64):
    """Three overlapping, anisotropic blobs: EM needs several iterations to settle on them."""
    centres = np.array([[-3.0, 0.0, 1.0], [3.0, 1.0, -1.0], [0.0, 5.0, 0.0]])[:, :n_features]
    parts = []
    for centre, n, scale in zip(centres, n_per_blob, (1.0, 1.5, 0.7)):
        mix = rng.normal(size=(n_features, n_features)) * 0.4 + np.eye(n_features)
        parts.append(centre + scale * rng.normal(size=(n, n_features)) @ mix)
    X = np.vstack(parts)
    return X[rng.permutation(len(X))].astype(dtype)


def spread_start(X, n_components, covariance_type, rng):
    """An explicit starting point (weights, means, precisions) independent of any initialiser.

    Means are distinct random rows, weights are unequal, and the precisions come from the data
    covariance scaled per component, in the shape ``covariance_type`` asks for.
    """
    X = np.asarray(X, dtype=np.float64)
    means = X[rng.choice(len(X), n_components, replace=False)]
    weights = rng.uniform(0.5, 1.5, n_components)
    weights /= weights.sum()
    data_cov = np.atleast_2d(np.cov(X, rowvar=False))
    scales = rng.uniform(0.5, 1.5, n_components)
    if covariance_type == "full":
        precisions = np.stack([np.linalg.inv(s * data_cov) for s in scales])
    elif covariance_type == "tied":
        precisions = np.linalg.inv(data_cov)
    elif covariance_type == "diag":
        precisions = 1.0 / (scales[:, None] * np.diag(data_cov)[None, :])
    else:
        precisions = 1.0 / (scales * np.mean(np.diag(data_cov)))
    return {"weights_init": weights, "means_init": means, "precisions_init": precisions}


def full_covariances(covariances, covariance_type, n_components, n_features):
    """Expand any covariance representation to ``(n_components, n_features, n_features)``."""
    c = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return c
    if covariance_type == "tied":
        return np.broadcast_to(c, (n_components, n_features, n_features))
    if covariance_type == "diag":
        return np.stack([np.diag(v) for v in c])
    return np.stack([v * np.eye(n_features) for v in c])


def scipy_component_logpdf(X, model):
    """``log w_k + log N(x | mu_k, Sigma_k)`` per row and component, from scipy alone."""
    X = np.asarray(X, dtype=np.float64)
    k, d = model.means_.shape
    covs = full_covariances(model.covariances_, model.covariance_type, k, d)
    weights = np.asarray(model.weights_, dtype=np.float64)
    means = np.asarray(model.means_, dtype=np.float64)
    return np.column_stack(
        [
            np.log(weights[j]) + multivariate_normal(means[j], covs[j]).logpdf(X).reshape(-1)
            for j in range(k)
        ]
    )


def scipy_mixture_logpdf(X, model):
    """Mixture log-density computed independently with ``multivariate_normal.logpdf``."""
    return logsumexp(scipy_component_logpdf(X, model), axis=1)


def scipy_responsibilities(X, model):
    comp = scipy_component_logpdf(X, model)
    return np.exp(comp - logsumexp(comp, axis=1, keepdims=True))


def match_components(estimated_means, true_means):
    """Permutation ``p`` with ``estimated_means[p[k]]`` closest to ``true_means[k]`` (Hungarian)."""
    cost = ((true_means[:, None, :] - estimated_means[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    return cols[np.argsort(rows)]


def assert_same_fit(a, b, rtol=1e-7, atol=1e-9, attributes=FITTED_ARRAYS):
    """Two fitted mixtures agree attribute by attribute (same labels, same shapes).

    Each entry must agree to ``rtol`` relative to itself or to ``rtol`` times the largest entry
    of the same attribute (so that an off-diagonal 0 next to a 1e3 diagonal is judged on the
    matrix's scale), or to ``atol``.
    """
    for name in attributes:
        actual = np.asarray(getattr(a, name), dtype=np.float64)
        desired = np.asarray(getattr(b, name), dtype=np.float64)
        assert actual.shape == desired.shape, name
        scale = np.max(np.abs(desired)) if desired.size else 0.0
        assert_allclose(actual, desired, rtol=rtol, atol=max(atol, rtol * scale), err_msg=name)


# ---------------------------------------------------------------------- model files, tampered
def model_file_arrays(path):
    """Every member of a model file (an ``.npz`` archive), read without unpickling."""
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def tampered_model_file(tmp_path, source, change):
    """A copy of the model file ``source`` after ``change(arrays, metadata)`` edited its members
    and its JSON metadata in place; returns the copy's path."""
    arrays = model_file_arrays(source)
    metadata = json.loads(arrays["metadata"].tobytes())
    change(arrays, metadata)
    arrays["metadata"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    path = tmp_path / "tampered.npz"
    np.savez(path, **arrays)
    return path


def set_metadata(key, value):
    """A ``change`` for :func:`tampered_model_file`: metadata ``key`` set to ``value``."""
    def change(arrays, metadata):
        metadata[key] = value

    return change


def _needs_chromium():
    from gaussmix.apps.explore.headless import find_chromium

    return pytest.mark.skipif(
        find_chromium() is None,
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
        "chromium-driver; .ci/run installs them)",
    )


#: The explorer's browser tests run where Debian's chromium and its driver are installed.
NEEDS_CHROMIUM = _needs_chromium()


@contextmanager
def explore_server(folder, *arguments):
    """A real ``gaussmix explore --no-browser`` (with ``arguments``) on a free port, answering
    on 127.0.0.1: yields ``(url, port, log)`` once it serves its page, and stops it after.
    Fails the test, with the server's log, if it exits early or does not answer in 90 s."""
    from gaussmix.apps.explore.headless import free_port

    port = free_port()
    log = folder / "explore.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gaussmix", "explore", "--no-browser", "--port", str(port),
             *arguments],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "MPLBACKEND": "Agg"})
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"gaussmix explore exited early:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gaussmix explore did not answer on {url}:\n{log.read_text()}")
            time.sleep(0.25)
        yield url, port, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def moments_of(resp, X, model):
    """Sample covariances in ``model``'s layout (dense, pooled for a shared model, or the
    diagonals) and weight sums of the responsibilities ``resp`` ``(n, K)`` on the rows ``X``:
    what a covariance model's M-step takes."""
    nk = resp.sum(axis=0)
    means = resp.T @ X / nk[:, None]
    dense = np.stack([(resp[:, j] * (X - means[j]).T) @ (X - means[j]) / nk[j]
                      for j in range(resp.shape[1])])
    if model.shared:
        return np.einsum("k,kij->ij", nk, dense) / nk.sum(), nk
    if model.family == "dense":
        return dense, nk
    return np.diagonal(dense, axis1=1, axis2=2).copy(), nk
