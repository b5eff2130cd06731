"""Property-based tests (hypothesis) over the public estimators and the file readers: arbitrary
finite float32/float64 data at extreme scales, with duplicate rows, constant columns, NaN
patterns and weights. Every call either succeeds with valid output (weights and probabilities
summing to one, finite densities, EM's bound never decreasing) or raises one of the documented
errors (``ValueError`` with our message, ``TypeError``), never anything else (issue 26).
The number of examples is the profile's (tests/conftest.py)."""

import warnings
from functools import partial

import numpy as np
import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gaussmix as gm
from _helpers import COVARIANCE_TYPES, MCLUST_ONLY, TWO_TYPES
from gaussmix.engine import covariance, families
from gaussmix.engine.validation import MAX_ABS_VALUE

#: Errors the public API documents; anything else (LinAlgError, IndexError, FloatingPointError,
#: RuntimeError, ...) is a bug.
DOCUMENTED = (ValueError, TypeError)
UNDOCUMENTED = (np.linalg.LinAlgError, IndexError, FloatingPointError, ZeroDivisionError,
                OverflowError, KeyError)


@st.composite
def datasets(draw, allow_nan=False):
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    n_rows = draw(st.integers(2, 40))
    n_features = draw(st.integers(1, 3))
    limit = MAX_ABS_VALUE[np.dtype(dtype)]
    base = draw(hnp.arrays(np.float64, (n_rows, n_features),
                           elements=st.floats(-1e3, 1e3, allow_nan=False)))
    exponent = draw(st.integers(-300 if dtype == np.float64 else -30,
                                int(np.log10(limit)) - 4))
    shift = draw(st.sampled_from([0.0, 1.0, -7.5])) * 10.0 ** draw(st.integers(0, 3))
    X = (base + shift) * 10.0 ** exponent
    if draw(st.booleans()):  # duplicate rows
        X = np.vstack([X, X[: draw(st.integers(1, n_rows))]])
    if draw(st.booleans()):  # a constant column
        X[:, draw(st.integers(0, n_features - 1))] = X[0, 0]
    X = np.clip(X, -limit, limit).astype(dtype)
    if allow_nan and draw(st.booleans()):
        mask = draw(hnp.arrays(bool, X.shape))
        X[mask] = np.nan
    weights = None
    if draw(st.booleans()):
        weights = draw(hnp.arrays(np.float64, X.shape[0],
                                  elements=st.floats(0, 1e6, allow_nan=False)))
        weights *= 10.0 ** draw(st.integers(-20, 60))
    return X, weights


def _record(what, detail=None):
    """Statistics for ``--hypothesis-show-statistics`` (inside a hypothesis test only)."""
    from hypothesis.control import currently_in_test_context

    if currently_in_test_context():
        event(what)
        if detail:
            note(detail)


