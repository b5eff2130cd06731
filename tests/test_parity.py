"""Parity with scikit-learn and with scipy: the same start gives the same fit.

scikit-learn's ``GaussianMixture`` is the independent reference for EM; scipy's
``multivariate_normal.logpdf`` for the density. Every comparison starts both estimators from the
same point (explicit ``*_init`` values, or the same initialiser with the same ``random_state``),
runs a fixed number of iterations (``tol=0``) and compares every fitted quantity.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

import gaussmix as gm
from _helpers import (
    COVARIANCE_TYPES,
    DTYPES,
    FITTED_ARRAYS,
    SKLEARN_INITS,
    assert_same_fit,
    scipy_mixture_logpdf,
    scipy_responsibilities,
    spread_start,
    three_blobs,
)
from conftest import SEED
from gaussmix.engine.convergence import StoppingRule

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.usefixtures("single_blas_thread"),
]

N_COMPONENTS = 3


@pytest.fixture
def X(rng):
    return three_blobs(rng)


def _pair(covariance_type, **params):
    """The same configuration for gaussmix and scikit-learn."""
    params = {"n_components": N_COMPONENTS, "covariance_type": covariance_type, **params}
    return gm.GaussianMixture(**params), SklearnGaussianMixture(**params)


def assert_matches_sklearn(ours, ref, X, rtol=1e-7):
    """Every fitted attribute and every output of two fits with the same labels agree."""
    assert ours.n_iter_ == ref.n_iter_
    assert ours.converged_ == ref.converged_
    assert ours.n_features_in_ == ref.n_features_in_
    assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=rtol)
    if hasattr(ref, "lower_bounds_"):
        assert_allclose(ours.lower_bounds_, ref.lower_bounds_, rtol=rtol)
    assert_same_fit(ours, ref, rtol=rtol, atol=1e-10)
    assert_allclose(ours.score_samples(X), ref.score_samples(X), rtol=rtol)
    assert_allclose(ours.score(X), ref.score(X), rtol=rtol)
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-6, atol=1e-10)
    assert_array_equal(ours.predict(X), ref.predict(X))
    assert_allclose(ours.bic(X), ref.bic(X), rtol=rtol)
    assert_allclose(ours.aic(X), ref.aic(X), rtol=rtol)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("max_iter", [1, 25])
def test_same_start_matches_sklearn(X, rng, covariance_type, max_iter):
    start = spread_start(X, N_COMPONENTS, covariance_type, rng)
    ours, ref = _pair(covariance_type, max_iter=max_iter, tol=0, **start)
    ours.fit(X)
    ref.fit(X)
    assert ours.n_iter_ == max_iter
    assert_matches_sklearn(ours, ref, X, rtol=1e-7)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_start_matches_sklearn_until_convergence(X, rng, covariance_type):
    """With scikit-learn's ``tol`` (its default, 1e-3) both stop at the same iteration,
    converged: a ``tol`` the user sets keeps scikit-learn's meaning."""
    start = spread_start(X, N_COMPONENTS, covariance_type, rng)
    ours, ref = _pair(covariance_type, max_iter=500, tol=1e-3, **start)
    ours.fit(X)
    ref.fit(X)
    assert ours.converged_ and ref.converged_
    assert_matches_sklearn(ours, ref, X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_same_start_close_to_sklearn(X, rng, covariance_type):
    """float32 data stays float32 in both; the fits agree to float32 accuracy."""
    start = spread_start(X, N_COMPONENTS, covariance_type, rng)
    X32 = X.astype(np.float32)
    ours, ref = _pair(covariance_type, max_iter=10, tol=0, **start)
    ours.fit(X32)
    ref.fit(X32)
    assert ours.means_.dtype == np.float32
    assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-5)
    assert_same_fit(ours, ref, rtol=1e-3, atol=1e-4)
    assert_allclose(ours.score_samples(X32), ref.score_samples(X32), rtol=1e-4, atol=1e-4)


_SKLEARN_TIED_COVARIANCE_QUIRK = pytest.mark.xfail(
    strict=True,
    reason=(
        "scikit-learn's tied M-step uses X.T @ X over *all* rows even when the starting "
        "responsibilities cover only the K selected rows ('k-means++', 'random_from_data'), "
        "so its start has a covariance of order n/K times the data's; gaussmix uses the "
        "selected rows only (covariance reg_covar * I, as for 'full'). Reported, not hidden."
    ),
)


def _init_cases():
    for covariance_type in COVARIANCE_TYPES:
        for init in SKLEARN_INITS:
            marks = ()
            if covariance_type == "tied" and init in ("k-means++", "random_from_data"):
                marks = (_SKLEARN_TIED_COVARIANCE_QUIRK,)
            yield pytest.param(covariance_type, init, marks=marks, id=f"{covariance_type}-{init}")


