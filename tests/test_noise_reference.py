"""mclust's uniform noise component (``Mclust(X, initialization = list(noise = ...))``) as an outside
reference for ``GaussianMixture(noise=...)``.

``tests/reference/mclust_noise.json`` was made by ``tests/reference/mclust_noise.R`` (run by hand;
R is not needed here): mclust's fits of VVV, EEE, VII and EII with G = 2 or 3 plus a noise
component on iris, Old Faithful, a simulated set with uniform background (``noise_blobs.csv``) and
R's quakes (``quakes.csv``), from a deterministic noise guess (the 5% of rows farthest from the
mean in Mahalanobis distance). Each record has mclust's log-likelihood, its ``Vinv`` (the
reciprocal of ``hypvol(X)``), the proportions (noise last), means and covariances.

The first tests read the table against an independent density (scipy) and against gaussmix's
Gaussian density (``GaussianMixture.from_parameters``); the tests of the fitted noise component
skip themselves until ``GaussianMixture`` has a ``noise`` parameter.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import gaussmix as gm
from gaussmix.engine import covariance

REFERENCE = Path(__file__).parent / "reference"
RECORDS = json.loads((REFERENCE / "mclust_noise.json").read_text())["records"]
HAS_NOISE = "noise" in gm.GaussianMixture().get_params()
needs_noise = pytest.mark.skipif(
    not HAS_NOISE, reason="GaussianMixture has no noise parameter yet (issue 28, item 5)")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _dataset(name):
    if name == "old_faithful":
        return gm.datasets.load_old_faithful()
    path = REFERENCE / f"{name}.csv"
    columns = {"noise_blobs": (0, 1), "quakes": (0, 1)}.get(name)
    return np.loadtxt(path, delimiter=",", skiprows=1, usecols=columns)


def _case_id(record):
    return f"{record['dataset']}-{record['model']}-G{record['G']}"


def noise_mixture_loglik(X, gaussian_weights, means, covariances, noise_weight, noise_density):
    """``sum_i log(sum_k w_k N(x_i; m_k, S_k) + w_0 / V)``, from scipy's normal density alone.

    ``covariances`` are full (K, D, D) matrices whatever the model; ``noise_density`` is 1 / V.
    """
    log_terms = [np.log(w) + multivariate_normal(m, S).logpdf(X)
                 for w, m, S in zip(gaussian_weights, means, covariances, strict=True)]
    log_terms.append(np.full(len(X), np.log(noise_weight * noise_density)))
    return float(logsumexp(np.column_stack(log_terms), axis=1).sum())


def _parameters(record):
    """mclust's parameters as arrays: Gaussian weights (G,), noise weight, means (G, D), full
    covariances (G, D, D)."""
    pro = np.asarray(record["pro"])
    return pro[:-1], pro[-1], np.asarray(record["mean"]), np.asarray(record["sigma"])


def _in_model_layout(model, sigma):
    """mclust's G full matrices in the layout of gaussmix's ``covariances_`` for ``model``."""
    cov_model = covariance.get(model)
    ndim = len(cov_model.shape(*sigma.shape[:2]))
    if ndim == 3:
        return sigma
    if ndim == 1:  # one variance per component (VII, EII)
        return sigma[:, 0, 0]
    if cov_model.shared:  # one matrix for all (EEE)
        return sigma[0]
    return np.stack([np.diag(s) for s in sigma])  # one diagonal per component


def _box_volumes(X):
    """(product of the column ranges, the same for the principal-component scores)."""
    centred = X - X.mean(axis=0)
    _, vectors = np.linalg.eigh(np.cov(centred, rowvar=False))
    return float(np.prod(np.ptp(X, axis=0))), float(np.prod(np.ptp(centred @ vectors, axis=0)))


def test_the_table_covers_every_case_it_promises():
    cases = {(r["dataset"], r["model"], r["G"]) for r in RECORDS}
    assert len(cases) == len(RECORDS) == 24
    assert {r["dataset"] for r in RECORDS} == {"iris", "old_faithful", "noise_blobs", "quakes"}
    for r in RECORDS:
        X = _dataset(r["dataset"])
        assert X.shape == (r["n"], r["d"])
        assert len(r["pro"]) == r["G"] + 1 and abs(sum(r["pro"]) - 1) < 1e-12


@pytest.mark.parametrize("record", RECORDS, ids=_case_id)
def test_scipy_density_at_mclusts_parameters_gives_mclusts_loglik(record):
    """Reads the table right: the noise mixture's log-likelihood at mclust's parameters, from
    scipy's normal density, is mclust's own; and mclust's noise class is the rows whose noise
    posterior is the largest."""
    X = _dataset(record["dataset"])
    weights, noise_weight, means, sigma = _parameters(record)
    loglik = noise_mixture_loglik(X, weights, means, sigma, noise_weight, record["Vinv"])
    assert_allclose(loglik, record["loglik"], rtol=1e-6)
    log_gauss = np.column_stack([np.log(w) + multivariate_normal(m, S).logpdf(X)
                                 for w, m, S in zip(weights, means, sigma, strict=True)])
    noise_wins = np.log(noise_weight * record["Vinv"]) > log_gauss.max(axis=1)
    assert noise_wins.sum() == record["n_noise"]


@pytest.mark.parametrize("record", RECORDS, ids=_case_id)
def test_gaussmix_density_at_mclusts_parameters_gives_mclusts_loglik(record):
    """gaussmix's Gaussian part in the model's own layout (VII/EII variances, EEE one matrix),
    plus the noise term, is mclust's log-likelihood."""
    X = _dataset(record["dataset"])
    weights, noise_weight, means, sigma = _parameters(record)
    model = gm.GaussianMixture.from_parameters(
        weights / weights.sum(), means, _in_model_layout(record["model"], sigma),
        covariance_type=record["model"])
    gaussian = np.log1p(-noise_weight) + model.score_samples(X)
    loglik = np.logaddexp(gaussian, np.log(noise_weight * record["Vinv"])).sum()
    assert_allclose(loglik, record["loglik"], rtol=1e-6)


