"""select_model: the grid, the criteria, degenerate and failed fits, the plot, bad grids."""

import inspect
import re
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy.special import xlogy
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import gaussmix as gm
from _helpers import MCLUST_SAMPLE, ONE_PER_REPRESENTATION, TWO_TYPES, models_where
from gaussmix.selection import DEGENERATE_VARIANCE

SEED = 20261125
TYPES = inspect.signature(gm.select_model).parameters["covariance_types"].default


@pytest.fixture(scope="module")
def faithful():
    return gm.datasets.load_old_faithful()


@pytest.fixture(scope="module")
def faithful_selection(faithful):
    return gm.select_model(faithful, range(1, 7), n_init=5, random_state=SEED, progress=False)


# ---------------------------------------------------------------------- choosing K
@pytest.mark.parametrize("covariance_type,n_features", [("full", 2), ("spherical", 3), ("tied", 2)])
def test_picks_true_k_on_well_separated_data(covariance_type, n_features):
    X, _, truth = gm.make_mixture(
        800, 4, n_features, overlap=0.001, covariance_type=covariance_type, max_axis_ratio=4.0,
        random_state=SEED,
    )
    sel = gm.select_model(X, range(1, 8), n_init=3, random_state=SEED, progress=False)
    assert sel.best_params_["n_components"] == 4, sel.ranking(5)
    assert sel.best_.n_components == 4
    # the chosen model finds the true groups up to label switching
    assert sel.best_.score(X) >= truth.score(X) - 0.05


def test_old_faithful_ranking_matches_mclust(faithful_selection):
    """mclust on faithful: BIC prefers EEE (tied) with 3 components, then VVV (full) with 2."""
    sel = faithful_selection
    assert sel.best_params_ == {"n_components": 3, "covariance_type": "tied"}
    top = sel.ranking(4)
    assert ((top.n_components == 2) & (top.covariance_type == "full")).any(), top
    # mclust's values (BIC in its higher-is-better sign): EEE,3 -2314.386 and VVV,2 -2322.192
    row = sel.table.set_index(["n_components", "covariance_type"])
    assert row.loc[(3, "tied"), "bic"] == pytest.approx(2314.39, abs=0.1)
    assert row.loc[(2, "full"), "bic"] == pytest.approx(2322.19, abs=0.05)
    # one Gaussian is far worse; ICL, which penalises overlapping components, wants 2 eruption types
    assert row.loc[(1, "full"), "bic"] > row.loc[(3, "tied"), "bic"] + 200
    icl_best = sel.table[sel.table.status == "ok"].sort_values("icl").iloc[0]
    assert icl_best.n_components == 2
    # AIC penalises less than BIC (log 272 > 2), so it never chooses fewer components
    aic_best = sel.table[sel.table.status == "ok"].sort_values("aic").iloc[0]
    assert aic_best.n_components >= sel.best_params_["n_components"]


# ---------------------------------------------------------------------- the table
def test_table_values_match_models_and_references(faithful, faithful_selection):
    sel, X = faithful_selection, faithful
    n = len(X)
    assert list(sel.table.columns[:8]) == [
        "n_components", "covariance_type", "loglik", "n_parameters", "bic", "aic", "icl",
        "converged",
    ]
    assert len(sel.table) == 6 * 4
    assert set(sel.table.covariance_type) == set(TYPES)
    for row in sel.table.itertuples():
        model = sel.models_[(row.n_components, row.covariance_type)]
        assert row.loglik == pytest.approx(model.score(X) * n, rel=1e-10)
        assert row.bic == pytest.approx(model.bic(X), rel=1e-10)
        assert row.aic == pytest.approx(model.aic(X), rel=1e-10)
        resp = model.predict_proba(X)
        entropy = -xlogy(resp, resp).sum()
        assert row.icl == pytest.approx(row.bic + 2 * entropy, rel=1e-10)
        assert row.icl >= row.bic - 1e-9
        # parameter count from an independent reference: scikit-learn's estimator
        sk = SkGaussianMixture(row.n_components, covariance_type=row.covariance_type)
        sk.means_ = model.means_
        assert row.n_parameters == sk._n_parameters()
    ok = sel.table[sel.table.status == "ok"]
    assert sel.best_index_ == ok.bic.idxmin()
    assert sel.best_ is sel.models_[(3, "tied")]
    assert "best K=3, tied by BIC" in repr(sel)


