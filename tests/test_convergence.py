"""When EM stops (issue 25): the default rule is relative to the log-likelihood's own size and
judges the gain still to come, so slow EM is not stopped far from its optimum on any number of
rows; a ``tol`` the user sets keeps scikit-learn's meaning; one-dimensional data has mclust's
two models."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

import gaussmix as gm
from _helpers import MCLUST_SAMPLE, MODELS, TWO_TYPES, models_where
from gaussmix.engine.convergence import RTOL, StoppingRule, held_by_ridge


def _gap_to_optimum(model, X):
    """Total log-likelihood still to gain from ``model``'s parameters (EM run on to 1e-12)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        polished = gm.polished_log_likelihood(model, X)
    return polished - model.score(X) * len(X)


def test_slow_em_stops_close_to_its_optimum():
    """Old Faithful with three full components is a slow EM (scikit-learn's tol=1e-3 stops it
    4.4 nats short of its optimum, mclust's rule 0.1); the default stops where less than about
    RTOL of the log-likelihood is left."""
    X = gm.datasets.load_old_faithful()
    model = gm.GaussianMixture(3, random_state=0).fit(X)
    total = abs(model.score(X) * len(X))
    assert model.converged_
    assert 0 <= _gap_to_optimum(model, X) <= 2 * RTOL * (1 + total)
    loose = gm.GaussianMixture(3, random_state=0, tol=1e-3).fit(X)
    assert _gap_to_optimum(loose, X) > 10 * _gap_to_optimum(model, X)


def test_the_rule_means_the_same_on_any_number_of_rows():
    """The same rows 100 times over, from the same start, take the same EM path per row: the
    default stops at the same iteration (scikit-learn's per-row tol does too, but mclust's
    absolute scale of the total would not)."""
    X = gm.datasets.load_old_faithful()
    small = gm.GaussianMixture(3, random_state=0).fit(X)
    start = gm.GaussianMixture(3, random_state=0, max_iter=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(X)
    big = gm.GaussianMixture(3, weights_init=start.weights_, means_init=start.means_,
                             precisions_init=start.precisions_).fit(np.tile(X, (100, 1)))
    assert big.n_iter_ == small.n_iter_
    np.testing.assert_allclose(big.lower_bounds_, small.lower_bounds_, rtol=1e-9)


def test_a_set_tol_keeps_scikit_learns_meaning():
    X = gm.datasets.load_old_faithful()
    model = gm.GaussianMixture(3, random_state=0, tol=1e-3).fit(X)
    assert abs(model.lower_bounds_[-1] - model.lower_bounds_[-2]) < 1e-3
    assert all(abs(b - a) >= 1e-3 for a, b in zip(model.lower_bounds_[:-2],
                                                   model.lower_bounds_[1:-1]))


def test_the_rule_is_relative_to_the_log_likelihoods_size():
    """Steps that shrink fast stop EM once the last is below RTOL of the bound; steps that
    crawl do not (the steps to come add up); and the verdicts scale with the bound."""
    rule = StoppingRule(None, n_rows=1000)
    for scale in (1.0, 10.0, 1000.0):
        assert rule.converged(*(scale * np.array([-10.0, -9.99, -9.98999])))
        assert not rule.converged(*(scale * np.array([-10.0, -9.999995, -9.99999005])))
        assert not rule.converged(*(scale * np.array([-10.0, -9.99, -9.98])))
    assert not rule.converged(-np.inf, -np.inf, 3.0)  # no step yet
    assert not rule.converged(-np.inf, -3.0, -2.0)  # one big step


def test_one_dimensional_data_fits_mclusts_e_and_v():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 150), rng.normal(6, 2, 150)])[:, None]
    sel = gm.select_model(x, range(1, 4), covariance_types="all", random_state=0,
                          progress=False)
    assert list(dict.fromkeys(sel.table.covariance_type)) == ["E", "V"]
    assert sel.best_params_ == {"n_components": 2, "covariance_type": "V"}
    default = gm.select_model(x, range(1, 4), random_state=0, progress=False)
    assert sorted(set(default.table.covariance_type)) == ["E", "V"]
    e = gm.GaussianMixture(2, covariance_type="E", random_state=0).fit(x)
    assert e.covariances_.shape == (2,) and e.covariances_[0] == e.covariances_[1]
    v = gm.GaussianMixture(2, covariance_type="V", random_state=0).fit(x)
    full = gm.GaussianMixture(2, covariance_type="full", random_state=0).fit(x)
    assert v.score(x) == pytest.approx(full.score(x), rel=1e-9)


