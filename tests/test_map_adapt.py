"""``gm.map_adapt``: Reynolds' MAP adaptation against its closed form from ``predict_proba``."""

import copy
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import gaussmix as gm
from _helpers import MCLUST_SAMPLE, TWO_TYPES, models_where
from gaussmix.estimators.adapt import covariance_adaptable_types

# Each representation's model of free covariances per component: these adapt.
ADAPTABLE_TYPES = models_where(lambda m: not m.shared)
ALL = ("weights", "means", "covariances")


def _ubm(rng, covariance_type="diag", n_components=4, n_features=3):
    centres = rng.normal(0, 4, (n_components, n_features))
    X = np.vstack([c + rng.normal(0, 1, (150, n_features)) for c in centres])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gm.GaussianMixture(n_components, covariance_type=covariance_type,
                                  random_state=0, max_iter=30).fit(X)


def _adaptation_data(rng, ubm, n=60):
    """Rows near two of the UBM's components, shifted so that the adaptation has work to do."""
    d = ubm.means_.shape[1]
    return np.vstack([ubm.means_[0] + 1.0 + rng.normal(0, 0.7, (n, d)),
                      ubm.means_[1] - 0.5 + rng.normal(0, 1.5, (n // 2, d))])


def closed_form(ubm, X, r, adapt, sample_weight=None):
    """Reynolds' formulas written out with the UBM's responsibilities, in dense matrices."""
    resp = ubm.predict_proba(X).astype(np.float64)
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
    resp = resp * w[:, None]
    nk = resp.sum(axis=0)
    alpha = nk / (nk + r)
    ex = resp.T @ X / nk[:, None]
    exx = np.einsum("nk,ni,nj->kij", resp, X, X) / nk[:, None, None]
    k, d = ubm.means_.shape
    model = ubm._covariance_model
    sigma = model.dense(ubm.covariances_, k, d)
    weights, means = ubm.weights_, ubm.means_
    if "weights" in adapt:
        weights = alpha * nk / w.sum() + (1 - alpha) * ubm.weights_
        weights = weights / weights.sum()
    if "means" in adapt:
        means = alpha[:, None] * ex + (1 - alpha[:, None]) * ubm.means_
    cov = ubm.covariances_
    if "covariances" in adapt:
        # second moments around the new means m: E_k[(x - m)(x - m)^T] and Sigma + (mu - m)(..)^T
        m = means
        cross = ex[:, :, None] * m[:, None, :]
        data = exx - cross - cross.transpose(0, 2, 1) + m[:, :, None] * m[:, None, :]
        d_ubm = ubm.means_ - m
        prior = sigma + d_ubm[:, :, None] * d_ubm[:, None, :]
        dense = (alpha[:, None, None] * (data + ubm.reg_covar * np.eye(d))
                 + (1 - alpha[:, None, None]) * prior)
        if "means" in adapt:  # Reynolds' form of the same
            mu = ubm.means_
            reynolds = (alpha[:, None, None] * (exx + ubm.reg_covar * np.eye(d))
                        + (1 - alpha[:, None, None]) * (sigma + mu[:, :, None] * mu[:, None, :])
                        - m[:, :, None] * m[:, None, :])
            assert_allclose(dense, reynolds, rtol=1e-8, atol=1e-8)
        if model.family == "diagonal":
            dense = np.diagonal(dense, axis1=1, axis2=2)[:, :, None] * np.eye(d)
        cov = model.project(dense, weights)
    return weights, means, cov


@pytest.mark.parametrize("covariance_type", ADAPTABLE_TYPES)
@pytest.mark.parametrize("adapt", [("means",), ("weights",), ("covariances",), ALL,
                                   ("weights", "means")])
def test_matches_the_closed_form_from_predict_proba(rng, covariance_type, adapt):
    ubm = _ubm(rng, covariance_type)
    X = _adaptation_data(rng, ubm)
    adapted = gm.map_adapt(ubm, X, relevance_factor=8.0, adapt=adapt)
    weights, means, cov = closed_form(ubm, X, 8.0, adapt)
    assert_allclose(adapted.weights_, weights, rtol=1e-9, atol=1e-12)
    assert_allclose(adapted.means_, means, rtol=1e-9, atol=1e-9)
    assert_allclose(adapted.covariances_, cov, rtol=1e-8, atol=1e-9)
    # the precision factors are the ones of the new covariances
    expected = adapted._covariance_model.precision_cholesky(adapted.covariances_)
    assert_allclose(adapted.precisions_cholesky_, expected, rtol=1e-10)
    assert np.isfinite(adapted.score(X))


def test_only_what_is_asked_changes_and_the_ubm_is_unchanged(rng):
    ubm = _ubm(rng, "full")
    before = copy.deepcopy(ubm)
    X = _adaptation_data(rng, ubm)
    means_only = gm.map_adapt(ubm, X)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        np.testing.assert_array_equal(getattr(ubm, name), getattr(before, name))
    assert means_only is not ubm and means_only.means_ is not ubm.means_
    np.testing.assert_array_equal(means_only.weights_, ubm.weights_)
    np.testing.assert_array_equal(means_only.covariances_, ubm.covariances_)
    assert not np.allclose(means_only.means_, ubm.means_)
    assert means_only.get_params() == ubm.get_params()
    assert means_only.n_iter_ == 1 and means_only.converged_
    assert_allclose(means_only.lower_bound_, ubm.score(X))
    # the adapted model explains its data better than the UBM
    assert means_only.score(X) > ubm.score(X)


def test_components_that_see_no_rows_keep_the_ubm_parameters(rng):
    ubm = _ubm(rng, "diag")
    far = np.argmax(np.linalg.norm(ubm.means_ - ubm.means_[0], axis=1))
    X = ubm.means_[0] + rng.normal(0, 0.3, (40, ubm.means_.shape[1]))
    adapted = gm.map_adapt(ubm, X, adapt=ALL)
    assert_allclose(adapted.means_[far], ubm.means_[far], atol=1e-8)
    assert_allclose(adapted.covariances_[far], ubm.covariances_[far], rtol=1e-6)


def test_integer_sample_weights_equal_repeated_rows(rng):
    ubm = _ubm(rng, "full")
    X = _adaptation_data(rng, ubm, n=30)
    counts = rng.integers(0, 4, len(X))
    weighted = gm.map_adapt(ubm, X, adapt=ALL, sample_weight=counts)
    repeated = gm.map_adapt(ubm, np.repeat(X, counts, axis=0), adapt=ALL)
    for name in ("weights_", "means_", "covariances_"):
        assert_allclose(getattr(weighted, name), getattr(repeated, name), rtol=1e-9, atol=1e-10)
    _, m, c = closed_form(ubm, X, 16.0, ALL, sample_weight=counts)
    assert_allclose(weighted.means_, m, rtol=1e-9)
    assert_allclose(weighted.covariances_, c, rtol=1e-8)


@pytest.mark.parametrize("covariance_type", TWO_TYPES)
def test_memory_mapped_and_dask_data_give_the_same_result(rng, tmp_path, covariance_type):
    ubm = _ubm(rng, covariance_type)
    X = _adaptation_data(rng, ubm, n=400)
    in_memory = gm.map_adapt(ubm, X, adapt=ALL)
    np.save(tmp_path / "x.npy", X)
    mapped = gm.map_adapt(ubm, np.load(tmp_path / "x.npy", mmap_mode="r"), adapt=ALL)
    da = pytest.importorskip("dask.array")
    distributed = gm.map_adapt(ubm, da.from_array(X, chunks=(97, -1)), adapt=ALL)
    for other in (mapped, distributed):
        for name in ("weights_", "means_", "covariances_"):
            assert_allclose(getattr(other, name), getattr(in_memory, name), rtol=1e-10,
                            atol=1e-12)


@pytest.mark.parametrize("covariance_type", ADAPTABLE_TYPES)
def test_a_vanishing_relevance_factor_is_one_m_step(rng, covariance_type):
    ubm = _ubm(rng, covariance_type)
    X = ubm.sample(400)[0] * 1.1 + 0.2  # every component sees many rows
    adapted = gm.map_adapt(ubm, X, relevance_factor=1e-12, adapt=ALL)
    step = copy.deepcopy(ubm).set_params(warm_start=True, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one iteration does not converge
        step.fit(X)
    for name in ("weights_", "means_", "covariances_"):
        assert_allclose(getattr(adapted, name), getattr(step, name), rtol=1e-8, atol=1e-10)


def test_float32_ubm_stays_float32(rng):
    ubm = _ubm(rng, "diag")
    X = _adaptation_data(rng, ubm).astype(np.float32)
    ubm32 = gm.GaussianMixture(4, covariance_type="diag", random_state=0).fit(
        np.vstack([X, X + 3]).astype(np.float32))
    adapted = gm.map_adapt(ubm32, X, adapt=ALL)
    assert adapted.means_.dtype == np.float32 and adapted.covariances_.dtype == np.float32


def test_few_rows_are_enough_and_the_result_saves(rng, tmp_path):
    ubm = _ubm(rng, "diag", n_components=6)
    X = _adaptation_data(rng, ubm)[:3]  # fewer rows than components
    adapted = gm.map_adapt(ubm, X)
    gm.save(adapted, tmp_path / "speaker.npz")
    loaded = gm.load(tmp_path / "speaker.npz")
    assert_allclose(loaded.score_samples(X), adapted.score_samples(X))


def test_constrained_covariances_adapt_means_and_weights_but_refuse_covariances(rng):
    for covariance_type in models_where(lambda m: m.shared) + MCLUST_SAMPLE[1:2]:  # tied, VEI
        ubm = _ubm(rng, covariance_type)
        X = _adaptation_data(rng, ubm)
        adapted = gm.map_adapt(ubm, X, adapt=("weights", "means"))
        w, m, _ = closed_form(ubm, X, 16.0, ("weights", "means"))
        assert_allclose(adapted.means_, m, rtol=1e-9)
        assert_allclose(adapted.weights_, w, rtol=1e-9)
        with pytest.raises(ValueError, match="'full', 'diag', 'spherical'") as err:
            gm.map_adapt(ubm, X, adapt="covariances")
        assert repr(covariance_type) in str(err.value)
    assert set(ADAPTABLE_TYPES) <= set(covariance_adaptable_types())
    assert "tied" not in covariance_adaptable_types()


def test_bad_inputs_give_clear_errors(rng):
    ubm = _ubm(rng, "diag")
    X = _adaptation_data(rng, ubm)
    with pytest.raises(TypeError, match="fitted gaussmix.GaussianMixture"):
        gm.map_adapt("ubm.npz", X)
    with pytest.raises(TypeError, match="BayesianGaussianMixture"):
        gm.map_adapt(gm.BayesianGaussianMixture(2), X)
    with pytest.raises(ValueError, match="not fitted yet"):
        gm.map_adapt(gm.GaussianMixture(2), X)
    with pytest.raises(ValueError, match="expecting 3 features"):
        gm.map_adapt(ubm, X[:, :2])
    for r in (0, -1.0, np.inf, np.nan, "16", True, None):
        with pytest.raises(ValueError, match="relevance_factor must be a finite number > 0"):
            gm.map_adapt(ubm, X, relevance_factor=r)
    for adapt in ((), ("mean",), "variances", None, 3, ("means", 1)):
        with pytest.raises(ValueError, match="adapt must name one or more of"):
            gm.map_adapt(ubm, X, adapt=adapt)
    with pytest.raises(ValueError, match="NaN|infinity"):
        gm.map_adapt(ubm, np.where(np.arange(X.size).reshape(X.shape) == 4, np.nan, X))
    with pytest.raises(ValueError, match="sample_weight"):
        gm.map_adapt(ubm, X, sample_weight=-np.ones(len(X)))