def test_criterion_choice_changes_best(faithful):
    matrices = models_where(lambda m: m.family != "diagonal")  # full, tied
    sel = gm.select_model(faithful, [2, 3], matrices, criterion="ICL", n_init=2,
                          random_state=SEED, progress=False)
    ok = sel.table[sel.table.status == "ok"]
    assert sel.criterion == "icl"
    assert sel.best_index_ == ok.icl.idxmin()


def test_integer_weights_equal_repeated_rows(faithful):
    X = faithful[:120]
    w = np.random.default_rng(SEED).integers(0, 4, len(X))
    kw = {"n_init": 1, "random_state": SEED, "progress": False}
    weighted = gm.select_model(X, [1, 2, 3], TWO_TYPES, sample_weight=w, **kw)
    repeated = gm.select_model(np.repeat(X, w, axis=0), [1, 2, 3], TWO_TYPES, **kw)
    cols = ["loglik", "bic", "aic", "icl"]
    np.testing.assert_allclose(weighted.table[cols], repeated.table[cols], rtol=1e-7)


def test_parallel_table_equals_serial(faithful):
    dense_and_spherical = models_where(lambda m: not m.shared)[::2]
    kw = {"n_components": [1, 2, 3], "covariance_types": dense_and_spherical, "n_init": 2,
              "random_state": SEED, "progress": False}
    serial = gm.select_model(faithful, n_jobs=1, **kw)
    parallel = gm.select_model(faithful, n_jobs=2, **kw)
    # serially every fit's runs share one batch, in parallel one number of components per
    # worker: the same arithmetic per run, up to the order of BLAS's sums
    cols = ["n_components", "covariance_type", "status", "converged", "n_iter"]
    assert serial.table[cols].equals(parallel.table[cols])
    cols = ["loglik", "bic", "aic", "icl"]
    np.testing.assert_allclose(serial.table[cols], parallel.table[cols], rtol=1e-12)


def test_progress_bar_runs_and_can_be_switched_off(faithful, capsys):
    gm.select_model(faithful, [1, 2], "tied", n_init=1, progress=True)
    gm.select_model(faithful, [1, 2], "tied", n_init=1, progress=False)
    assert capsys.readouterr().out == ""  # progress goes to stderr, never to stdout


# ---------------------------------------------------------------------- degenerate and failed fits
def test_spike_on_repeated_rows_is_degenerate_and_not_chosen():
    rng = np.random.default_rng(SEED)
    X = np.vstack([rng.normal(size=(200, 2)), np.repeat([[4.0, 4.0]], 15, axis=0)])
    sel = gm.select_model(X, [1, 2], "full", n_init=5, random_state=SEED, progress=False)
    row = sel.table.set_index("n_components")
    # the best likelihood with 2 components is the spike on the repeated row: far higher, spurious
    assert row.loc[2, "status"] == "degenerate"
    assert row.loc[2, "loglik"] > row.loc[1, "loglik"] + 100
    assert "variance" in row.loc[2, "message"]
    assert sel.best_params_["n_components"] == 1
    allowed = gm.select_model(X, [1, 2], "full", n_init=5, random_state=SEED, progress=False,
                              allow_degenerate=True)
    assert allowed.best_params_["n_components"] == 2
    spike = allowed.best_
    smallest = np.linalg.eigvalsh(spike.covariances_).min()
    assert smallest < DEGENERATE_VARIANCE * np.linalg.eigvalsh(np.cov(X.T)).min()


def test_starts_refitted_alone_do_not_leak_convergence_warnings():
    """When a search ends degenerate, its starts are refitted alone; those fits are silenced
    like the grid's own (a run out of iterations is the table's ``converged`` column, not a
    warning from inside select_model)."""
    X = np.random.default_rng(0).normal(size=(40, 3))  # 6 full components: every fit spurious
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sel = gm.select_model(X, [1, 6], "full", n_init=4, max_iter=5, random_state=0,
                              progress=False)
    row = sel.table.set_index("n_components").loc[6]
    assert row.status == "degenerate" and not row.converged


def test_collapsing_fit_is_a_failed_row_not_a_crash():
    # three distinct points, repeated: with reg_covar=0, three full components are singular
    X = np.repeat([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], 10, axis=0)
    X = X + np.random.default_rng(SEED).normal(scale=1e-3, size=X.shape) * [[1, 0]]
    sel = gm.select_model(X, [1, 3], "full", n_init=2, reg_covar=0.0, random_state=SEED,
                          progress=False)
    row = sel.table.set_index("n_components")
    assert row.loc[3, "status"] == "failed"
    assert "positive definite" in row.loc[3, "message"] or "variance" in row.loc[3, "message"]
    assert np.isnan(row.loc[3, "bic"])
    assert sel.best_params_["n_components"] == 1
    assert (3, "full") not in sel.models_