@pytest.mark.parametrize(("covariance_type", "init_params"), list(_init_cases()))
@pytest.mark.parametrize("max_iter", [0, 5])
def test_sklearn_initialisations_match_sklearn(X, covariance_type, init_params, max_iter):
    """The same initialiser and ``random_state`` give the same start, then the same fit."""
    ours, ref = _pair(
        covariance_type, init_params=init_params, random_state=SEED, max_iter=max_iter, tol=0
    )
    ours.fit(X)
    ref.fit(X)
    # scikit-learn's start divides the weights by n_samples, not by their sum, so after
    # 'k-means++' / 'random_from_data' (K rows selected) its max_iter=0 weights sum to K/n;
    # gaussmix's sum to one. Up to that normalisation they are the same start.
    assert_allclose(ours.weights_, ref.weights_ / ref.weights_.sum(), rtol=1e-7)
    assert_allclose(ours.weights_.sum(), 1.0, rtol=1e-12)
    assert_same_fit(ours, ref, rtol=1e-7, atol=1e-9, attributes=FITTED_ARRAYS[1:])
    assert ours.n_iter_ == ref.n_iter_ == max_iter
    if max_iter:
        assert_allclose(ours.lower_bound_, ref.lower_bound_, rtol=1e-7)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_max_iter_zero_returns_the_initialisation(X, rng, covariance_type):
    start = spread_start(X, N_COMPONENTS, covariance_type, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning: nothing was iterated
        model = gm.GaussianMixture(
            N_COMPONENTS, covariance_type=covariance_type, max_iter=0, **start
        ).fit(X)
    assert model.n_iter_ == 0
    assert model.lower_bounds_ == []
    assert_allclose(model.weights_, start["weights_init"], rtol=1e-15)
    assert_allclose(model.means_, start["means_init"], rtol=1e-15)
    assert_allclose(model.precisions_, start["precisions_init"], rtol=1e-12)
    # (scikit-learn 1.9 itself cannot do this: with max_iter=0 and all three *_init given it
    # never sets covariances_; so the references here are numpy and scipy.)
    expected_cov = {
        "full": lambda p: np.linalg.inv(p),
        "tied": lambda p: np.linalg.inv(p),
        "diag": lambda p: 1.0 / p,
        "spherical": lambda p: 1.0 / p,
    }[covariance_type](start["precisions_init"])
    assert_allclose(model.covariances_, expected_cov, rtol=1e-10)
    assert_allclose(model.score_samples(X), scipy_mixture_logpdf(X, model), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["random", "k-means++"])
def test_n_init_keeps_the_best_lower_bound(X, covariance_type, init_params):
    """``n_init=4`` equals the best of four single fits drawing the same random stream (up to
    rounding: the four runs are iterated side by side, see gaussmix.estimators.batch)."""
    params = {
        "covariance_type": covariance_type,
        "init_params": init_params,
        "max_iter": 8,
        "tol": 0,
    }
    best = gm.GaussianMixture(N_COMPONENTS, n_init=4, random_state=SEED, **params).fit(X)
    stream = np.random.RandomState(SEED)
    singles = [
        gm.GaussianMixture(N_COMPONENTS, n_init=1, random_state=stream, **params).fit(X)
        for _ in range(4)
    ]
    bounds = [m.lower_bound_ for m in singles]
    assert len(set(np.round(bounds, 6))) > 1, "the four starts should differ"
    winner = singles[int(np.argmax(bounds))]
    assert_allclose(best.lower_bound_, max(bounds), rtol=1e-13)
    assert_same_fit(best, winner, rtol=1e-12, atol=1e-12)
    assert_allclose(best.lower_bounds_, winner.lower_bounds_, rtol=1e-13)
    ref = SklearnGaussianMixture(N_COMPONENTS, n_init=4, random_state=SEED, **params).fit(X)
    if (covariance_type, init_params) != ("tied", "k-means++"):  # see the xfail above
        assert_allclose(best.lower_bound_, ref.lower_bound_, rtol=1e-7)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_warm_start_continues_where_it_stopped(X, rng, covariance_type):
    """Two warm fits of 4 iterations equal one fit of 8 from the same start."""
    start = spread_start(X, N_COMPONENTS, covariance_type, rng)
    once = gm.GaussianMixture(
        N_COMPONENTS, covariance_type=covariance_type, max_iter=8, tol=0, **start
    ).fit(X)
    warm = gm.GaussianMixture(
        N_COMPONENTS, covariance_type=covariance_type, max_iter=4, tol=0, warm_start=True, **start
    )
    warm.fit(X)
    first_bound = warm.lower_bound_
    warm.fit(X)
    assert warm.n_iter_ == 4
    assert warm.lower_bound_ > first_bound
    assert_same_fit(warm, once, rtol=1e-10, atol=1e-12)
    assert_allclose(warm.lower_bound_, once.lower_bound_, rtol=1e-12)
    assert_allclose(warm.lower_bounds_, once.lower_bounds_[4:], rtol=1e-12)
    ref = SklearnGaussianMixture(
        N_COMPONENTS, covariance_type=covariance_type, max_iter=4, tol=0, warm_start=True, **start
    )
    ref.fit(X)
    ref.fit(X)
    assert_same_fit(warm, ref, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_convergence_warning_when_not_converged(X, covariance_type):
    model = gm.GaussianMixture(N_COMPONENTS, covariance_type=covariance_type, max_iter=2, tol=0)
    with pytest.warns(ConvergenceWarning, match=r"did not converge in 2 iterations.*max_iter"):
        model.fit(X)
    assert model.converged_ is False
    assert model.n_iter_ == 2


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_no_convergence_warning_when_converged(X, covariance_type):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = gm.GaussianMixture(N_COMPONENTS, covariance_type=covariance_type).fit(X)
    assert model.converged_ is True
    assert model.n_iter_ < model.max_iter


def test_verbose_logs_through_the_gaussmix_logger(X, caplog):
    model = gm.GaussianMixture(N_COMPONENTS, verbose=2, verbose_interval=2, max_iter=6, tol=0)
    with caplog.at_level(logging.INFO, logger="gaussmix"):
        model.fit(X)
    messages = [r.getMessage() for r in caplog.records if r.name == "gaussmix"]
    assert messages[0] == "Initialization 0"
    iterations = [m for m in messages if m.lstrip().startswith("Iteration")]
    assert [int(m.split()[1]) for m in iterations] == [2, 4, 6]
    assert "did not converge after 6 iterations" in messages[-1]
    assert f"{model.lower_bound_:.8g}" in messages[-1]


def test_verbose_one_logs_each_initialisation_only(X, caplog):
    model = gm.GaussianMixture(
        N_COMPONENTS, verbose=1, n_init=2, init_params="random", random_state=SEED, max_iter=300
    )
    with caplog.at_level(logging.INFO, logger="gaussmix"):
        model.fit(X)
    messages = [r.getMessage() for r in caplog.records if r.name == "gaussmix"]
    assert len(messages) == 4
    assert messages[0] == "Initialization 0" and messages[2] == "Initialization 1"
    assert all("Iteration" not in m for m in messages)


def test_verbose_zero_logs_nothing(X, caplog):
    with caplog.at_level(logging.DEBUG, logger="gaussmix"):
        gm.GaussianMixture(N_COMPONENTS, max_iter=5).fit(X)
    assert [r for r in caplog.records if r.name == "gaussmix"] == []


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("over_relaxed", [False, True])
def test_lower_bounds_history_has_one_entry_per_iteration(X, covariance_type, over_relaxed,
                                                           monkeypatch):
    """The history ends where the default (relative) stopping rule says it has converged; with
    plain EM steps not one step earlier. Over-relaxed steps may meet the rule earlier: the run
    then goes on with plain steps until it meets it on those (never falling on the way)."""
    if not over_relaxed:
        monkeypatch.setattr(gm.GaussianMixture, "_over_relaxed", False)
    model = gm.GaussianMixture(N_COMPONENTS, covariance_type=covariance_type, max_iter=300)
    model.fit(X)
    bounds = [-np.inf, -np.inf, *model.lower_bounds_]
    rule = StoppingRule(None, len(X))
    assert len(model.lower_bounds_) == model.n_iter_ >= 2
    assert model.lower_bounds_[-1] == model.lower_bound_
    assert model.converged_ and rule.converged(*bounds[-3:])
    early = [rule.converged(*bounds[i:i + 3]) for i in range(len(bounds) - 3)]
    assert not any(early) or over_relaxed
    assert np.all(np.diff(model.lower_bounds_) >= -1e-12 * abs(model.lower_bound_))
    assert all(isinstance(v, float) for v in model.lower_bounds_)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_score_samples_equals_scipy_mixture_logpdf(X, rng, covariance_type, dtype):
    model = gm.GaussianMixture(N_COMPONENTS, covariance_type=covariance_type).fit(X.astype(dtype))
    query = np.vstack([X[:50], rng.normal(0, 6, size=(50, X.shape[1]))]).astype(dtype)
    rtol = 1e-10 if dtype == np.float64 else 2e-5
    expected = scipy_mixture_logpdf(query, model)
    got = model.score_samples(query)
    assert got.dtype == dtype
    assert_allclose(got, expected, rtol=rtol, atol=rtol)
    assert_allclose(model.score(query), expected.mean(), rtol=rtol)
    assert_allclose(
        model.predict_proba(query), scipy_responsibilities(query, model), atol=50 * rtol
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_draws_the_same_points_as_sklearn(X, covariance_type):
    """``sample`` uses ``random_state`` exactly as scikit-learn does."""
    ours = gm.GaussianMixture(N_COMPONENTS, covariance_type=covariance_type, random_state=SEED)
    ours.fit(X)
    ref = SklearnGaussianMixture(N_COMPONENTS, covariance_type=covariance_type, random_state=SEED)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        setattr(ref, name, getattr(ours, name))
    ref.n_features_in_ = X.shape[1]
    points, labels = ours.sample(500)
    ref_points, ref_labels = ref.sample(500)
    assert_array_equal(labels, ref_labels)
    assert_allclose(points, ref_points, rtol=1e-12, atol=1e-12)
    assert np.bincount(labels, minlength=N_COMPONENTS).sum() == 500
