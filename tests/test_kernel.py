"""The full-covariance E-step's two forms: the expanded one (fast) and the stacked one (precise far
from the shift), and the rule that chooses between them per component.

Every log-probability is checked against a reference computed in float64 around each component's
own mean (``|L_k^T (x - mu_k)|^2``), on the very same (dtype-rounded) rows.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from _helpers import COVARIANCE_TYPES
from gaussmix.engine import covariance, em, estep
from gaussmix.engine import kernel as kernel_module

D, K = 5, 4


def precision_cholesky(covariances, covariance_type):
    return covariance.get(covariance_type).precision_cholesky(covariances)


def log_det_cholesky(prec_chol, covariance_type, n_features):
    return covariance.get(covariance_type).log_det_cholesky(prec_chol, n_features)


def make_kernel(weights, means, prec_chol, covariance_type, shift, dtype):
    model = covariance.get(covariance_type)
    return estep.kernel_for(model, estep.log_weights_of(weights), means, prec_chol, shift, dtype)


def m_step(stats, covariance_type):
    return em.m_step(stats, covariance.get(covariance_type), 0.0, 0.0)


def _random_parameters(rng, scale=3.0):
    means = rng.normal(scale=scale, size=(K, D))
    a = rng.normal(size=(K, D, D))
    covariances = a @ a.transpose(0, 2, 1) / D + 0.3 * np.eye(D)
    weights = rng.dirichlet(np.ones(K))
    return weights, means, covariances


def _sample(rng, means, covariances, n_per):
    rows = [rng.multivariate_normal(m, c, size=n_per) for m, c in zip(means, covariances)]
    return np.concatenate(rows)


def _reference(X, weights, means, prec_chol):
    """Weighted log-probabilities ``(K, n)`` in float64, centred on each component's mean."""
    X = np.asarray(X, dtype=np.float64)
    const = np.log(weights) + log_det_cholesky(prec_chol, "full", D) - 0.5 * D * np.log(2 * np.pi)
    quad = [np.sum(((X - m) @ L) ** 2, axis=1) for m, L in zip(means, prec_chol)]
    return const[:, None] - 0.5 * np.array(quad)


def _log_prob(kernel, X):
    ws = kernel.workspace(len(X))
    n = kernel.load(ws, X, moments=False)
    return kernel.log_prob(ws, n).astype(np.float64)


def _kernel(weights, means, prec_chol, dtype, shift=None, expanded_error=None, monkeypatch=None):
    if expanded_error is not None:
        monkeypatch.setattr(kernel_module.Kernel, "expanded_error", expanded_error)
    shift = weights @ means if shift is None else shift
    return make_kernel(weights, means, prec_chol, "full", shift, dtype)