def test_no_usable_fit_raises_clear_error():
    X = np.repeat([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], 10, axis=0)
    with pytest.raises(ValueError, match="No fit in the grid is usable"):
        gm.select_model(X, [3], "full", n_init=1, reg_covar=0.0, progress=False)


# ---------------------------------------------------------------------- the plot
def test_plot_draws_one_line_per_type_and_marks_best(faithful_selection):
    sel = faithful_selection
    ax = sel.plot()
    lines = {line.get_label(): line for line in ax.get_lines()}
    for ctype in TYPES:
        rows = sel.table[sel.table.covariance_type == ctype].sort_values("n_components")
        x, y = lines[ctype].get_data()
        np.testing.assert_array_equal(x, rows.n_components)
        expected = rows.bic.where(rows.status == "ok")
        np.testing.assert_allclose(np.asarray(y, float), expected, equal_nan=True)
    star = next(line for line in ax.get_lines() if line.get_label().startswith("best"))
    assert star.get_marker() == "*"
    best = sel.table.loc[sel.best_index_]
    assert star.get_data()[0][0] == best.n_components
    assert star.get_data()[1][0] == pytest.approx(best.bic)
    assert "lower is better" in ax.get_ylabel()
    assert "BIC" in ax.get_ylabel()
    has_degenerate = (sel.table.status == "degenerate").any()
    assert ("degenerate fit" in lines) == has_degenerate
    plt.close(ax.figure)
    fig, given = plt.subplots()
    assert sel.plot(ax=given, criterion="icl") is given
    assert given.get_ylabel().startswith("ICL")
    with pytest.raises(ValueError, match="Unknown criterion"):
        sel.plot(criterion="dic")
    plt.close(fig)


# ---------------------------------------------------------------------- bad grids
@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"n_components": []}, ValueError, "n_components is empty"),
        ({"n_components": range(1, 1)}, ValueError, "n_components is empty"),
        ({"n_components": [1, 300]}, ValueError, "only 272 rows"),
        ({"n_components": [0, 1]}, ValueError, "integer >= 1"),
        ({"n_components": [1.5]}, ValueError, "integer >= 1"),
        ({"n_components": "three"}, ValueError, "integer >= 1"),
        ({"n_components": None}, TypeError, "iterable of integers"),
        ({"covariance_types": ()}, ValueError, "covariance_types is empty"),
        ({"covariance_types": ("full", "VVX")}, ValueError, "Unknown covariance type 'VVX'"),
        ({"covariance_types": "ful"}, ValueError, "Unknown covariance type 'ful'"),
        ({"criterion": "bicc"}, ValueError, "Unknown criterion 'bicc'"),
        ({"n_components_": 3}, TypeError, "n_components_"),
        ({"covariance_type": "full"}, TypeError, "covariance_type"),
        ({"n_init": 0}, ValueError, "n_init"),
        ({"max_iters": 5}, TypeError, "unexpected keyword argument.*'max_iters'"),
        ({"tol": -1.0}, ValueError, "tol"),
    ],
)
def test_bad_grid_gives_clear_error(faithful, kwargs, error, match):
    with pytest.raises(error, match=match):
        gm.select_model(faithful, **{"progress": False, **kwargs})


def test_bad_data_gives_clear_error():
    with pytest.raises(ValueError, match="NaN"):
        gm.select_model([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]], [1], progress=False)
    with pytest.raises(ValueError, match="2-D|2D"):
        gm.select_model(np.arange(10.0), [1], progress=False)


def test_degenerate_search_result_falls_back_to_the_best_proper_start():
    """Four tight rows far from two groups: with three full components the search's best
    likelihood gives those four rows a component of their own, fewer rows than the five
    parameters it fits (spurious); the row reports the best proper fit among the search's
    starts instead, says so, and the spurious fit is listed apart."""
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(size=(300, 2)), rng.normal([8, 8], 0.05, (4, 2)),
                   rng.normal([-5, 5], 0.8, (60, 2))])
    sel = gm.select_model(X, [2, 3], "full", n_init=5, random_state=0, progress=False)
    row = sel.table.set_index("n_components").loc[3]
    assert row.status == "ok"
    assert "was degenerate" in row.message and "best proper fit" in row.message
    assert "spurious: component" in row.message
    spike = float(re.search(r"loglik (-?[0-9.]+)", row.message).group(1))
    assert spike > row.loglik + 50  # the spurious fit had a far higher likelihood
    aside = sel.set_aside.set_index("n_components").loc[3]
    assert aside.status == "degenerate" and aside.loglik == pytest.approx(spike, rel=1e-5)


