"""``BayesianGaussianMixture``: scikit-learn's variational mixture on the shared engine.

Parity with scikit-learn from the same start (every covariance type, both weight priors, both
random starts), components switched off on well-separated data, and the additions (sample
weights as repeated rows, float32, memory-mapped and Dask data, ``*_init``, warm starts) each
against an independent reference.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.mixture import BayesianGaussianMixture as SkBayesianGaussianMixture

import gaussmix as gm
from _helpers import COVARIANCE_TYPES, three_blobs

BGM = gm.BayesianGaussianMixture
PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
pytestmark = [
    pytest.mark.usefixtures("single_blas_thread"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),  # tol=0 runs
]


def _close(a, b, rtol=1e-9):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert_allclose(a, b, rtol=rtol, atol=rtol * max(1.0, np.max(np.abs(b))))


@pytest.mark.parametrize("init_params", ["kmeans", "random"])
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_matches_scikit_learn_from_the_same_start(rng, covariance_type, prior_type, init_params):
    X = three_blobs(rng)
    params = {"n_components": 5, "covariance_type": covariance_type, "tol": 0, "max_iter": 12,
              "weight_concentration_prior_type": prior_type, "init_params": init_params,
              "random_state": 3}
    ours = BGM(**params).fit(X)
    ref = SkBayesianGaussianMixture(**params).fit(X)
    lower_bound = float(np.squeeze(ref.lower_bound_))  # scikit-learn's tied bound is a 1-array
    assert abs(ours.lower_bound_ - lower_bound) <= 1e-9 * abs(lower_bound)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_",
                 "mean_precision_", "degrees_of_freedom_"):
        _close(getattr(ours, name), getattr(ref, name))
    for a, b in zip(np.atleast_2d(ours.weight_concentration_),
                    np.atleast_2d(ref.weight_concentration_)):
        _close(a, b)
    _close(ours.predict_proba(X), ref.predict_proba(X))
    _close(ours.score_samples(X), ref.score_samples(X))
    _close(ours.covariance_prior_, ref.covariance_prior_)
    _close(ours.mean_prior_, ref.mean_prior_)


@pytest.mark.parametrize("init_params", ["hierarchical", "kmeans"])
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
def test_switches_off_the_components_the_data_do_not_need(prior_type, init_params):
    X, _, _ = gm.make_mixture(1500, 3, 2, overlap=0.001, random_state=0)
    model = BGM(10, weight_concentration_prior=1e-3, weight_concentration_prior_type=prior_type,
                init_params=init_params, random_state=0, max_iter=500).fit(X)
    assert model.converged_
    assert int((model.weights_ > 0.02).sum()) == 3


def test_lower_bound_never_decreases(rng):
    X = three_blobs(rng)
    model = BGM(6, covariance_type="full", init_params="random", random_state=0, tol=0,
                max_iter=40).fit(X)
    steps = np.diff(model.lower_bounds_)
    assert np.all(steps >= -1e-9 * np.abs(model.lower_bounds_[1:]))
    assert model.lower_bound_ == model.lower_bounds_[-1]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_act_like_repeated_rows_priors_included(rng, covariance_type):
    X = three_blobs(rng, n_per_blob=(60, 60, 40))
    w = rng.integers(1, 4, len(X))
    params = {"covariance_type": covariance_type, "random_state": 0, "tol": 1e-8}
    weighted = BGM(3, **params).fit(X, sample_weight=w)
    repeated = BGM(3, **params).fit(np.repeat(X, w, axis=0))
    _close(weighted.covariance_prior_, repeated.covariance_prior_)
    _close(weighted.mean_prior_, repeated.mean_prior_)
    assert weighted.lower_bound_ == pytest.approx(repeated.lower_bound_, rel=1e-9)
    _close(weighted.means_, repeated.means_, rtol=1e-7)


def test_float32_stays_float32_and_close_to_float64(rng):
    X = three_blobs(rng)
    fit64 = BGM(3, random_state=0).fit(X)
    fit32 = BGM(3, random_state=0).fit(X.astype(np.float32))
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert getattr(fit32, name).dtype == np.float32
    assert fit32.predict_proba(X.astype(np.float32)).dtype == np.float32
    _close(fit32.means_, fit64.means_, rtol=1e-4)
    assert fit32.lower_bound_ == pytest.approx(fit64.lower_bound_, rel=1e-5)


def test_memory_mapped_and_dask_data_take_the_same_path(rng, tmp_path):
    X = three_blobs(rng)
    np.save(tmp_path / "X.npy", X)
    memory = BGM(3, random_state=0).fit(X)
    mapped = BGM(3, random_state=0).fit(np.load(tmp_path / "X.npy", mmap_mode="r"))
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_array_equal(getattr(mapped, name), getattr(memory, name))
    da = pytest.importorskip("dask.array")
    start = {"weights_init": memory.weights_, "means_init": memory.means_,
             "precisions_init": memory.precisions_, "tol": 0, "max_iter": 4}
    local = BGM(3, **start).fit(X)
    distributed = BGM(3, **start).fit(da.from_array(X, chunks=100))
    assert distributed.lower_bound_ == pytest.approx(local.lower_bound_, rel=1e-12)
    _close(distributed.covariances_, local.covariances_)
    _close(distributed.predict_proba(da.from_array(X, chunks=100)).compute(),
           local.predict_proba(X))


def test_given_start_is_the_posterior_of_that_mixtures_responsibilities(rng):
    """max_iter=0 returns the start: the conjugate update of the given mixture's soft
    assignments, computed here by the textbook (Bishop 10.58-10.63) from predict_proba."""
    X = three_blobs(rng)
    gmm = gm.GaussianMixture(3, random_state=0).fit(X)
    start = BGM(3, weights_init=gmm.weights_, means_init=gmm.means_,
                precisions_init=gmm.precisions_, max_iter=0).fit(X)
    resp = gmm.predict_proba(X)
    nk = resp.sum(axis=0) + 10 * np.finfo(float).eps
    xk = resp.T @ X / nk[:, None]
    m0, beta0, nu0 = X.mean(axis=0), 1.0, X.shape[1]
    psi = np.cov(X.T)
    beta = beta0 + nk
    _close(start.means_, (beta0 * m0 + nk[:, None] * xk) / beta[:, None])
    for k in range(3):
        d = X - xk[k]
        sk = (resp[:, k] * d.T) @ d / nk[k] + 1e-6 * np.eye(3)
        diff = xk[k] - m0
        wishart = psi + nk[k] * sk + nk[k] * beta0 / beta[k] * np.outer(diff, diff)
        _close(start.covariances_[k], wishart / (nu0 + nk[k]))


def test_warm_start_continues_the_same_iterations(rng):
    X = three_blobs(rng)
    params = {"init_params": "kmeans", "random_state": 1, "tol": 0}
    straight = BGM(4, max_iter=10, **params).fit(X)
    warm = BGM(4, max_iter=5, warm_start=True, **params).fit(X)
    warm.fit(X)
    assert warm.lower_bound_ == pytest.approx(straight.lower_bound_, rel=1e-12)
    _close(warm.means_, straight.means_)


def test_more_starts_never_end_lower(rng):
    X = three_blobs(rng)
    one = BGM(4, random_state=0).fit(X)
    many = BGM(4, n_init=4, random_state=0).fit(X)
    assert many.lower_bound_ >= one.lower_bound_ - 1e-9 * abs(one.lower_bound_)


def test_pictures_work_on_it_and_leave_out_the_switched_off_components():
    X, _, _ = gm.make_mixture(600, 3, 2, overlap=0.001, random_state=0)
    model = BGM(8, weight_concentration_prior=1e-3, random_state=0, max_iter=300).fit(X)
    kept = int((model.weights_ >= 0.01).sum())
    ax = gm.plot_mixture(model, X)
    assert len(ax.patches) == 3 * kept  # three ellipses per kept component, none for the rest
    assert any("not drawn" in text.get_text() for text in ax.get_legend().get_texts())
    bars = gm.plot_weights(model)
    assert len(bars.patches) == 8
    assert "3 of 8" in bars.get_title()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"weight_concentration_prior_type": "dirichlet"}, "weight_concentration_prior_type"),
        ({"weight_concentration_prior": 0.0}, "weight_concentration_prior"),
        ({"mean_precision_prior": -1.0}, "mean_precision_prior"),
        ({"degrees_of_freedom_prior": 1.5}, r"should be greater than 2, but got 1.500 \(it must exceed n_features - 1\)"),
        ({"mean_prior": [0.0, 1.0]}, r"mean_prior must have shape \(3,\)"),
        ({"covariance_prior": np.eye(2)}, r"covariance_prior must have shape \(3, 3\)"),
        ({"covariance_prior": -np.eye(3)}, "covariance_prior .* must be positive definite"),
        ({"covariance_type": "spherical", "covariance_prior": -1.0}, "positive definite"),
        ({"covariance_type": "diag", "covariance_prior": [1.0, np.nan, 1.0]}, "NaN"),
        ({"init_params": "best"}, "init_params"),
    ],
)
def test_bad_parameters_get_clear_errors(rng, params, message):
    X = three_blobs(rng)
    with pytest.raises(ValueError, match=message):
        BGM(2, **params).fit(X)