def test_one_dimensional_names_on_several_features_say_what_to_use():
    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(ValueError, match="one-dimensional data.*'EII'"):
        gm.GaussianMixture(2, covariance_type="E").fit(X)
    with pytest.raises(ValueError, match="one-dimensional data.*'spherical'"):
        gm.select_model(X, [1, 2], covariance_types=["V"], progress=False)


# ---------------------------------------------------------------- the grid's other defaults
REFERENCE = Path(__file__).parent / "reference"
PANEL = Path(__file__).resolve().parents[1] / "benchmarks" / "panel"


@pytest.mark.parametrize("name", ["trees", "baudry_ex4_1", "quakes_full"])
def test_mclusts_own_start_is_mclusts_partition(name):
    """The search's fourth start is mclust's: its agglomeration from single rows with the trace
    criterion on the scaled SVD of the data gives the very partitions of R's hc(X) at every G
    (``tests/reference/mclust_hc.R``), R's quakes (1000 x 5) included, which is within the
    single-row budget."""
    from sklearn.metrics import adjusted_rand_score

    from gaussmix.engine import starts

    folder = REFERENCE if name == "quakes_full" else PANEL
    X = pd.read_csv(folder / f"{name}.csv").to_numpy(dtype=float)
    reference = pd.read_csv(REFERENCE / "mclust_hc_classes.csv").query("dataset == @name")
    for g, rows in reference.groupby("G"):
        (_, _, resp), = starts.init_model_based_svd(X, None, int(g), None, np.float64)
        assert adjusted_rand_score(rows["class"], resp.argmax(axis=1)) == 1.0, g


def test_the_grid_does_not_depend_on_the_units_of_the_columns():
    """A column in small units (variance 1e-5, as glass's refractive index) gets the same fits
    as in large ones: select_model's ridge is relative to the smallest column variance,
    where scikit-learn's absolute 1e-6 would be a tenth of that column's variance."""
    X = gm.datasets.load_old_faithful()
    small = X * np.array([1e-3, 1.0])
    kwargs = {"n_components": [1, 2, 3],
              "covariance_types": TWO_TYPES[:1] + MCLUST_SAMPLE[-1:],  # full, VEV
              "random_state": 0, "progress": False}
    big, tiny = gm.select_model(X, **kwargs).table, gm.select_model(small, **kwargs).table
    shift = len(X) * np.log(1e-3)  # log p changes by the log of the scale, row by row
    # the same optima; where EM stops differs by the stopping rule's tolerance (relative to
    # |log-likelihood|, mclust's scale, which moves with the units)
    np.testing.assert_allclose(tiny["loglik"] + shift, big["loglik"], rtol=10 * RTOL)
    assert list(tiny["status"]) == list(big["status"])


def test_a_spurious_mixture_stops_on_the_last_step_alone():
    """A component with fewer rows than its own parameters has no optimum to crawl towards
    (its likelihood grows as it narrows): the gain-to-come guard does not hold it back."""
    rule = StoppingRule(None, n_rows=40, min_rows=10)
    crawling = (-10.0, -9.999995, -9.99999005)  # steps below RTOL, shrinking by 1% a step
    assert not rule.converged(*crawling, weights=np.array([0.5, 0.5]))  # 20 rows each
    assert rule.converged(*crawling, weights=np.array([0.9, 0.1]))  # one of 4 rows
    assert not rule.converged(-10.0, -9.9, -9.85, weights=np.array([0.9, 0.1]))  # big steps


# ---------------------------------------------------------------------- held up by the ridge
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_features=st.integers(1, 5),
       with_whitener=st.booleans(), log_ridge=st.floats(-6, 2))
