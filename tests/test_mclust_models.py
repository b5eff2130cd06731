"""mclust's fourteen covariance models against R's mclust itself, and through every part of
gaussmix that asks a covariance model.

``tests/reference/mclust_loglik.csv`` was made by ``tests/reference/mclust_reference.R`` (run by
hand; R is not needed here): mclust's maximised log-likelihood and parameter count for every
model and G = 1..6 on iris, Old Faithful and diabetes. CI fits G in {2, 3, 5}; set
``GAUSSMIX_SLOW=1`` for all six.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import gaussmix as gm
from _helpers import models_where, moments_of
from gaussmix.engine import covariance
from gaussmix.engine.covariance import decomposition, stacking

REFERENCE = Path(__file__).parent / "reference"
MCLUST = covariance.MCLUST
NEW = tuple(code for code in MCLUST if code not in covariance.ALIASES)
SLOW = os.environ.get("GAUSSMIX_SLOW") == "1"
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _reference():
    return pd.read_csv(REFERENCE / "mclust_loglik.csv")


def _dataset(name):
    if name == "iris":
        return np.loadtxt(REFERENCE / "iris.csv", delimiter=",", skiprows=1)
    return {"old_faithful": gm.datasets.load_old_faithful,
            "diabetes": gm.datasets.load_diabetes}[name]()


def test_parameter_counts_are_mclusts_df():
    ref = _reference()
    for row in ref.itertuples():
        d = _dataset(row.dataset).shape[1]
        assert covariance.get(row.model).mixture_parameters(row.G, d) == row.df, row


@pytest.mark.slow  # G in {2, 3, 5} by default; GAUSSMIX_SLOW=1 for G = 1..6
@pytest.mark.parametrize("dataset", ["iris", "old_faithful", "diabetes"])
@pytest.mark.parametrize("model", MCLUST)
def test_n_init_10_reaches_mclusts_log_likelihood(dataset, model):
    """At least mclust's optimum (within 0.01) from ten starts, with the same tight tolerance
    mclust's table was made with; where mclust's fit failed (NA) ours must be a real fit."""
    X = _dataset(dataset)
    ref = _reference()
    rows = ref[(ref.dataset == dataset) & (ref.model == model)]
    if not SLOW:
        rows = rows[rows.G.isin([2, 3, 5])]
    for row in rows.itertuples():
        fit = gm.GaussianMixture(row.G, covariance_type=model, n_init=10, random_state=0,
                                 tol=1e-8, max_iter=5000).fit(X)
        loglik = fit.lower_bound_ * len(X)
        assert fit._n_parameters() == row.df
        if np.isnan(row.loglik):
            assert np.isfinite(loglik)
        else:
            assert loglik >= row.loglik - 0.01, (dataset, model, row.G, loglik, row.loglik)


def _three_blobs(rng, n=600):
    centres = np.array([[0.0, 0.0, 0.0], [5.0, 1.0, -1.0], [1.0, 5.0, 2.0]])
    mix = np.array([[1.0, 0.4, 0.0], [0.0, 0.7, 0.3], [0.2, 0.0, 1.3]])
    labels = rng.integers(0, 3, n)
    return centres[labels] + rng.standard_normal((n, 3)) @ mix * rng.uniform(0.6, 1.4, 3)[labels, None]


@pytest.mark.parametrize("model", MCLUST)
def test_em_never_lowers_the_likelihood(rng, model):
    X = _three_blobs(rng)
    fit = gm.GaussianMixture(3, covariance_type=model, init_params="random", random_state=1,
                             tol=0, max_iter=60, reg_covar=0).fit(X)
    bounds = np.array(fit.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))


@pytest.mark.parametrize("model", NEW)
def test_the_m_step_is_a_fixed_point_and_keeps_the_constraint(rng, model):
    """Repeated from its own result, the M-step (a few inner rounds each time, warm-started)
    settles on a fixed point that it returns again, and the result satisfies the model's
    constraint."""
    cov_model = covariance.get(model)
    X = _three_blobs(rng)
    resp = rng.dirichlet(np.ones(3), len(X))
    nk = resp.sum(axis=0)
    means = resp.T @ X / nk[:, None]
    dense = np.stack([(resp[:, k] * (X - means[k]).T) @ (X - means[k]) / nk[k] for k in range(3)])
    sample = dense if cov_model.family == "dense" else np.diagonal(dense, axis1=1, axis2=2).copy()
    first = cov_model.estimate(sample.copy(), nk, 1e-6)
    for _ in range(500):
        first = cov_model.estimate(sample.copy(), nk, 1e-6, previous=first)
    again = cov_model.estimate(sample.copy(), nk, 1e-6, previous=first)
    assert_allclose(again, first, rtol=1e-7, atol=1e-10)
    cov_model.check_constraint(first)


def _expected_log_likelihood(dense_covariances, dense_sample, nk, reg_covar):
    """The M-step's objective: sum_k -n_k / 2 (log|C_k| + tr(C_k^-1 (S_k + reg I)))."""
    regularised = dense_sample + reg_covar * np.eye(dense_sample.shape[-1])
    _, logdet = np.linalg.slogdet(dense_covariances)
    traces = np.einsum("kij,kji->k", np.linalg.inv(dense_covariances), regularised)
    return float(np.sum(-0.5 * nk * (logdet + traces)))