def test_a_search_run_held_up_by_the_ridge_stops_and_is_not_chosen(faithful):
    """Old Faithful's waiting times are whole minutes: with 5 full components a start puts a
    component on one tied value, where only the ridge holds it up. The grid stops that run
    there, so its search ends on a proper fit (unstopped, that run climbs to the search's best
    likelihood, as the same fit alone shows, and has to be set aside)."""
    from gaussmix.selection.criteria import DataSpread, degenerate_reason

    sel = gm.select_model(faithful, [3, 5], "full", n_init=5, random_state=0, progress=False)
    row = sel.table.set_index("n_components").loc[5]
    assert row.status == "ok" and row.converged and row.message == ""
    alone = gm.GaussianMixture(5, n_init=5, random_state=0, reg_covar=sel.best_.reg_covar)
    alone.fit(faithful)
    assert "collapsed" in degenerate_reason(alone, DataSpread.of_rows(faithful), len(faithful))
    assert alone.score(faithful) * len(faithful) > row.loglik + 10


@pytest.mark.parametrize("library", ["gaussmix", "sklearn"])
def test_polished_log_likelihood_climbs_to_the_fixed_point(library):
    X = gm.datasets.load_old_faithful()
    cls = gm.GaussianMixture if library == "gaussmix" else SkGaussianMixture
    rough = cls(3, tol=1e-1, random_state=0).fit(X)
    polished = gm.polished_log_likelihood(rough, X)
    assert polished > rough.score(X) * len(X) + 1e-3  # EM kept climbing
    tight = gm.GaussianMixture(
        3, tol=1e-12, max_iter=20_000, weights_init=rough.weights_, means_init=rough.means_,
        precisions_init=rough.precisions_,
    ).fit(X)
    assert polished == pytest.approx(tight.score(X) * len(X), rel=1e-12)
    # at the fixed point, polishing again changes nothing
    assert gm.polished_log_likelihood(tight, X) == pytest.approx(polished, rel=1e-10)


def test_polished_log_likelihood_warns_when_it_runs_out_of_iterations():
    X = gm.datasets.load_old_faithful()
    rough = gm.GaussianMixture(3, tol=1e-1, random_state=0).fit(X)
    with pytest.warns(ConvergenceWarning):
        gm.polished_log_likelihood(rough, X, max_iter=1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_summaries_of_a_stacked_pass_equal_each_models_own(faithful, dtype):
    """select_model scores the fits of one K in one stacked E-step: each mixture's
    log-likelihood and entropy are those of its own pass, weighted rows included."""
    from gaussmix.selection.criteria import _fit_summary, fit_summaries

    X = faithful.astype(dtype)
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(X))
    models = [gm.GaussianMixture(3, covariance_type=t, random_state=0).fit(X)
              for t in ONE_PER_REPRESENTATION + MCLUST_SAMPLE[::4]]  # EII, VEV
    for weights in (None, w):
        for own, stacked in zip([_fit_summary(m, X, weights) for m in models],
                                fit_summaries(models, X, weights)):
            np.testing.assert_allclose(stacked, own, rtol=1e-10 if dtype == np.float64 else 1e-5)


@pytest.mark.parametrize("shape", [(12, 40), (60, 5), (30, 30)])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_spread_of_wide_rows_equals_the_spread_of_their_covariance(shape, weighted, rng):
    """select_model judges fits against the data's spread; for more columns than rows it is
    taken from a thin SVD of the rows (O(n^2 D), not the D x D eigendecomposition that made 20
    rows of 2,000 columns spend 7 s there). The two whiteners W agree on W W^T, the data's
    covariance inverted on the directions it spreads in, whatever basis each chose."""
    from gaussmix.selection.criteria import DataSpread, _data_covariance

    X = rng.normal(size=shape) @ rng.normal(size=(shape[1], shape[1]))
    w = rng.uniform(0.2, 3.0, size=shape[0]) if weighted else None
    from_rows = DataSpread.of_rows(X, w)
    from_matrix = DataSpread.of(_data_covariance(X, w))
    assert from_rows.whitener.shape == from_matrix.whitener.shape
    np.testing.assert_allclose(from_rows.matrix, from_matrix.matrix)
    product = from_rows.whitener @ from_rows.whitener.T
    expected = from_matrix.whitener @ from_matrix.whitener.T
    np.testing.assert_allclose(product, expected, rtol=1e-6,
                               atol=1e-9 * np.abs(expected).max())