@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-10), (np.float32, 2e-3)])
@pytest.mark.parametrize("form", ["expanded", "stacked"])
def test_each_form_matches_the_per_component_reference(rng, monkeypatch, dtype, atol, form):
    weights, means, cov = _random_parameters(rng)
    prec_chol = precision_cholesky(cov, "full")
    X = _sample(rng, means, cov, 200).astype(dtype)
    kernel = _kernel(weights, means, prec_chol, dtype,
                     expanded_error=np.inf if form == "expanded" else 0.0, monkeypatch=monkeypatch)
    assert len(kernel.far) == (0 if form == "expanded" else K)
    assert_allclose(_log_prob(kernel, X), _reference(X, weights, means, prec_chol), atol=atol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_default_rule_uses_the_expanded_form_for_ordinary_mixtures(rng, dtype):
    weights, means, cov = _random_parameters(rng)
    kernel = _kernel(weights, means, precision_cholesky(cov, "full"), dtype)
    assert len(kernel.far) == 0
    assert kernel.needs_outer


def _one_narrow_far_component(rng):
    """Three ordinary components near the origin and one 1000 of its own standard deviations
    away (sd 0.01 at distance ~10): float32's expanded form would lose ~0.1 nats on it."""
    weights, means, cov = _random_parameters(rng, scale=1.0)
    means[2] = 10.0 / np.sqrt(D)
    cov[2] = 1e-4 * np.eye(D)
    return weights, means, cov


def test_a_component_far_from_the_shift_takes_the_stacked_form(rng, monkeypatch):
    weights, means, cov = _one_narrow_far_component(rng)
    prec_chol = precision_cholesky(cov, "full")
    X = _sample(rng, means, cov, 300).astype(np.float32)
    reference = _reference(X, weights, means, prec_chol)
    mixed = _kernel(weights, means, prec_chol, np.float32)
    assert mixed.far.tolist() == [2]  # only the far component left the expanded form
    mixed_error = np.abs(_log_prob(mixed, X) - reference)[:, 600:900]  # the far component's rows
    forced = _kernel(weights, means, prec_chol, np.float32,
                     expanded_error=np.inf, monkeypatch=monkeypatch)
    forced_error = np.abs(_log_prob(forced, X) - reference)[:, 600:900]
    # The guard matters: the expanded form is far off on those rows, the chosen form is not.
    assert forced_error[2].max() > 1e-2
    assert mixed_error[2].max() < 1e-3
    assert mixed_error.max() < 1e-3


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forms_give_the_same_m_step(rng, monkeypatch, dtype):
    """What EM keeps (the M-step of the statistics) agrees between all-stacked kernels (every
    component's moments around its own mean), the default choice and a split one (the far
    component stacked, the others expanded with moments around the common shift)."""
    weights, means, cov = _one_narrow_far_component(rng)
    prec_chol = precision_cholesky(cov, "full")
    X = _sample(rng, means, cov, 500).astype(dtype)
    shift = weights @ means
    # float64's default keeps even the far component expanded; 1e-12 splits them there
    split = 1e-12 if dtype == np.float64 else None
    results = {}
    for name, limit in [("stacked", 0.0), ("default", None), ("split", split)]:
        monkeypatch.setattr(kernel_module.Kernel, "expanded_error", limit)
        kernel = make_kernel(weights, means, prec_chol, "full", shift, dtype)
        stats = estep.em_statistics(X, None, kernel, 256, 1)
        results[name] = (kernel.far.tolist(), stats, m_step(stats, "full"))
    assert len(results["stacked"][0]) == K
    assert results["split"][0] == [2]
    assert results["default"][0] == ([] if dtype == np.float64 else [2])
    # far components' moments are taken around their own means, the others around the shift
    assert_allclose(results["split"][1].shift[2], means[2])
    assert_allclose(results["split"][1].shift[[0, 1, 3]], np.tile(shift, (3, 1)))
    _, ref_stats, ref = results["stacked"]
    # float32: ~10 eps of the (unit-scale) entries, as any float32 pass differs
    rtol, atol = (1e-9, 1e-12) if dtype == np.float64 else (1e-5, 1e-5)
    for name in ("default", "split"):
        _, stats, params = results[name]
        assert_allclose(stats.loglik, ref_stats.loglik, rtol=rtol)
        for got, want in zip(params, ref):  # weights, means, covariances
            assert_allclose(got, want, rtol=rtol, atol=atol)


def test_recentred_statistics_give_the_same_m_step(rng):
    """Moving the centre of the moments is exact algebra: every covariance type."""
    _, means, cov = _random_parameters(rng)
    X = _sample(rng, means, cov, 100)
    resp = rng.dirichlet(np.ones(K), size=len(X))
    for ctype in COVARIANCE_TYPES:
        stats = estep.resp_statistics(
            X, None, [(0, len(X), resp)], K, covariance.get(ctype).family, X.mean(axis=0),
            np.float64,
        )
        moved = stats.recentred(means + 0.5)
        assert_allclose(moved.shift, means + 0.5)
        for got, want in zip(m_step(moved, ctype), m_step(stats, ctype)):
            assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_nan_parameters_go_the_stacked_way(rng):
    weights, means, cov = _random_parameters(rng)
    prec_chol = precision_cholesky(cov, "full")
    means[1] = np.nan
    kernel = make_kernel(weights, means, prec_chol, "full", np.zeros(D), np.float64)
    assert 1 in kernel.far.tolist()


def _as_full(covariance_type, covariances):
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (K, D, D)).copy()
    if covariance_type == "diag":
        return covariances[:, :, None] * np.eye(D)
    return covariances[:, None, None] * np.eye(D)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_every_type_takes_far_components_around_their_own_mean(rng, covariance_type):
    """A narrow component ~1000 of its standard deviations from the mixture mean: float32
    log-densities and moments stay accurate for every covariance type."""
    weights, means, full = _one_narrow_far_component(rng)
    cov = {"full": full, "tied": 1e-4 * np.eye(D), "diag": np.diagonal(full, axis1=1, axis2=2).copy(),
           "spherical": np.diagonal(full, axis1=1, axis2=2).mean(axis=1)}[covariance_type]
    full = _as_full(covariance_type, cov)
    X = _sample(rng, means, full, 300).astype(np.float32)
    prec_chol = precision_cholesky(cov, covariance_type)
    kernel = make_kernel(weights, means, prec_chol, covariance_type, weights @ means,
                           np.float32)
    assert 2 in kernel.far.tolist()
    reference = _reference(X, weights, means, precision_cholesky(full, "full"))
    got = _log_prob(kernel, X)
    rows = slice(600, 900)  # the far component's rows
    assert np.abs(got[2, rows] - reference[2, rows]).max() < 1e-3
    # its moments: around its own mean, so the M-step recovers its spread from these rows
    stats = estep.em_statistics(X, None, kernel, 256, 1)
    assert_allclose(stats.shift[2], means[2])
    _, new_means, new_cov = m_step(stats, covariance_type)
    resp = np.exp(reference - reference.max(axis=0))
    resp /= resp.sum(axis=0)
    Xd = X.astype(np.float64)
    mean_ref = resp[2] @ Xd / resp[2].sum()
    assert_allclose(new_means[2], mean_ref, rtol=0, atol=1e-6)
    # per-feature variances (measured ~1e-6 relative; around the mixture mean ~1e-2)
    if covariance_type == "tied":  # pooled over every component's rows
        means_ref = (resp @ Xd) / resp.sum(axis=1)[:, None]
        pooled = sum(resp[k] @ (Xd - means_ref[k]) ** 2 for k in range(K)) / len(Xd)
        assert_allclose(np.diagonal(new_cov), pooled, rtol=1e-4)
    else:
        var_ref = resp[2] @ (Xd - mean_ref) ** 2 / resp[2].sum()
        got_var = {"full": np.diagonal(new_cov[2]) if new_cov.ndim == 3 else None,
                   "diag": new_cov[2], "spherical": new_cov[2]}[covariance_type]
        if covariance_type == "spherical":
            var_ref = var_ref.mean()
        assert_allclose(got_var, var_ref, rtol=1e-4)