@pytest.mark.parametrize("model", MCLUST)
def test_every_warm_m_step_raises_its_objective(rng, model):
    """An M-step capped at a few inner rounds is a generalised EM step: from any previous
    covariances of the model it never lowers the expected complete-data log-likelihood, so EM
    stays monotone. Nearly singular components (the case where the inner iterations crawl)
    included."""
    cov_model = covariance.get(model)
    X = _three_blobs(rng)
    X[:4] = X[4] + 1e-4 * rng.standard_normal((4, X.shape[1]))  # a tight clump
    resp = rng.dirichlet(np.full(3, 0.3), len(X))
    nk = resp.sum(axis=0)
    means = resp.T @ X / nk[:, None]
    dense = np.stack([(resp[:, k] * (X - means[k]).T) @ (X - means[k]) / nk[k] for k in range(3)])
    sample = dense if cov_model.family == "dense" else np.diagonal(dense, axis1=1, axis2=2).copy()
    d = X.shape[1]
    covariances = cov_model.estimate(sample.copy(), nk, 1e-6)
    value = _expected_log_likelihood(cov_model.dense(covariances, 3, d), dense, nk, 1e-6)
    for _ in range(30):
        covariances = cov_model.estimate(sample.copy(), nk, 1e-6, previous=covariances)
        new = _expected_log_likelihood(cov_model.dense(covariances, 3, d), dense, nk, 1e-6)
        assert new >= value - 1e-9 * abs(value)
        value = new


@pytest.mark.parametrize(("code", "name"), list(covariance.ALIASES.items()))
def test_mclust_names_of_the_four_types_are_the_same_models_bit_for_bit(rng, code, name):
    X = _three_blobs(rng)
    a = gm.GaussianMixture(3, covariance_type=code, n_init=3, random_state=0).fit(X)
    b = gm.GaussianMixture(3, covariance_type=name, n_init=3, random_state=0).fit(X)
    for attribute in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(a, attribute), getattr(b, attribute))
    assert a.lower_bounds_ == b.lower_bounds_