@pytest.mark.parametrize("record", RECORDS, ids=_case_id)
def test_mclusts_parameter_count_is_ours_plus_two_for_the_noise(record):
    """mclust's df with noise (``nMclustParams(..., noise = TRUE)``) is the Gaussian mixture's
    count plus TWO: the noise proportion and the volume (``Vinv`` is estimated from the data).
    This is what BIC must count for select_model to rank noise fits as mclust does."""
    gaussian = covariance.get(record["model"]).mixture_parameters(record["G"], record["d"])
    assert record["df"] == gaussian + 2
    assert_allclose(record["bic"], 2 * record["loglik"] - record["df"] * np.log(record["n"]),
                    rtol=1e-10)


@pytest.mark.parametrize("name", ["iris", "old_faithful", "noise_blobs", "quakes"])
def test_mclusts_default_volume_is_the_smaller_of_two_boxes(name):
    """mclust's default ``hypvol(X)`` is NOT always the product of the column ranges: it is the
    smaller of that and the same product for the principal-component scores. On iris and Old
    Faithful the rotated box is smaller; on noise_blobs and quakes the column box is."""
    record = next(r for r in RECORDS if r["dataset"] == name)
    box, rotated = _box_volumes(_dataset(name))
    assert_allclose([record["box_volume"], record["pca_box_volume"]], [box, rotated], rtol=1e-9)
    assert_allclose(record["hypvol"], min(box, rotated), rtol=1e-9)
    assert_allclose(record["Vinv"] * record["hypvol"], 1.0, rtol=1e-12)
    assert (rotated < box) == (name in ("iris", "old_faithful"))


# --- the fitted noise component (issue 28, item 5) -------------------------------------------


def _split_weights(model):
    """(Gaussian weights, noise weight) of a fitted model with noise, whether ``weights_`` holds
    K entries summing to 1 - ``noise_weight_``, K entries summing to 1 (the Gaussian part's
    own), or K + 1 entries with the noise last."""
    weights = np.asarray(model.weights_, dtype=np.float64)
    noise = float(model.noise_weight_)
    if len(weights) == model.n_components + 1:
        return weights[:-1], weights[-1]
    if abs(weights.sum() + noise - 1) < 1e-6:
        return weights, noise
    return weights * (1 - noise), noise


def _full_covariances(model):
    K, D = model.means_.shape
    return covariance.get(model.covariance_type).dense(model.covariances_, K, D)


def _fit_noise(X, record, **params):
    return gm.GaussianMixture(record["G"], covariance_type=record["model"],
                              noise=1 / record["Vinv"], tol=1e-10, max_iter=5000,
                              random_state=0, **params).fit(X)


def _at_optimum(record):
    """A start at mclust's optimum: its means and the precisions of its covariances in the
    model's layout (the weights are left to the fit: with noise, whether ``weights_init`` has
    G or G + 1 entries is the estimator's convention)."""
    sigma = _in_model_layout(record["model"], np.asarray(record["sigma"]))
    precisions = 1 / sigma if sigma.ndim == 1 else np.linalg.inv(sigma)
    return {"means_init": np.asarray(record["mean"]), "precisions_init": precisions}


