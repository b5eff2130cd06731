"""scikit-learn's own mixture tests, run against gaussmix: the drop-in claim, tested by the
tests of the thing it replaces.

Nothing is copied: the test modules are imported from the installed scikit-learn
(``sklearn/mixture/tests``) and their functions collected here; an autouse fixture swaps the
names those modules call (``GaussianMixture``, ``BayesianGaussianMixture``, and ``clone`` for
the estimators parametrized at import time) for gaussmix's while each test runs. The fixtures
they take from scikit-learn's conftest are defined below as scikit-learn's CI runs them
(``global_random_seed`` = 42, ``global_dtype`` = float64).

Intended differences are listed in ``DIFFERENCES`` with their reasons; each such test is
marked ``xfail(strict=True)``, so a difference that disappears is noticed too.
"""

import numpy as np
import pytest

import gaussmix as gm
from _helpers import SKLEARN_TYPES

sk_gaussian = pytest.importorskip("sklearn.mixture.tests.test_gaussian_mixture")
sk_bayesian = pytest.importorskip("sklearn.mixture.tests.test_bayesian_mixture")
sk_mixture = pytest.importorskip("sklearn.mixture.tests.test_mixture")

_MODULES = (sk_gaussian, sk_bayesian, sk_mixture)

_PRIVATE = ("reads or mocks scikit-learn's private methods ({}), which gaussmix's EM driver "
            "does not have; the public behaviour is tested in {}")
# test name -> why gaussmix differs on purpose (docs/design.md, "scikit-learn compatibility")
DIFFERENCES = {
    "test_check_weights": (
        "scikit-learn's message for weights outside [0, 1] calls the minimum 'max value' and the "
        "maximum 'min value'; gaussmix names them the right way round (the shape and "
        "normalisation messages match; test_weights_messages_are_scikit_learns)"),
    "test_gaussian_mixture_setting_best_params": (
        "with reg_covar=0 a component that collapses below the resolution of the data raises "
        "the reg_covar advice instead of returning a singular fit (README: How it works)"),
    "test_gaussian_mixture_precisions_init": _PRIVATE.format(
        "_initialize, _set_parameters",
        "test_precisions_cholesky_from_precisions_init_is_scikit_learns"),
    "test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters": _PRIVATE.format(
        "_estimate_gaussian_parameters",
        "test_given_starting_values_are_used_as_given"),
    "test_compare_covar_type": _PRIVATE.format(
        "_check_parameters, _initialize_parameters", "tests/test_bayesian.py"),
}


# Not collected: the array-API compliance tests need PyTorch, CuPy or array-api-strict, and
# gaussmix refuses other namespaces until it supports the array API
# (test_array_api_dispatch_is_refused_clearly_for_other_namespaces).
NOT_COLLECTED = {"test_gaussian_mixture_array_api_compliance",
                 "test_gaussian_mixture_raises_where_array_api_not_implemented"}


def _gaussmix_clone(estimator):
    """``sklearn.base.clone`` that returns gaussmix's estimator of the same name and params."""
    from sklearn.base import clone

    cls = getattr(gm, type(estimator).__name__, None)
    return clone(estimator) if cls is None else cls(**estimator.get_params(deep=False))


@pytest.fixture(autouse=True)
def _gaussmix_estimators(monkeypatch):
    for module in _MODULES:
        for name in ("GaussianMixture", "BayesianGaussianMixture"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, getattr(gm, name))
    monkeypatch.setattr(sk_mixture, "clone", _gaussmix_clone)


@pytest.fixture
def global_random_seed():
    return 42


@pytest.fixture
def global_dtype():
    return np.float64


def _collect():
    """``{name: test function}`` of every scikit-learn mixture test, with its marks."""
    tests = {}
    for module in _MODULES:
        for name, func in vars(module).items():
            if name.startswith("test_") and callable(func) and name not in NOT_COLLECTED:
                if name in DIFFERENCES:
                    func = pytest.mark.xfail(reason=DIFFERENCES[name], strict=True)(func)
                tests[name] = func
    return tests


