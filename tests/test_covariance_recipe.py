"""The "add a covariance model" recipe of docs/design.md, followed to the letter by a test-only
toy: mclust's EII (one variance shared by every component and every direction), registered here
and used end to end, by every part of gaussmix that asks a covariance model.

The toy is one class (a representation subclass with the three model methods) and one
``register`` call; nothing else in gaussmix knows about it. Every check compares with an
independent reference: a plain NumPy EM for EII, the mixture's own definition, or the in-memory
fit.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import gaussmix as gm
from gaussmix.engine import covariance
from gaussmix.engine.covariance import Variances

NAME = "toy-eii"


class EqualSpherical(Variances):
    """EII: ``lambda I`` for every component (mclust's simplest model)."""

    name = NAME
    code = "EII"
    description = "one variance shared by every component and direction (test-only toy)"

    def n_parameters(self, n_components, n_features):
        return 1

    def estimate(self, sample_covariances, nk, reg_covar, previous=None):
        # Celeux & Govaert: lambda = tr(sum_k W_k) / (n D), W_k the scatter of component k
        pooled = nk @ sample_covariances.mean(axis=1) / nk.sum()
        return np.full(len(nk), pooled + reg_covar)

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        return np.full(len(sizes), np.mean(sizes) ** 2)

    def check_constraint(self, covariances):
        c = np.asarray(covariances, dtype=np.float64)
        if not np.allclose(c, c[0], rtol=1e-6, atol=0):
            raise ValueError(f"covariance_type={NAME!r} needs one variance for every component.")


@pytest.fixture(autouse=True)
def toy():
    model = covariance.register(EqualSpherical())
    yield model
    covariance.unregister(NAME)


def _data(rng, n=600, sd=0.8):
    centres = np.array([[0.0, 0.0], [4.0, 0.5], [1.0, 4.5]])
    labels = rng.integers(0, 3, n)
    return centres[labels] + sd * rng.standard_normal((n, 2)), labels


def _reference_em(X, weights, means, variance, n_iter, reg_covar=1e-6):
    """EII by the textbook, in float64: lower bound per iteration and the final parameters."""
    d = X.shape[1]
    bounds = []
    for _ in range(n_iter):
        sq = ((X[:, None, :] - means[None]) ** 2).sum(axis=2)
        log_p = np.log(weights) - 0.5 * d * np.log(2 * np.pi * variance) - 0.5 * sq / variance
        top = log_p.max(axis=1, keepdims=True)
        log_norm = top[:, 0] + np.log(np.exp(log_p - top).sum(axis=1))
        resp = np.exp(log_p - log_norm[:, None])
        bounds.append(log_norm.mean())
        nk = resp.sum(axis=0) + 10 * np.finfo(float).eps
        weights = nk / nk.sum()
        means = resp.T @ X / nk[:, None]
        sq = ((X[:, None, :] - means[None]) ** 2).sum(axis=2)
        variance = (resp * sq).sum() / (d * nk.sum()) + reg_covar
    return np.array(bounds), weights, means, variance


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # tol=0
def test_em_matches_the_textbook_eii_iteration_by_iteration(rng):
    X, _ = _data(rng)
    start = {"weights_init": [0.3, 0.3, 0.4], "means_init": X[[0, 1, 2]] + 0.5,
             "precisions_init": np.full(3, 1 / 2.0)}
    model = gm.GaussianMixture(3, covariance_type=NAME, tol=0, max_iter=8, **start).fit(X)
    bounds, weights, means, variance = _reference_em(
        X, np.array(start["weights_init"]), start["means_init"], 2.0, 8
    )
    assert_allclose(model.lower_bounds_, bounds, rtol=1e-12)
    assert_allclose(model.weights_, weights, rtol=1e-10)
    assert_allclose(model.means_, means, rtol=1e-10)
    assert_allclose(model.covariances_, np.full(3, variance), rtol=1e-10)


def test_default_fit_recovers_the_shared_variance_and_scores_like_the_definition(rng):
    X, _ = _data(rng)
    model = gm.GaussianMixture(3, covariance_type=NAME, n_init=3, random_state=0).fit(X)
    assert np.ptp(model.covariances_) == 0
    assert_allclose(model.covariances_[0], 0.8**2, rtol=0.1)
    truth = gm.GaussianMixture.from_parameters(
        model.weights_, model.means_, np.repeat(model.covariances_[:, None], 2, axis=1),
        covariance_type="diag",
    )
    assert_allclose(model.score_samples(X), truth.score_samples(X), rtol=1e-12)
    assert_allclose(model.predict_proba(X), truth.predict_proba(X), atol=1e-12)
    n_parameters = 3 * 2 + 2 + 1  # means, weights, one variance
    assert model.bic(X) == pytest.approx(-2 * model.score(X) * len(X) + n_parameters * np.log(len(X)))


def test_sampling_files_pictures_and_partial_fit_ask_the_model(rng, tmp_path):
    X, _ = _data(rng)
    model = gm.GaussianMixture(3, covariance_type=NAME, random_state=0).fit(X)
    draws, _ = model.sample(20_000)
    resid = draws - model.means_[model.predict(draws)]
    assert_allclose(resid.var(axis=0), model.covariances_[0], rtol=0.1)
    path = tmp_path / "toy.npz"
    gm.save(model, path)
    loaded = gm.load(path)
    assert loaded.covariance_type == NAME
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    ax = gm.plot_mixture(model, X)
    widths = {round(p.width, 9) for p in ax.patches[::3]}  # the 3-sd circle of each component
    assert len(widths) == 1
    online = gm.GaussianMixture(3, covariance_type=NAME, random_state=0)
    for batch in np.array_split(X[rng.permutation(len(X))], 6):
        online.partial_fit(batch)
    assert np.ptp(online.covariances_) == 0
    assert online.score(X) > model.score(X) - 0.05


def test_generator_and_model_selection_ask_the_model(rng):
    X, _, truth = gm.make_mixture(400, 3, 2, overlap=0.02, covariance_type=NAME, random_state=1)
    assert truth.covariance_type == NAME and np.ptp(truth.covariances_) == 0
    assert abs(truth.overlap_ - 0.02) < 1e-6
    sel = gm.select_model(X, [2, 3, 4], [NAME, "spherical"], n_init=2, random_state=0,
                          progress=False)
    rows = sel.table[sel.table["covariance_type"] == NAME]
    assert rows["n_parameters"].tolist() == [k * 2 + (k - 1) + 1 for k in (2, 3, 4)]
    assert sel.best_params_["n_components"] == 3


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # tol=0
def test_memory_mapped_and_dask_data_take_the_same_path(rng, tmp_path):
    X, _ = _data(rng)
    np.save(tmp_path / "X.npy", X)
    memory = gm.GaussianMixture(3, covariance_type=NAME, random_state=0).fit(X)
    mapped = gm.GaussianMixture(3, covariance_type=NAME, random_state=0).fit(
        np.load(tmp_path / "X.npy", mmap_mode="r")
    )
    np.testing.assert_array_equal(mapped.covariances_, memory.covariances_)
    da = pytest.importorskip("dask.array")
    start = {"weights_init": memory.weights_, "means_init": memory.means_,
             "precisions_init": memory.precisions_, "tol": 0, "max_iter": 3}
    local = gm.GaussianMixture(3, covariance_type=NAME, **start).fit(X)
    distributed = gm.GaussianMixture(3, covariance_type=NAME, **start).fit(
        da.from_array(X, chunks=150)
    )
    assert_allclose(distributed.lower_bounds_, local.lower_bounds_, rtol=1e-12)
    assert_allclose(distributed.covariances_, local.covariances_, rtol=1e-10)


def test_constraint_and_registry_errors_are_clear():
    with pytest.raises(ValueError, match="one variance for every component"):
        gm.GaussianMixture.from_parameters([0.5, 0.5], [[0.0], [3.0]], [1.0, 2.0],
                                           covariance_type=NAME)
    with pytest.raises(ValueError, match="already registered"):
        covariance.register(EqualSpherical())
    covariance.unregister(NAME)
    with pytest.raises(ValueError, match="'covariance_type' parameter of GaussianMixture"):
        gm.GaussianMixture(2, covariance_type=NAME).fit(np.zeros((5, 1)) + np.arange(5)[:, None])
    covariance.register(EqualSpherical())