@needs_noise
@pytest.mark.parametrize("record", RECORDS, ids=_case_id)
def test_noise_fit_reaches_mclusts_loglik_with_mclusts_volume(record):
    """With mclust's volume, our best of (a start at mclust's optimum, three starts of our own) is
    at least mclust's maximum; the model's score is the noise mixture's likelihood at its
    fitted parameters (score_samples includes the noise)."""
    X = _dataset(record["dataset"])
    n = len(X)
    fits = [_fit_noise(X, record, **_at_optimum(record)), _fit_noise(X, record, n_init=3)]
    logliks = [fit.score(X) * n for fit in fits]
    assert max(logliks) >= record["loglik"] - 1e-6 * abs(record["loglik"]), (logliks, record)
    best = fits[int(np.argmax(logliks))]
    assert_allclose(best.noise_volume_, 1 / record["Vinv"], rtol=1e-12)
    weights, noise_weight = _split_weights(best)
    assert 0 <= noise_weight <= 1
    assert_allclose(weights.sum() + noise_weight, 1, rtol=1e-10)
    direct = noise_mixture_loglik(X, weights, best.means_, _full_covariances(best),
                                  noise_weight, 1 / best.noise_volume_)
    assert_allclose(max(logliks), direct, rtol=1e-8)


@needs_noise
def test_noise_fit_finds_mclusts_noise_rows_on_simulated_background():
    """On noise_blobs (3 clusters + 60 uniform rows) at mclust's optimum, ``predict`` labels -1
    the rows mclust classes as noise (up to a couple of rows at the boundary)."""
    record = next(r for r in RECORDS if _case_id(r) == "noise_blobs-VVV-G3")
    X = _dataset("noise_blobs")
    fit = _fit_noise(X, record, **_at_optimum(record))
    labels = fit.predict(X)
    assert set(np.unique(labels)) <= {-1, 0, 1, 2}
    assert abs(int((labels == -1).sum()) - record["n_noise"]) <= 2
    truth = np.loadtxt(REFERENCE / "noise_blobs.csv", delimiter=",", skiprows=1, usecols=2)
    # most of the true background is called noise; the rest lies inside a cluster
    assert ((labels == -1) & (truth == 0)).sum() >= 0.6 * (truth == 0).sum()


@needs_noise
@pytest.mark.parametrize("name", ["iris", "noise_blobs"])
def test_noise_true_uses_the_product_of_column_ranges(name):
    """``noise=True`` is the issue's bounding box (product of the column ranges): mclust's own
    default on noise_blobs, larger than mclust's default (the rotated box) on iris."""
    X = _dataset(name)
    fit = gm.GaussianMixture(2, noise=True, random_state=0).fit(X)
    box, rotated = _box_volumes(X)
    assert_allclose(fit.noise_volume_, box, rtol=1e-12)
    record = next(r for r in RECORDS if r["dataset"] == name)
    if name == "noise_blobs":
        assert_allclose(fit.noise_volume_, record["hypvol"], rtol=1e-9)
    else:  # mclust would pass Vinv = 1 / the rotated box's volume
        assert fit.noise_volume_ > 4 * rotated
        assert_allclose(record["hypvol"], rotated, rtol=1e-9)


@needs_noise
@pytest.mark.parametrize("name", ["iris", "old_faithful", "noise_blobs", "quakes"])
def test_noise_hypvol_is_mclusts_default_volume(name):
    """``noise='hypvol'`` gives R's ``hypvol(X)``, read from mclust's own table: the rotated box
    on iris and Old Faithful, the column box on the other two."""
    X = _dataset(name)
    record = next(r for r in RECORDS if r["dataset"] == name)
    fit = gm.GaussianMixture(2, noise="hypvol", random_state=0).fit(X)
    assert_allclose(fit.noise_volume_, record["hypvol"], rtol=1e-9)
    weights = np.random.default_rng(0).integers(0, 3, len(X))  # weights: as repeated rows
    weighted = gm.GaussianMixture(2, noise="hypvol", random_state=0).fit(
        X, sample_weight=weights)
    repeated = gm.GaussianMixture(2, noise="hypvol", random_state=0).fit(
        np.repeat(X, weights, axis=0))
    assert_allclose(weighted.noise_log_volume_, repeated.noise_log_volume_, rtol=1e-9)
    noise_rows = fit._sample_noise(np.random.RandomState(0), 2000)  # the region of that volume
    span = noise_rows.max(axis=0) - noise_rows.min(axis=0)
    assert_allclose(np.sum(np.log(span)), np.log(record["hypvol"]), atol=0.05)