def _call(fn):
    """Run ``fn``; None for a documented error, else its result. Other errors fail the test."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings are allowed
            result = fn()
        _record("succeeded")
        return result
    except UNDOCUMENTED:
        raise
    except DOCUMENTED as exc:
        assert str(exc).strip(), "an error must say what is wrong"
        _record(f"refused: {str(exc)[:40]}", f"refused: {type(exc).__name__}: {exc}")
        return None


def _check_fitted(model, X, monotone=False):
    noise = float(getattr(model, "noise_weight_", 0.0))
    assert np.isclose(np.sum(model.weights_, dtype=np.float64) + noise, 1.0, atol=1e-5)
    if hasattr(model, "dofs_"):
        assert np.all(np.isfinite(model.dofs_)) and np.all(model.dofs_ > 0)
    assert np.all(np.isfinite(model.means_)) and np.all(np.isfinite(model.covariances_))
    proba = _call(lambda: model.predict_proba(X))
    if proba is None:
        return
    assert np.all(np.isfinite(proba))
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-4)
    density = model.score_samples(X)
    assert not np.any(np.isnan(density)) and np.all(density < np.inf)
    bounds = np.asarray(model.lower_bounds_, dtype=np.float64)
    # reg_covar > 0 makes the M-step inexact, so only EM without it must climb at every step
    if monotone and len(bounds) > 1:
        scale = np.maximum(1.0, np.abs(bounds[1:]))
        assert np.all(np.diff(bounds) >= -1e-6 * scale), bounds  # EM never goes down


@given(data=datasets(), n_components=st.integers(1, 3),
       covariance_type=st.sampled_from(list(covariance.names())),
       init_params=st.sampled_from(["hierarchical", "kmeans", "k-means++", "random",
                                    "random_from_data"]))
def test_gaussian_mixture_fits_validly_or_refuses(data, n_components, covariance_type,
                                                  init_params):
    X, weights = data
    model = gm.GaussianMixture(n_components, covariance_type=covariance_type,
                               init_params=init_params, max_iter=30, random_state=0)
    fitted = _call(lambda: model.fit(X, sample_weight=weights))
    if fitted is not None:
        _check_fitted(fitted, X)


@given(data=datasets(), n_components=st.integers(1, 3),
       covariance_type=st.sampled_from(list(covariance.names())),
       family=st.sampled_from(sorted(families.FAMILIES)), noise=st.booleans())
def test_every_family_with_or_without_noise_fits_validly_or_refuses(
        data, n_components, covariance_type, family, noise):
    X, weights = data
    estimator = {"gaussian": gm.GaussianMixture, "student": gm.StudentMixture}[family]
    model = estimator(n_components, covariance_type=covariance_type, noise=noise, max_iter=30,
                      random_state=0)
    fitted = _call(lambda: model.fit(X, sample_weight=weights))
    if fitted is not None:
        _check_fitted(fitted, X)


@given(data=datasets(), n_components=st.integers(1, 3),
       covariance_type=st.sampled_from(list(covariance.names())))
def test_without_regularisation_em_is_monotone_or_refuses(data, n_components, covariance_type):
    X, weights = data
    model = gm.GaussianMixture(n_components, covariance_type=covariance_type, reg_covar=0,
                               init_params="k-means++", max_iter=30, random_state=0)
    fitted = _call(lambda: model.fit(X, sample_weight=weights))
    if fitted is not None:
        assert np.all(np.isfinite(fitted.lower_bounds_)), fitted.lower_bounds_
        _check_fitted(fitted, X, monotone=True)


@given(data=datasets(allow_nan=True), n_components=st.integers(1, 2),
       covariance_type=st.sampled_from(COVARIANCE_TYPES))
def test_missing_values_fit_validly_or_are_refused(data, n_components, covariance_type):
    X, weights = data
    model = gm.GaussianMixture(n_components, covariance_type=covariance_type, missing="em",
                               max_iter=20, random_state=0)
    fitted = _call(lambda: model.fit(X, sample_weight=weights))
    if fitted is None:
        return
    assert not np.all(np.isnan(X), axis=0).any(), "an all-missing column must be refused"
    _check_fitted(fitted, X)
    filled = _call(lambda: fitted.impute(X))
    assert filled is None or np.all(np.isfinite(filled))


@given(data=datasets(), covariance_types=st.sampled_from(["all", TWO_TYPES]))
def test_select_model_ranks_validly_or_refuses(data, covariance_types):
    X, weights = data
    selection = _call(lambda: gm.select_model(X, n_components=[1, 2],
                                              covariance_types=covariance_types,
                                              sample_weight=weights, max_iter=20))
    if selection is not None:
        _check_fitted(selection.best_, X)


@given(n_rows=st.integers(2, 8), extra=st.integers(1, 8), n_init=st.integers(1, 6),
       copies=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_fewer_rows_than_columns_fit_validly_or_refuse(n_rows, extra, n_init, copies, seed):
    """Wide data (fewer rows than columns, where mclust's coordinates span fewer dimensions
    than the data) through every start of the default search: a valid fit or a documented
    refusal, never an IndexError (the crash this test's class was found by)."""
    X = np.random.default_rng(seed).normal(size=(n_rows, n_rows + extra))
    if copies:  # rows spanning fewer dimensions still
        X[1:] = X[0]
    model = gm.GaussianMixture(min(2, n_rows), n_init=n_init, max_iter=20, random_state=0)
    fitted = _call(lambda: model.fit(X))
    if fitted is not None:
        _check_fitted(fitted, X)


@given(data=datasets(), n_components=st.integers(1, 3))
def test_bayesian_mixture_fits_validly_or_refuses(data, n_components):
    X, weights = data
    model = gm.BayesianGaussianMixture(n_components, max_iter=20, random_state=0)
    fitted = _call(lambda: model.fit(X, sample_weight=weights))
    if fitted is not None:
        _check_fitted(fitted, X)


@given(data=datasets())
def test_outlier_detector_fits_validly_or_refuses(data):
    X, _ = data
    detector = gm.MixtureOutlierDetector(n_components=[1, 2], covariance_type=["diag"],
                                         random_state=0)
    fitted = _call(lambda: detector.fit(X))
    if fitted is not None:
        scores = fitted.score_samples(X)
        assert np.all(np.isfinite(scores))
        assert set(np.unique(fitted.predict(X))) <= {-1, 1}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_values_beyond_the_limit_are_refused_with_our_message(dtype):
    limit = MAX_ABS_VALUE[np.dtype(dtype)]
    X = np.random.default_rng(0).normal(size=(50, 2)).astype(dtype)
    model = gm.GaussianMixture(2, random_state=0).fit(X * limit / 10)
    with pytest.raises(ValueError, match="gaussmix works with"):
        model.predict_proba(X * limit * 10)
    with pytest.raises(ValueError, match="gaussmix works with"):
        gm.GaussianMixture(2).fit(X * limit * 10)


def test_values_beyond_the_limit_in_a_memory_mapped_file_are_refused(tmp_path):
    X = np.random.default_rng(0).normal(size=(300, 2))
    X[123] *= 1e120
    np.save(tmp_path / "x.npy", X)
    with pytest.raises(ValueError, match="Row 123 of the memory-mapped X holds .*up to 1e\\+100"):
        gm.GaussianMixture(2).fit(np.load(tmp_path / "x.npy", mmap_mode="r"))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", list(covariance.names()))
def test_em_without_regularisation_climbs_at_every_step(covariance_type, dtype):
    """reg_covar=0 on well-posed data, every covariance model and dtype: the bound is finite and
    never goes down (up to the dtype's rounding), or the fit is refused with the reg_covar
    advice."""
    X, _ = gm.make_mixture(240, 3, 3, overlap=0.05, random_state=3)[:2]
    X = X.astype(dtype)
    rounding = 1e-10 if dtype == np.float64 else 2e-5
    # one component from single rows (lower_bounds_[0] was -inf for EVE/VVE), three from two
    # kinds of start
    for n_components, init_params in ((1, "k-means++"), (3, "hierarchical"), (3, "random")):
        model = gm.GaussianMixture(n_components, covariance_type=covariance_type,
                                   reg_covar=0, init_params=init_params, tol=0,
                                   max_iter=40, random_state=0)
        fitted = _call(partial(model.fit, X))
        if fitted is None:
            continue
        bounds = np.asarray(fitted.lower_bounds_)
        assert np.all(np.isfinite(bounds)), (n_components, init_params, bounds[:3])
        drops = -np.diff(bounds) / np.maximum(1.0, np.abs(bounds[1:]))
        assert np.all(drops <= rounding), (n_components, init_params, drops.max())


@pytest.mark.parametrize("settings", [
    {"n_components": 2, "n_init": 10**9},
    {"n_components": 40, "n_init": 1, "wide": 3000},
])
def test_fits_beyond_the_planned_memory_are_refused_before_allocating(settings):
    import tracemalloc

    wide = settings.pop("wide", 2)
    X = np.random.default_rng(0).normal(size=(60, wide))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="GiB gaussmix plans for one fit"):
            gm.GaussianMixture(**settings).fit(X)
        assert tracemalloc.get_traced_memory()[1] < 50 * 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.filterwarnings("ignore:Best of 1 initialisation")  # the stop is not convergence
@pytest.mark.parametrize("covariance_type", MCLUST_ONLY[-1:] + TWO_TYPES[:1])  # EVV, full
def test_em_without_regularisation_stops_and_says_why_when_a_covariance_is_singular(
        covariance_type):
    """Four components on 38 rows in 3-D with reg_covar=0: one is left with 3 rows, its
    covariance numerically singular, and the bound fell by 0.3%; EM now stops there, says why,
    and what it reports never goes down beyond rounding."""
    X, _ = gm.make_mixture(38, 3, 3, overlap=0.1, random_state=674668)[:2]
    model = gm.GaussianMixture(4, covariance_type=covariance_type, reg_covar=0,
                               init_params="kmeans", tol=0, max_iter=50, random_state=674668)
    with pytest.warns(Warning, match="EM stopped where its lower bound went down"):
        model.fit(X)
    assert not model.converged_
    drops = -np.diff(model.lower_bounds_[:-1])
    assert np.all(drops <= 1e-6 * np.maximum(1.0, np.abs(model.lower_bounds_[1:-1])))