def test_held_by_ridge_is_the_smallest_eigenvalues_below_their_bounds(seed, n_features,
                                                                     with_whitener, log_ridge):
    """The cheap bound only skips components it clears: the answer is that of every
    covariance's eigendecompositions (in the whitener's directions, both below their bounds),
    dense and diagonal."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(6, n_features, n_features))
    scales = np.exp(rng.uniform(-6, 3, size=(6, 1, n_features)))
    covariances = a @ np.swapaxes(a, 1, 2) * scales * np.swapaxes(scales, 1, 2) \
        + 1e-9 * np.eye(n_features)
    variances = np.exp(rng.uniform(-8, 3, size=(6, n_features)))
    whitener, collapsed = None, 0.0
    if with_whitener:
        r = max(n_features - 1, 1)
        whitener = np.linalg.qr(rng.normal(size=(n_features, r)))[0] * rng.uniform(0.5, 4, r)
        collapsed = 10.0 ** rng.uniform(-6, 1)
    ridge = 10.0**log_ridge

    def expected(cov):
        if whitener is None:
            return np.linalg.eigvalsh(cov)[:, 0] < ridge
        basis = whitener / np.linalg.norm(whitener, axis=0)
        return (np.linalg.eigvalsh(basis.T @ cov @ basis)[:, 0] < ridge) & (
            np.linalg.eigvalsh(whitener.T @ cov @ whitener)[:, 0] < collapsed)

    factors = np.swapaxes(np.linalg.inv(np.linalg.cholesky(covariances)), 1, 2)
    np.testing.assert_array_equal(held_by_ridge(factors, ridge, "dense", whitener, collapsed),
                                  expected(covariances))
    np.testing.assert_array_equal(
        held_by_ridge(1 / np.sqrt(variances), ridge, "diagonal", whitener, collapsed),
        expected(variances[:, :, None] * np.eye(n_features)))


def test_a_grid_stops_a_run_held_up_by_the_ridge_and_lists_it_as_degenerate():
    """Four full components on 40 rows in 4 dimensions: the start gives a component fewer rows
    than dimensions, which only the ridge holds up. The grid stops that run there (mclust
    reports such cells as singular) and never chooses it; a single fit is not stopped so (it
    climbs on, 11 nats, by narrowing that component), nor is a grid whose ridge is one a user
    chose large."""
    X = np.random.default_rng(3).normal(size=(40, 4))
    sel = gm.select_model(X, [1, 4], "full", n_init=1, random_state=0, progress=False)
    row = sel.table.set_index("n_components").loc[4]
    assert row.status == "degenerate" and "collapsed" in row.message
    assert not row.converged and row.n_iter == 1
    assert sel.best_params_["n_components"] == 1
    alone = gm.GaussianMixture(4, n_init=1, random_state=0, reg_covar=sel.best_.reg_covar)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        alone.fit(X)
    assert alone.converged_ and alone.n_iter_ > 20
    assert alone.score(X) * len(X) > row.loglik + 5
    wide = gm.select_model(X, [1, 4], "full", n_init=1, random_state=0, progress=False,
                           reg_covar=0.3)
    assert wide.table.converged.all()


def test_a_grid_stops_a_run_whose_rows_have_no_variance_where_the_shape_is_their_own():
    """Three EVE components on 30 rows in 7 dimensions: the start gives a component 6 rows,
    whose own variance is nil in two directions. EVE's equal volume keeps its covariance from
    showing it, but its shape is its own, so it can narrow onto those rows without bound
    (mclust reports no fit there). The grid stops that run at once and lists it apart; the same
    fit alone climbs on (19 nats, narrowing that component)."""
    X = np.random.default_rng(3).normal(size=(30, 7))
    sel = gm.select_model(X, [1, 3], "EVE", n_init=1, random_state=0, progress=False)
    row = sel.table.set_index("n_components").loc[3]
    assert row.status == "degenerate" and "holds 6 rows" in row.message
    assert not row.converged and row.n_iter == 1
    alone = gm.GaussianMixture(3, covariance_type="EVE", n_init=1, random_state=0,
                               reg_covar=sel.best_.reg_covar).fit(X)
    assert alone.converged_ and alone.n_iter_ > 5
    assert alone.score(X) * len(X) > row.loglik + 5


@pytest.mark.parametrize("covariance_type", models_where(
    lambda model: model.family == "diagonal" and model.own_shape, MODELS))
def test_axis_aligned_shapes_are_judged_along_the_axes(covariance_type):
    """Three rows span two dimensions of four: their own variance is nil in oblique directions
    but not along any axis, which is all an axis-aligned component can narrow along; the
    grid's run on them goes on to converge, also in a batch with full covariances (whose
    E-step moments are dense)."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(40, 4)), 8 + rng.normal(size=(3, 4))])
    sel = gm.select_model(X, [1, 2], [covariance_type, "full"], n_init=1, random_state=0,
                          progress=False)
    row = sel.table.set_index(["covariance_type", "n_components"]).loc[(covariance_type, 2)]
    assert "holds 3 rows" in row.message  # listed apart as spurious, but run to the end
    assert row.converged