globals().update(_collect())


# ---------------------------------------------------------------------- the differences, fixed
def test_weights_messages_are_scikit_learns():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match=r"The parameter 'weights' should have the shape of "
                                         r"\(2,\), but got \(2, 1\)"):
        gm.GaussianMixture(2, weights_init=[[0.5], [0.5]]).fit(X)
    with pytest.raises(ValueError, match=r"The parameter 'weights' should be normalized, but "
                                         r"got sum\(weights\) = 0.60000"):
        gm.GaussianMixture(2, weights_init=[0.3, 0.3]).fit(X)


@pytest.mark.parametrize("covariance_type", SKLEARN_TYPES)
def test_precisions_cholesky_from_precisions_init_is_scikit_learns(covariance_type):
    """Regression: the factor of a given precision was the lower Cholesky factor, where
    scikit-learn stores the upper one (``P = U @ U.T``, as for fitted covariances)."""
    # scikit-learn's own conversion (what its fit stores; its max_iter=0 stores nothing)
    from sklearn.mixture._gaussian_mixture import (
        _compute_precision_cholesky_from_precisions as sklearn_factor,
    )

    rng = np.random.default_rng(20261125)
    X = rng.normal(size=(60, 3))
    A = rng.normal(size=(2, 3, 3))
    full = A @ A.transpose(0, 2, 1) + 3 * np.eye(3)
    precisions = {"full": full, "tied": full[0], "diag": np.diagonal(full, axis1=1, axis2=2),
                  "spherical": full[:, 0, 0]}[covariance_type]
    ours = gm.GaussianMixture(2, covariance_type=covariance_type, precisions_init=precisions,
                              means_init=[[0, 0, 0], [1, 1, 1]], weights_init=[0.5, 0.5],
                              max_iter=0).fit(X)
    np.testing.assert_allclose(ours.precisions_cholesky_,
                               sklearn_factor(precisions, covariance_type, xp=np),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.precisions_, precisions, rtol=1e-12)


def test_given_starting_values_are_used_as_given():
    X = np.random.default_rng(1).normal(size=(50, 2))
    means, weights = np.array([[-1.0, 0.0], [1.0, 0.5]]), np.array([0.3, 0.7])
    model = gm.GaussianMixture(2, means_init=means, weights_init=weights,
                               precisions_init=np.array([[[2.0, 0], [0, 2.0]]] * 2),
                               max_iter=0).fit(X)
    np.testing.assert_array_equal(model.means_, means)
    np.testing.assert_array_equal(model.weights_, weights)
    np.testing.assert_allclose(model.covariances_, [[[0.5, 0], [0, 0.5]]] * 2)


def test_array_api_dispatch_is_refused_clearly_for_other_namespaces():
    """Until gaussmix supports the array API, an array of another namespace under
    ``array_api_dispatch=True`` is refused with a message that says so (it crashed with a
    TypeError inside validation); NumPy arrays still work."""
    import subprocess
    import sys

    code = """
import numpy as np, sklearn, gaussmix as gm

class OtherArray:
    def __init__(self, a): self.a = np.asarray(a)
    def __array_namespace__(self, api_version=None): return None
    def __array__(self, dtype=None, copy=None): return self.a
    shape = property(lambda self: self.a.shape)

X = np.random.default_rng(0).normal(size=(40, 2))
with sklearn.config_context(array_api_dispatch=True):
    assert gm.GaussianMixture(2, random_state=0).fit(X).converged_
    try:
        gm.GaussianMixture(2).fit(OtherArray(X))
    except NotImplementedError as err:
        print(err)
"""
    env = {**__import__("os").environ, "SCIPY_ARRAY_API": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120, check=True).stdout
    assert "does not support scikit-learn's array API dispatch yet" in out
