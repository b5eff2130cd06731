"""Degenerate data: each test is named after the failure it guards against.

Duplicated points, a collapsed component, data far from the origin (catastrophic cancellation in
the second moments), a zero-variance feature, one row per component, an empty component and
points so far from every component that their densities underflow.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

import gaussmix as gm
from _helpers import (
    COVARIANCE_TYPES,
    DTYPES,
    FITTED_ARRAYS,
    full_covariances,
    models_where,
    scipy_component_logpdf,
    scipy_mixture_logpdf,
    spread_start,
    three_blobs,
)
from gaussmix.engine.covariance import Variances

GM = gm.GaussianMixture
# The models of each representation whose covariances are each component's own.
UNSHARED = models_where(lambda m: not m.shared)
# The models with a variance per feature (a constant feature has none to spare).
PER_FEATURE = models_where(lambda m: not isinstance(m, Variances))
pytestmark = pytest.mark.usefixtures("single_blas_thread")


def assert_valid_fit(model, X):
    """A usable mixture: finite parameters, positive-definite covariances, normalised outputs."""
    k, d = model.means_.shape
    assert np.isfinite(model.lower_bound_)
    for name in FITTED_ARRAYS:
        assert np.all(np.isfinite(getattr(model, name))), name
    assert_allclose(model.weights_.sum(), 1.0, rtol=1e-6)
    covs = full_covariances(model.covariances_, model.covariance_type, k, d)
    assert np.all(np.linalg.eigvalsh(covs) > 0)
    proba = model.predict_proba(X)
    assert np.all(np.isfinite(proba))
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(np.isfinite(model.score_samples(X)))


# ---------------------------------------------------------------------- duplicated points
@pytest.mark.parametrize(
    "init_params", ["hierarchical", "kmeans", "k-means++", "random", "random_from_data"]
)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_duplicated_points_fit_with_default_reg_covar(rng, covariance_type, init_params):
    """5 distinct points, each repeated 20 times, 3 components: components sit on single points."""
    X = np.repeat(rng.normal(size=(5, 2)) * 3, 20, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning, no RuntimeWarning
        model = GM(3, covariance_type=covariance_type, init_params=init_params, random_state=0)
        model.fit(X)
    assert model.converged_
    assert_valid_fit(model, X)
    assert_allclose(model.score_samples(X), scipy_mixture_logpdf(X, model), rtol=1e-8)


# ---------------------------------------------------------------------- reg_covar = 0
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_all_rows_identical_without_reg_covar_raises_naming_reg_covar(covariance_type):
    X = np.tile([1.5, -2.0], (10, 1))
    model = GM(1, covariance_type=covariance_type, reg_covar=0.0)
    with pytest.raises(ValueError, match=r"(?s)not positive definite|variance <= 0.*reg_covar"):
        model.fit(X)
    with pytest.raises(ValueError, match=r"increase reg_covar, or scale the input data\. For example: reg_covar=1e-4"):
        model.fit(X)
    assert_valid_fit(GM(1, covariance_type=covariance_type).fit(X), X)


@pytest.mark.parametrize("init_params", ["hierarchical", "kmeans"])
@pytest.mark.parametrize("covariance_type", UNSHARED)
def test_collapsed_component_without_reg_covar_raises_naming_reg_covar(
    covariance_type, init_params
):
    """One component on 10 copies of a point between two spread clusters; the error says what
    to do. (``tied`` pools the spread clusters into its shared covariance: it cannot collapse.)

    The copies sit exactly at the data's centre, so their variance is exactly 0 in any
    arithmetic; elsewhere a collapsed variance is rounding noise of either sign, see the report.
    """
    spread = np.array([30.0, 0.0]) + [[1, 2], [-2, 1], [2, -1], [-1, -2], [0, 3], [3, 0]]
    X = np.vstack([np.zeros((10, 2)), spread, -spread])
    model = GM(
        3, covariance_type=covariance_type, reg_covar=0.0, init_params=init_params, random_state=0
    )
    with pytest.raises(ValueError, match=r"(?s)component \d.*decrease the number of components, increase reg_covar"):
        model.fit(X)
    fitted = GM(3, covariance_type=covariance_type, init_params=init_params, random_state=0)
    fitted.fit(X)
    assert_valid_fit(fitted, X)
    labels = fitted.predict(X)
    assert len(set(labels[:10])) == 1 and len(set(labels)) == 3


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_collapsed_component_off_centre_without_reg_covar_raises():
    """20 data sets, each with 10 copies of one point between two spread clusters: the collapsed
    component's variance is rounding noise (often positive), below the floor of the data's
    resolution, so the fit raises instead of returning a singular model (lower bound ~ +300)."""
    rng = np.random.default_rng(20261125)
    silent = []
    for trial in range(20):
        point, spread, jitter = rng.normal(size=2) * 10, rng.normal(size=(6, 2)), rng.normal(size=2)
        spread = spread + [30.0, 0.0]
        X = np.vstack([np.tile(point, (10, 1)), spread, -spread + jitter])
        for covariance_type in UNSHARED:
            try:
                model = GM(3, covariance_type=covariance_type, reg_covar=0.0).fit(X)
            except ValueError as err:
                assert "increase reg_covar" in str(err)
            else:
                silent.append((trial, covariance_type, model.lower_bound_))
    assert silent == []


# ---------------------------------------------------------------------- far from the origin
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_data_shifted_by_1e6_keeps_covariances_without_cancellation(rng, covariance_type):
    """Raw-moment covariances (E[xx] - m m) lose ~all digits at 1e6; shifted moments lose none."""
    X = three_blobs(rng)
    offset = np.array([1e6, -1e6, 2e6])
    start = spread_start(X, 3, covariance_type, rng)
    moved = dict(start, means_init=start["means_init"] + offset)
    params = {"covariance_type": covariance_type, "max_iter": 15, "tol": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        near = GM(3, **params, **start).fit(X)
        far = GM(3, **params, **moved).fit(X + offset)
    assert_allclose(far.covariances_, near.covariances_, rtol=1e-5)
    assert_allclose(far.precisions_, near.precisions_, rtol=1e-5)
    assert_allclose(far.means_ - offset, near.means_, atol=1e-6)
    assert_allclose(far.weights_, near.weights_, rtol=1e-6)
    assert_allclose(far.lower_bound_, near.lower_bound_, rtol=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_data_shifted_by_1e6_default_start_gives_same_fit(rng, covariance_type):
    X = three_blobs(rng)
    offset = np.array([1e6, 1e6, -1e6])
    near = GM(3, covariance_type=covariance_type).fit(X)
    far = GM(3, covariance_type=covariance_type).fit(X + offset)
    assert far.n_iter_ == near.n_iter_
    assert_allclose(far.covariances_, near.covariances_, rtol=1e-5)
    assert_allclose(far.means_ - offset, near.means_, atol=1e-6)
    assert_array_equal(far.predict(X + offset), near.predict(X))


def _two_far_clusters(rng, separation, n=4000):
    X = np.vstack([rng.normal(-separation, 1.0, (n, 2)), rng.normal(separation, 1.0, (n, 2))])
    labels = np.repeat([0, 1], n)
    return X, labels


def _exact_covariances(X, labels, covariance_type, reg_covar):
    """Two-pass covariances of perfectly separated clusters (responsibilities are 0 or 1)."""
    covs = np.stack([np.cov(X[labels == k].T, bias=True) for k in (0, 1)])
    weights = np.bincount(labels) / len(labels)
    if covariance_type == "full":
        return covs + reg_covar * np.eye(2)
    if covariance_type == "tied":
        return np.tensordot(weights, covs, axes=1) + reg_covar * np.eye(2)
    diag = np.stack([np.diag(c) for c in covs])
    if covariance_type == "diag":
        return diag + reg_covar
    return diag.mean(axis=1) + reg_covar


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_components_far_apart_keep_their_covariances_without_cancellation(rng, covariance_type):
    """Clusters 1e6 of their own standard deviations from the mixture mean: their moments are
    taken around their own means (around the mixture mean they lost ~1e-3 of the covariance)."""
    X, labels = _two_far_clusters(rng, 1e6)
    model = GM(2, covariance_type=covariance_type).fit(X)
    order = np.argsort(model.means_[:, 0])  # component of the left cluster first
    got = model.covariances_ if covariance_type == "tied" else model.covariances_[order]
    expected = _exact_covariances(X, labels, covariance_type, model.reg_covar)
    # measured ~3e-12 relative
    assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * np.max(np.abs(expected)))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_components_far_apart_stay_close_to_float64(rng, covariance_type):
    """The same at 1e3 standard deviations in float32 (around the mixture mean: ~30% lost)."""
    X, _ = _two_far_clusters(rng, 1e3)
    m64 = GM(2, covariance_type=covariance_type).fit(X)
    m32 = GM(2, covariance_type=covariance_type).fit(X.astype(np.float32))
    # measured: lower bounds within 6e-7, covariances within 1.3e-6 relative
    assert abs(m32.lower_bound_ - m64.lower_bound_) < 1e-5
    assert_allclose(
        m32.covariances_, m64.covariances_, rtol=2e-5, atol=2e-5 * np.max(np.abs(m64.covariances_))
    )


# ---------------------------------------------------------------------- zero variance
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_zero_variance_feature_fits_with_reg_covar_as_its_variance(rng, covariance_type):
    X = np.column_stack([three_blobs(rng, n_features=2), np.full(400, 3.0)])
    model = GM(3, covariance_type=covariance_type).fit(X)
    assert_valid_fit(model, X)
    assert_allclose(model.means_[:, 2], 3.0, rtol=1e-12)
    reg = model.reg_covar
    cov = model.covariances_
    if covariance_type == "full":
        assert_allclose(cov[:, 2, 2], reg, rtol=1e-6)
        assert_allclose(cov[:, 2, :2], 0.0, atol=1e-12)
    elif covariance_type == "tied":
        assert_allclose(cov[2, 2], reg, rtol=1e-6)
        assert_allclose(cov[2, :2], 0.0, atol=1e-12)
    elif covariance_type == "diag":
        assert_allclose(cov[:, 2], reg, rtol=1e-6)
    assert_allclose(model.score_samples(X), scipy_mixture_logpdf(X, model), rtol=1e-9)


@pytest.mark.parametrize("covariance_type", PER_FEATURE)
def test_zero_variance_feature_without_reg_covar_raises_naming_reg_covar(rng, covariance_type):
    X = np.column_stack([three_blobs(rng, n_features=2), np.full(400, 3.0)])
    with pytest.raises(ValueError, match="increase reg_covar"):
        GM(3, covariance_type=covariance_type, reg_covar=0.0).fit(X)


# ---------------------------------------------------------------------- too little data
@pytest.mark.parametrize("init_params", ["hierarchical", "kmeans", "random_from_data"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_one_row_per_component_gives_point_masses_of_width_reg_covar(covariance_type, init_params):
    X = np.array([[0.0, 0.0], [5.0, 5.0], [10.0, 0.0]])
    model = GM(3, covariance_type=covariance_type, init_params=init_params, random_state=0)
    model.fit(X)
    assert_valid_fit(model, X)
    labels = model.predict(X)
    assert_array_equal(np.sort(labels), [0, 1, 2])
    assert_allclose(model.means_[labels], X, atol=1e-9)
    assert_allclose(model.weights_, 1 / 3, rtol=1e-9)
    covs = full_covariances(model.covariances_, covariance_type, 3, 2)
    assert_allclose(
        covs, np.broadcast_to(model.reg_covar * np.eye(2), (3, 2, 2)), rtol=1e-6, atol=1e-12
    )
    assert_allclose(model.predict_proba(X), np.eye(3)[labels], atol=1e-12)


# ---------------------------------------------------------------------- empty component
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_component_that_loses_every_point_stays_finite_like_sklearn(rng, covariance_type):
    """A start with one mean far from all data: that component's weight sum underflows to 0."""
    X = three_blobs(rng)
    start = spread_start(X, 3, covariance_type, rng)
    start["means_init"][2] = [1e3, 1e3, 1e3]
    params = dict(covariance_type=covariance_type, max_iter=5, tol=0, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        model = GM(3, **params).fit(X)
        ref = SklearnGaussianMixture(3, **params).fit(X)
    assert model.weights_[2] < 1e-12
    assert_valid_fit(model, X)
    # The live components agree with scikit-learn; the dead one's mean is arbitrary (sklearn's
    # sits at the origin, ours at the data's centre) and its weight is ~1e-17 in both.
    live = [0, 1]
    assert_allclose(model.weights_[live], ref.weights_[live], rtol=1e-7)
    assert_allclose(model.means_[live], ref.means_[live], rtol=1e-7)
    if covariance_type != "tied":
        assert_allclose(model.covariances_[live], ref.covariances_[live], rtol=1e-7)
    else:
        assert_allclose(model.covariances_, ref.covariances_, rtol=1e-7)
    assert_allclose(model.score_samples(X), ref.score_samples(X), rtol=1e-7)
    assert_allclose(model.lower_bound_, ref.lower_bound_, rtol=1e-7)


# ---------------------------------------------------------------------- underflow
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_far_points_underflow_keeps_log_likelihood_finite_and_responsibilities_normalised(
    rng, covariance_type, dtype
):
    """Every component density underflows to 0 far away; log-space arithmetic must not."""
    X = three_blobs(rng).astype(dtype)
    model = GM(3, covariance_type=covariance_type).fit(X)
    far = np.array([[1e3, 0, 0], [0, -1e4, 0], [1e6, 1e6, -1e6], [-3e5, 2e2, 7e4]], dtype=dtype)
    assert np.all(model.predict_proba(far) >= 0)  # no NaN from 0/0
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        log_density = model.score_samples(far)
        proba = model.predict_proba(far)
        labels = model.predict(far)
    assert np.all(np.isfinite(log_density)) and np.all(log_density < -1e4)
    assert_allclose(
        log_density, scipy_mixture_logpdf(far, model), rtol=1e-9 if dtype == np.float64 else 1e-5
    )
    assert np.all(np.isfinite(proba))
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert_array_equal(labels, scipy_component_logpdf(far, model).argmax(axis=1))
    assert_array_equal(labels, proba.argmax(axis=1))


@pytest.mark.parametrize("covariance_type", UNSHARED)
def test_tight_but_real_spread_is_not_mistaken_for_a_collapse(rng, covariance_type):
    """A cluster with a standard deviation of 1e-7 at 10 (seven digits below its location, far
    above the 1e-15 resolution there) fits with reg_covar=0 and keeps its spread."""
    tight = 10.0 + 1e-7 * rng.normal(size=(200, 2))
    X = np.vstack([tight, rng.normal(size=(200, 2)) * 3 - 10])
    start = {"means_init": [[10.0, 10.0], [-10.0, -10.0]], "precisions_init": {
        "full": [np.eye(2), np.eye(2)], "diag": np.ones((2, 2)), "spherical": np.ones(2)}[
        covariance_type]}
    model = GM(2, covariance_type=covariance_type, reg_covar=0.0, **start).fit(X)
    k = int(np.argmax(model.means_[:, 0]))
    cov = model.covariances_[k]
    variances = np.diag(cov) if covariance_type == "full" else np.atleast_1d(cov)
    assert_allclose(variances, tight.var(axis=0).mean(), rtol=0.3)


def test_float32_copies_of_a_point_collapse_with_a_clear_error():
    X = np.vstack([np.full((10, 2), 7.25), np.random.default_rng(0).normal(size=(40, 2)) * 5])
    with pytest.raises(ValueError, match="increase reg_covar"):
        GM(2, reg_covar=0.0, random_state=0).fit(X.astype(np.float32))


@pytest.mark.parametrize("init_params", ["hierarchical", "kmeans"])
@pytest.mark.parametrize("covariance_type", UNSHARED)
def test_tight_cluster_far_from_the_centre_survives_the_initial_m_step(rng, covariance_type,
                                                                        init_params):
    """The start's M-step (from responsibilities) takes a cluster whose moments around the data
    centre cancel (sd 1e-7 at 10 from it) around its own mean in a second pass; it raised
    'not positive definite' with reg_covar=0 before."""
    tight = 10.0 + 1e-7 * rng.normal(size=(200, 2))
    X = np.vstack([tight, rng.normal(size=(200, 2)) * 3 - 10])
    model = GM(2, covariance_type=covariance_type, reg_covar=0.0, init_params=init_params,
               random_state=0).fit(X)
    k = int(np.argmax(model.means_[:, 0]))
    cov = model.covariances_[k]
    variances = np.diag(cov) if covariance_type == "full" else np.atleast_1d(cov)
    expected = tight.var(axis=0) if covariance_type != "spherical" else tight.var(axis=0).mean()
    assert_allclose(variances, expected, rtol=1e-6)