@pytest.mark.parametrize("model", NEW)
def test_every_path_and_edge_asks_the_model(rng, tmp_path, model):
    """Memory-mapped data, Dask, partial_fit, model files, sampling, pictures, the generator and
    the constraint checks, for each new model."""
    X, _, truth = gm.make_mixture(900, 3, 3, overlap=0.02, covariance_type=model, random_state=3)
    assert abs(truth.overlap_ - 0.02) < 1e-6
    covariance.get(model).check_constraint(truth.covariances_)
    fit = gm.GaussianMixture(3, covariance_type=model, random_state=0).fit(X)
    np.save(tmp_path / "X.npy", X)
    mapped = gm.GaussianMixture(3, covariance_type=model, random_state=0).fit(
        np.load(tmp_path / "X.npy", mmap_mode="r"))
    np.testing.assert_array_equal(mapped.covariances_, fit.covariances_)
    da = pytest.importorskip("dask.array")
    start = {"weights_init": fit.weights_, "means_init": fit.means_,
             "precisions_init": fit.precisions_, "tol": 0, "max_iter": 3}
    local = gm.GaussianMixture(3, covariance_type=model, **start).fit(X)
    remote = gm.GaussianMixture(3, covariance_type=model, **start).fit(da.from_array(X, chunks=200))
    assert remote.lower_bound_ == pytest.approx(local.lower_bound_, rel=1e-12)
    online = gm.GaussianMixture(3, covariance_type=model, random_state=0)
    for _ in range(2):
        for batch in np.array_split(X[rng.permutation(len(X))], 6):
            online.partial_fit(batch)
    covariance.get(model).check_constraint(online.covariances_)
    assert online.score(X) > fit.score(X) - 0.05
    gm.save(fit, tmp_path / "m.npz")
    loaded = gm.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict_proba(X), fit.predict_proba(X))
    draws, labels = fit.sample(30_000)
    dense = covariance.get(model).dense(fit.covariances_, 3, 3)
    for k in range(3):
        assert_allclose(np.cov(draws[labels == k].T), dense[k], rtol=0.1, atol=0.05)
    ax = gm.plot_mixture(fit, X)
    assert len(ax.patches) == 9


@pytest.mark.parametrize("model", NEW)
def test_parameters_breaking_the_constraint_are_refused(model):
    """Positive-definite covariances of the right shape whose volumes, shapes and orientations
    all differ between the two components break every constraint."""
    q = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    broken = {
        (2,): np.array([1.0, 3.0]),
        (2, 3): np.array([[1.0, 2.0, 3.0], [7.0, 0.5, 0.1]]),
        (2, 3, 3): np.stack([np.diag([1.0, 2.0, 3.0]), q @ np.diag([9.0, 0.5, 0.1]) @ q.T]),
    }[covariance.get(model).shape(2, 3)]
    with pytest.raises(ValueError, match=f"covariance_type='{model}' needs"):
        gm.GaussianMixture.from_parameters([0.5, 0.5], np.zeros((2, 3)), broken,
                                           covariance_type=model)


def test_standardised_models_come_back_in_raw_units_as_the_right_model(tmp_path):
    X = _three_blobs(np.random.default_rng(1)) * [1.0, 30.0, 0.1]
    center, scale = X.mean(axis=0), X.std(axis=0)
    for model, raw_type in [("EII", "EEI"), ("EEI", "EEI"), ("VEE", "VEE"), ("EVE", "EVV"),
                            ("EEV", "EVV"), ("VEV", "full"), ("VVE", "full"), ("EVV", "EVV")]:
        fit = gm.GaussianMixture(3, covariance_type=model, random_state=0).fit(
            (X - center) / scale)
        gm.save(fit, tmp_path / "m.npz", center=center, scale=scale)
        raw = gm.io.read_model(tmp_path / "m.npz").raw_model()
        assert raw.covariance_type == raw_type
        covariance.get(raw_type).check_constraint(raw.covariances_)
        assert_allclose(raw.score_samples(X), fit.score_samples((X - center) / scale)
                        - np.sum(np.log(scale)), rtol=1e-10)


def test_select_model_all_is_mclusts_grid_with_its_plot():
    X = gm.datasets.load_old_faithful()
    sel = gm.select_model(X, [1, 2, 3], "all", n_init=2, random_state=0, progress=False)
    assert list(dict.fromkeys(sel.table.covariance_type)) == list(MCLUST)
    ax = sel.plot()
    lines = {line.get_label(): line for line in ax.get_lines()}
    styles = {(lines[c].get_marker(), lines[c].get_linestyle(), lines[c].get_color())
              for c in MCLUST}
    assert len(styles) == 14
    assert [t.get_text() for t in ax.get_legend().get_texts()][:14] == list(MCLUST)
    assert any(label.startswith("best") for label in lines)


