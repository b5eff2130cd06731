"""scikit-learn's own estimator contract, run inside the suite.

``parametrize_with_checks`` turns every check of ``check_estimator`` into its own test, for the
default model and for each covariance type, so a failure names the broken check.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

import gaussmix as gm
from _helpers import COVARIANCE_TYPES

pytestmark = [
    pytest.mark.usefixtures("single_blas_thread"),
    # The estimators follow the protocol without subclassing BaseEstimator, so a small fit does
    # not import scikit-learn (tests/test_sklearn_protocol.py); the checks say so, then pass.
    pytest.mark.filterwarnings(
        "ignore:Estimator .* does not inherit from `sklearn.base.BaseEstimator`:UserWarning"),
]

ESTIMATORS = (
    [gm.GaussianMixture(2)]
    + [gm.GaussianMixture(2, covariance_type=t) for t in COVARIANCE_TYPES if t != "full"]
    + [gm.BayesianGaussianMixture(2, covariance_type=t) for t in COVARIANCE_TYPES]
    + [gm.StudentMixture(2), gm.GaussianMixture(2, noise=True), gm.StudentMixture(2, noise=True)]
)


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_estimator_check(estimator, check):
    check(estimator)


@parametrize_with_checks([gm.MixtureOutlierDetector(random_state=0)])
def test_sklearn_outlier_detector_check(estimator, check):
    """The outlier-detector contract (IsolationForest's): predict in {-1, +1}, offset_, ..."""
    check(estimator)


def test_check_estimator_passes_on_the_default_model():
    """The literal statement of the contract: ``check_estimator(GaussianMixture(2))``."""
    results = check_estimator(gm.GaussianMixture(2), on_fail=None)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert failed == []
    assert sum(r["status"] == "passed" for r in results) >= 40


def test_check_estimator_passes_on_the_default_bayesian_model():
    results = check_estimator(gm.BayesianGaussianMixture(2), on_fail=None)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert failed == []
    assert sum(r["status"] == "passed" for r in results) >= 40


def test_clone_keeps_every_parameter():
    model = gm.GaussianMixture(
        3,
        covariance_type="diag",
        tol=1e-4,
        reg_covar=1e-5,
        max_iter=7,
        n_init=2,
        init_params="kmeans",
        random_state=5,
        warm_start=True,
        verbose=1,
        verbose_interval=3,
        chunk_size=100,
    )
    assert clone(model).get_params() == model.get_params()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", ["weights_init", "means_init", "precisions_init"])
def test_init_arrays_are_not_modified_by_fit(rng, name):
    X = rng.normal(size=(60, 2))
    start = {
        "weights_init": np.array([0.25, 0.75]),
        "means_init": np.array([[-1.0, 0.0], [1.0, 0.0]]),
        "precisions_init": np.stack([np.eye(2), 2 * np.eye(2)]),
    }
    given = {name: start[name]}
    before = start[name].copy()
    gm.GaussianMixture(2, max_iter=3, **given).fit(X)
    np.testing.assert_array_equal(start[name], before)