def test_far_for_the_e_step_only_keeps_shared_shift_moments(rng, monkeypatch):
    """Correlated covariances make the expanded form round badly (float32, ~1e-2 nats) while
    the moments around the shift cancel only mildly: such a component takes the stacked E-step
    but keeps the cheaper shared-shift moments, and its statistics still match the all-precise
    kernel's."""
    d, k = 16, 8
    means = rng.uniform(-6, 6, (k, d))
    factors = np.eye(d) + 0.3 * rng.standard_normal((k, d, d))
    cov = factors.transpose(0, 2, 1) @ factors
    labels = rng.integers(0, k, 4000)
    X = (means[labels] + np.einsum("ni,nij->nj", rng.standard_normal((4000, d)), factors[labels]))
    X = X.astype(np.float32)
    weights = np.full(k, 1 / k)
    prec_chol = precision_cholesky(cov, "full")
    kernel = make_kernel(weights, means, prec_chol, "full", weights @ means, np.float32)
    e_step_only = np.setdiff1d(kernel.far, kernel.far[kernel.whitened])
    assert e_step_only.size > 0
    stats = estep.em_statistics(X, None, kernel, 512, 1)
    monkeypatch.setattr(kernel_module.Kernel, "expanded_error", 0.0)  # everything stacked and whitened
    precise = make_kernel(weights, means, prec_chol, "full", weights @ means, np.float32)
    assert len(precise.whitened) == k
    ref = estep.em_statistics(X, None, precise, 512, 1)
    assert_allclose(stats.loglik, ref.loglik, rtol=1e-6)
    for got, want in zip(m_step(stats, "full"), m_step(ref, "full")):
        assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_resident_rows_give_the_statistics_of_the_chunked_e_step(rng, covariance_type, dtype):
    """Small data held loaded between iterations: the same statistics as the chunk loop, for
    weighted rows, a kernel with a far component, one that tracks the entropy, and after the
    shift moves (the rows are loaded again)."""
    weights, means, covariances = _random_parameters(rng)
    X = _sample(rng, means, covariances, 40).astype(dtype)
    w = rng.uniform(0.5, 2.0, len(X))
    model = covariance.get(covariance_type)
    covs = {"full": covariances, "tied": covariances[0],
            "diag": np.diagonal(covariances, axis1=1, axis2=2).copy(),
            "spherical": np.diagonal(covariances, axis1=1, axis2=2).mean(axis=1)}[covariance_type]
    prec_chol = model.precision_cholesky(covs)
    resident = estep.ResidentRows(X, w)
    for shift, far, entropy in [(weights @ means, (), False), (weights @ means, (1,), False),
                                (weights @ means + 0.5, (), True)]:
        kernel = estep.kernel_for(model, estep.log_weights_of(weights), means, prec_chol, shift,
                                  dtype, far, track_entropy=entropy)
        held = resident.statistics(X, w, kernel)
        chunked = estep.em_statistics(X, w, kernel, 32)  # several chunks
        rtol = 1e-10 if dtype == np.float64 else 1e-4
        for name in ("nk", "s1", "s2", "loglik", "entropy", "weight"):
            assert_allclose(getattr(held, name), getattr(chunked, name), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("d", [1, 2, 3, 5, 16])
def test_lower_triangular_inverse_is_lapacks(rng, d):
    from gaussmix.engine.covariance.base import lower_triangular_inverse

    a = rng.normal(size=(30, d, d))
    chol = np.linalg.cholesky(a @ a.transpose(0, 2, 1) + 0.1 * np.eye(d))
    ours = lower_triangular_inverse(chol)
    assert np.all(np.triu(ours, 1) == 0)  # exactly triangular
    assert_allclose(ours, np.tril(np.linalg.inv(chol)), rtol=1e-12, atol=1e-12)
    assert_allclose(lower_triangular_inverse(chol[0]), ours[0])  # one matrix