def _mixture_moments(rng, X, k, cov_model):
    """Sample covariances (in ``cov_model``'s layout) and weight sums of random
    responsibilities of ``k`` components."""
    return moments_of(rng.dirichlet(np.ones(k), len(X)), X, cov_model)


@pytest.mark.parametrize("model", MCLUST)
def test_the_m_step_of_stacked_mixtures_is_each_mixtures_own(rng, model):
    """A batch of EM runs takes its M-steps together (stacking.estimate_groups and
    estimate_segments, the mixtures of a grid's cells having different numbers of components;
    the iterative models iterate side by side, each mixture until it stops): each mixture gets
    what its own M-step gives, from its own previous covariances."""
    cov_model = covariance.get(model)
    X = _three_blobs(rng)
    sizes = [3, 2, 4, 3, 1]
    moments = [_mixture_moments(rng, X, k, cov_model) for k in sizes]
    samples, nks = [m[0] for m in moments], [m[1] for m in moments]
    previous = [cov_model.estimate(s.copy(), nk, 1e-6) for s, nk in moments]
    joined = np.stack if cov_model.shared else np.concatenate
    for start in (None, previous):
        alone = [cov_model.estimate(s.copy(), nk, 1e-6, None if start is None else p)
                 for s, nk, p in zip(samples, nks, previous)]
        if not cov_model.stackable:  # (a stackable model's M-step has no mixtures)
            together = stacking.estimate_groups(
                cov_model, joined([s.copy() for s in samples]), np.concatenate(nks), 1e-6,
                None if start is None else joined(start), sizes)
            assert_allclose(together, joined(alone), rtol=1e-9, atol=1e-12)
        # segments as a grid's batch holds them: one per cell, in any order of the cells
        segments = [(cov_model, 1, k, 1e-6, None if start is None else
                     (p[None] if cov_model.shared else p)) for k, p in zip(sizes, previous)]
        segmented = stacking.estimate_segments(
            segments, [s.copy()[None] if cov_model.shared else s.copy() for s in samples],
            np.concatenate(nks))
        for got, want in zip(segmented, alone):
            assert_allclose(got, want[None] if cov_model.shared else want, rtol=1e-9,
                            atol=1e-12)


@pytest.mark.parametrize(  # shapes their own, one orientation: the iterative M-steps
    "model", models_where(lambda model: model.code.endswith("VE"), MCLUST))
@pytest.mark.parametrize("n_features", [3, 6, 9])
def test_a_common_orientation_is_found_in_two_warm_m_steps(rng, model, n_features):
    """Scatters that share an orientation exactly, their eigenvalues spread over six orders of
    magnitude (where majorise-minimise steps close a sliver of the gap each): two M-steps
    warm-started from another orientation recover them, the sweeps of plane rotations each
    exact in its plane."""
    from gaussmix.engine.covariance.base import random_rotation

    cov_model = covariance.get(model)
    eigenvalues = np.exp(rng.uniform(np.log(1e-3), np.log(1e3), (3, n_features)))
    if model.startswith("E"):  # one volume
        eigenvalues /= np.exp(np.log(eigenvalues).mean(axis=1, keepdims=True))
    truth = decomposition.compose(random_rotation(rng, n_features), eigenvalues)
    nk = np.array([50.0, 80.0, 120.0])
    shapes = np.exp(rng.normal(size=(3, n_features)))
    covariances = decomposition.compose(random_rotation(rng, n_features),
                                        shapes / np.exp(np.log(shapes).mean(1, keepdims=True)))
    for _ in range(2):
        covariances = cov_model.estimate(truth.copy(), nk, 0.0, previous=covariances)
    assert_allclose(covariances, truth, atol=1e-6 * np.abs(truth).max())