def test_a_constant_column_is_not_taken_for_a_ridge_held_component():
    """A constant column is held up by the ridge in every component; only directions in which
    the data spread count, so the grid fits such data as before."""
    rng = np.random.default_rng(0)
    X = np.column_stack([np.vstack([rng.normal(size=(100, 2)), rng.normal(6, 1, (100, 2))]),
                         np.full(200, 3.0)])
    sel = gm.select_model(X, [1, 2, 3], "all", n_init=1, random_state=0, progress=False)
    assert (sel.table.status == "ok").all(), sel.table[["covariance_type", "message"]]
    assert sel.table.converged.all()
    assert sel.best_params_["n_components"] == 2


def test_copies_of_rows_beside_a_constant_column_fit_without_a_linear_algebra_error():
    """Three copies of 20 rows beside a constant column raised numpy's LinAlgError from the
    ridge check: the constant column, whose variance is only the floor the data's covariance
    gets, set a ridge of 1e-18, and inverting a precision factor's square lost the rest to
    rounding. The ridge now comes from the columns that vary, and the check inverts the
    triangular factor itself."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(20, 3))] * 3)
    X[:, 2] = 1.0
    sel = gm.select_model(X, range(1, 6), "all", random_state=0, progress=False)
    assert sel.best_.reg_covar == pytest.approx(1e-6 * X[:, :2].var(axis=0).min())
    assert np.isfinite(sel.table.loglik).all()


def test_mclusts_own_start_breaks_exact_ties_as_mclust_does():
    """Copies of rows make merge costs tie exactly; the agglomeration merges tied pairs in hc's
    order (the pair whose larger group index is largest), merge for merge R's hc on a 12-row
    example with three pairs of copies (``tests/reference/mclust_hc.R``)."""
    from gaussmix.engine import model_based, starts

    X = pd.read_csv(REFERENCE / "mclust_hc_ties.csv").to_numpy(dtype=float)
    w = np.ones(len(X))
    tree = model_based.model_based_tree(starts._mclust_rows(X, w), w, 2, len(X),
                                        criterion="trace")
    expected = pd.read_csv(REFERENCE / "mclust_hc_tie_pairs.csv").to_numpy() - 1
    np.testing.assert_array_equal(tree.pairs, expected)


@pytest.mark.parametrize("covariance_type", MODELS)
def test_a_run_alone_judges_the_ridge_from_its_state_in_every_representation(covariance_type):
    """Runs stepped alone (missing values, large or Dask data) judge their state's covariances
    by the same rule as a batch's stacked factors: the smallest eigenvalue of each component's
    covariance against the ridge."""
    from gaussmix.engine import covariance
    from gaussmix.estimators.em_loop import held_by_ridge_state

    X = np.random.default_rng(0).normal(size=(300, 3)) * [1.0, 3.0, 0.2]
    model = gm.GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    cov_model = covariance.get(covariance_type)
    smallest = np.linalg.eigvalsh(cov_model.dense(model.covariances_, 3, 3))[:, 0]
    for ridge in (0.5 * smallest.min(), 1.5 * smallest.min(), 2.0 * smallest.max()):
        held = held_by_ridge_state(cov_model, model._fitted_state(), StoppingRule(ridge=ridge))
        np.testing.assert_array_equal(held, smallest < ridge)
