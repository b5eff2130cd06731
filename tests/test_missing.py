"""Missing values: GaussianMixture(missing='em') against independent references.

References: scipy's multivariate normal on each row's observed coordinates (the marginal), a
row-by-row EM step written out here from the textbook formulas (Ghahramani & Jordan 1994), and
the exact conditional distribution of a single Gaussian for ``impute``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import gaussmix as gm
from _helpers import COVARIANCE_TYPES, MCLUST_SAMPLE, TWO_TYPES
from gaussmix.engine import covariance
from gaussmix.engine.missing import patterns

TYPES = COVARIANCE_TYPES
SEED = 20261203


def _data(n=300, seed=SEED, frac=0.25, d=3):
    rng = np.random.default_rng(seed)
    cov = np.array([[1.0, 0.7, 0.2], [0.7, 1.5, -0.3], [0.2, -0.3, 0.8]])[:d, :d]
    X = np.vstack([rng.multivariate_normal(np.zeros(d), cov, n // 2),
                   rng.multivariate_normal(np.full(d, 4.0), np.eye(d), n - n // 2)])
    mask = rng.random(X.shape) < frac
    mask[mask.all(axis=1), 0] = False  # every row keeps one observed value
    Xm = X.copy()
    Xm[mask] = np.nan
    return X, Xm


def _dense(model):
    k, d = model.means_.shape
    return covariance.get(model.covariance_type).dense(model.covariances_, k, d)


def _reference_log_density(model, X):
    """log p(x_o) row by row with scipy, on each row's observed coordinates."""
    covs = _dense(model)
    out = []
    for x in X:
        o = ~np.isnan(x)
        terms = [np.log(w) + multivariate_normal(m[o], c[np.ix_(o, o)]).logpdf(x[o])
                 for w, m, c in zip(model.weights_, model.means_, covs, strict=True)]
        out.append(logsumexp(terms))
    return np.array(out)


def _reference_em_step(weights, means, covs, X, reg_covar, ctype):
    """One EM step for data with NaN, row by row (expected sufficient statistics)."""
    k, d = means.shape
    n = len(X)
    resp = np.zeros((n, k))
    xhat = np.zeros((n, k, d))
    cond = np.zeros((n, k, d, d))
    for i, x in enumerate(X):
        o, m = ~np.isnan(x), np.isnan(x)
        logp = np.empty(k)
        for j in range(k):
            c = covs[j]
            logp[j] = np.log(weights[j]) + multivariate_normal(
                means[j][o], c[np.ix_(o, o)]).logpdf(x[o])
            full = x.copy()
            if m.any():
                gain = np.linalg.solve(c[np.ix_(o, o)], c[np.ix_(o, m)])
                full[m] = means[j][m] + (x[o] - means[j][o]) @ gain
                cond[i, j][np.ix_(m, m)] = c[np.ix_(m, m)] - c[np.ix_(m, o)] @ gain
            xhat[i, j] = full
        resp[i] = np.exp(logp - logsumexp(logp))
    nk = resp.sum(axis=0) + 10 * np.finfo(float).eps
    new_means = np.einsum("nk,nkd->kd", resp, xhat) / nk[:, None]
    scatter = np.zeros((k, d, d))
    for j in range(k):
        z = xhat[:, j] - new_means[j]
        scatter[j] = (resp[:, j, None] * z).T @ z + np.einsum("n,nde->de", resp[:, j], cond[:, j])
    if ctype == "full":
        new_covs = scatter / nk[:, None, None] + reg_covar * np.eye(d)
    elif ctype == "tied":
        new_covs = scatter.sum(axis=0) / nk.sum() + reg_covar * np.eye(d)
    elif ctype == "diag":
        new_covs = np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None] + reg_covar
    else:
        new_covs = np.trace(scatter, axis1=1, axis2=2) / nk / d + reg_covar
    return nk / nk.sum(), new_means, new_covs


# ---------------------------------------------------------------------- no NaN: unchanged
@pytest.mark.parametrize("ctype", TYPES + MCLUST_SAMPLE[-2:])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_without_nan_em_is_bit_for_bit_the_usual_fit(ctype, dtype):
    X, _ = _data()
    X = X.astype(dtype)
    w = np.random.default_rng(1).integers(1, 3, len(X)).astype(float)
    a = gm.GaussianMixture(2, covariance_type=ctype, n_init=2, random_state=0).fit(X, sample_weight=w)
    b = gm.GaussianMixture(2, covariance_type=ctype, n_init=2, random_state=0,
                           missing="em").fit(X, sample_weight=w)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.lower_bounds_ == b.lower_bounds_
    assert np.array_equal(a.score_samples(X), b.score_samples(X))


# ---------------------------------------------------------------------- scoring
@pytest.mark.parametrize("ctype", TYPES + MCLUST_SAMPLE[:1])
def test_rows_with_nan_are_scored_on_their_observed_marginal(ctype):
    _, Xm = _data()
    model = gm.GaussianMixture(2, covariance_type=ctype, missing="em", random_state=0).fit(Xm)
    assert np.allclose(model.score_samples(Xm), _reference_log_density(model, Xm),
                       rtol=0, atol=1e-9)
    proba = model.predict_proba(Xm)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(model.predict(Xm), proba.argmax(axis=1))
    # complete rows score exactly as before
    complete = ~np.isnan(Xm).any(axis=1)
    assert np.array_equal(model.score_samples(Xm)[complete], model.score_samples(Xm[complete]))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("ctype", TYPES)
def test_one_em_step_matches_the_row_by_row_reference(ctype):
    _, Xm = _data(n=120)
    start = gm.GaussianMixture(2, covariance_type=ctype, missing="em", random_state=0,
                               max_iter=3, tol=0).fit(Xm)
    weights, means = start.weights_, start.means_
    step = gm.GaussianMixture(2, covariance_type=ctype, missing="em", max_iter=1, tol=0,
                              weights_init=weights, means_init=means,
                              precisions_init=start.precisions_)
    step.fit(Xm)
    ref = _reference_em_step(weights, means, _dense(start), Xm, start.reg_covar, ctype)
    for got, want in zip((step.weights_, step.means_, step.covariances_), ref, strict=True):
        assert np.allclose(got, want, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("ctype", TYPES + MCLUST_SAMPLE[1:])
def test_observed_log_likelihood_never_decreases(ctype):
    _, Xm = _data(frac=0.4)
    model = gm.GaussianMixture(3, covariance_type=ctype, missing="em", random_state=0,
                               tol=1e-10, max_iter=300).fit(Xm)
    bounds = np.array(model.lower_bounds_)
    assert len(bounds) > 5
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))
    # the bound is the observed-data log-likelihood of the parameters before the last step
    assert model.score(Xm) >= bounds[-1] - 1e-9


def test_integer_sample_weights_equal_repeated_rows():
    _, Xm = _data(n=150)
    w = np.random.default_rng(3).integers(0, 3, len(Xm))
    w[:2] = 1
    a = gm.GaussianMixture(2, missing="em", random_state=0, tol=1e-10).fit(Xm, sample_weight=w)
    b = gm.GaussianMixture(2, missing="em", random_state=0, tol=1e-10).fit(np.repeat(Xm, w, 0))
    assert np.allclose(a.means_, b.means_, atol=1e-6)
    assert np.allclose(a.covariances_, b.covariances_, atol=1e-6)


def test_statistics_do_not_depend_on_chunks_or_threads():
    _, Xm = _data(n=400)
    fits = [gm.GaussianMixture(2, missing="em", random_state=0, chunk_size=c, n_threads=t,
                               tol=1e-10).fit(Xm) for c, t in ((None, 1), (37, 1), (50, 2))]
    for other in fits[1:]:
        assert np.allclose(fits[0].means_, other.means_, atol=1e-10)
        assert np.allclose(fits[0].covariances_, other.covariances_, atol=1e-10)


def test_partial_fit_and_select_model_accept_missing_values():
    _, Xm = _data(n=400)
    model = gm.GaussianMixture(2, missing="em", random_state=0)
    for batch in np.array_split(Xm, 4):
        model.partial_fit(batch)
    assert np.all(np.isfinite(model.means_))
    sel = gm.select_model(Xm, range(1, 4), TWO_TYPES, missing="em", random_state=0,
                          progress=False)
    assert sel.best_params_["n_components"] == 2
    assert np.all(np.isfinite(sel.table.bic))


# ---------------------------------------------------------------------- impute
def test_impute_is_the_exact_conditional_of_one_gaussian():
    mean = np.array([1.0, -2.0, 0.5])
    cov = np.array([[2.0, 0.6, 0.3], [0.6, 1.0, -0.2], [0.3, -0.2, 0.5]])
    model = gm.GaussianMixture.from_parameters([1.0], [mean], [cov], missing="em")
    x = np.array([[0.0, np.nan, np.nan], [np.nan, 1.0, np.nan], [3.0, 2.0, 1.0]])
    filled, std = model.impute(x, return_std=True)
    o, m = np.array([0]), np.array([1, 2])
    gain = np.linalg.solve(cov[np.ix_(o, o)], cov[np.ix_(o, m)])
    assert np.allclose(filled[0, m], mean[m] + (x[0, o] - mean[o]) @ gain)
    cond = cov[np.ix_(m, m)] - cov[np.ix_(m, o)] @ gain
    assert np.allclose(std[0, m], np.sqrt(np.diag(cond)))
    assert filled[0, 0] == 0.0 and std[0, 0] == 0.0
    assert np.array_equal(filled[2], x[2]) and not std[2].any()


@pytest.mark.parametrize("ctype", TYPES)
def test_impute_beats_column_means_and_keeps_observed_values(ctype):
    X, Xm = _data(n=600, frac=0.3)
    model = gm.GaussianMixture(2, covariance_type=ctype, missing="em", random_state=0).fit(Xm)
    filled = model.impute(Xm)
    observed = ~np.isnan(Xm)
    assert np.array_equal(filled[observed], Xm[observed])
    holes = ~observed
    ours = np.sqrt(np.mean((filled[holes] - X[holes]) ** 2))
    column_means = np.where(holes, np.nanmean(Xm, axis=0), Xm)
    baseline = np.sqrt(np.mean((column_means[holes] - X[holes]) ** 2))
    assert ours < 0.8 * baseline


def test_impute_keeps_float32():
    _, Xm = _data()
    model = gm.GaussianMixture(2, missing="em", random_state=0).fit(Xm.astype(np.float32))
    filled, std = model.impute(Xm.astype(np.float32), return_std=True)
    assert filled.dtype == np.float32 and std.dtype == np.float32
    assert not np.isnan(filled).any()


# ---------------------------------------------------------------------- bad inputs
def test_default_refuses_nan_and_names_the_option():
    _, Xm = _data()
    with pytest.raises(ValueError, match="missing='em'"):
        gm.GaussianMixture(2).fit(Xm)
    model = gm.GaussianMixture(2).fit(np.nan_to_num(Xm))
    with pytest.raises(ValueError, match="missing='em'"):
        model.predict(Xm)
    with pytest.raises(ValueError, match="missing='em'"):
        model.impute(Xm)


def test_rows_with_every_value_missing_are_refused():
    _, Xm = _data()
    Xm[[5, 9]] = np.nan
    with pytest.raises(ValueError, match=r"2 row\(s\) of X have every value missing \(rows 5, 9\)"):
        gm.GaussianMixture(2, missing="em").fit(Xm)


def test_infinity_is_still_refused_and_bad_option_named():
    _, Xm = _data()
    Xm[3, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        gm.GaussianMixture(2, missing="em").fit(Xm)
    with pytest.raises(ValueError, match="'missing' parameter .* one of 'error', 'em'"):
        gm.GaussianMixture(2, missing="drop").fit(Xm)


@pytest.mark.parametrize("covariance_type", TWO_TYPES)
def test_memory_mapped_input_with_missing_fits_as_in_memory(tmp_path, covariance_type):
    """The memmap is read chunk by chunk (its NaN filled for the starts as rows are read, never
    copied whole) and gives the in-memory fit."""
    _, Xm = _data()
    np.save(tmp_path / "x.npy", Xm)
    X = np.load(tmp_path / "x.npy", mmap_mode="r")
    params = {"covariance_type": covariance_type, "missing": "em", "random_state": 0, "chunk_size": 64}
    on_file = gm.GaussianMixture(2, **params).fit(X)
    in_memory = gm.GaussianMixture(2, **params).fit(Xm)
    np.testing.assert_allclose(on_file.means_, in_memory.means_, rtol=1e-10)
    np.testing.assert_allclose(on_file.covariances_, in_memory.covariances_, rtol=1e-10)
    assert on_file.lower_bound_ == pytest.approx(in_memory.lower_bound_, rel=1e-12)
    np.testing.assert_allclose(on_file.score_samples(X), in_memory.score_samples(Xm))
    np.testing.assert_allclose(on_file.impute(X), in_memory.impute(Xm))


@pytest.mark.parametrize("bad", ["inf", "empty"])
def test_bad_rows_of_a_memory_mapped_file_are_named(tmp_path, bad):
    _, Xm = _data()
    Xm[7] = np.nan if bad == "empty" else Xm[7]
    if bad == "inf":
        Xm[7, 0] = np.inf
    np.save(tmp_path / "x.npy", Xm)
    X = np.load(tmp_path / "x.npy", mmap_mode="r")
    with pytest.raises(ValueError, match="Row 7 of the memory-mapped X holds infinity or has "
                                         "every value missing"):
        gm.GaussianMixture(2, missing="em").fit(X)
    with pytest.raises(ValueError, match="pass missing='em'"):
        gm.GaussianMixture(2).fit(np.load(tmp_path / "x.npy", mmap_mode="r"))


def test_dask_input_with_missing_fits_as_in_memory():
    da = pytest.importorskip("dask.array")
    _, Xm = _data()
    params = {"missing": "em", "random_state": 0}
    # the Dask start is drawn from a sample of the rows: give both fits the same start
    start = gm.GaussianMixture(2, **params, max_iter=0).fit(Xm)
    given = {"weights_init": start.weights_, "means_init": start.means_,
                 "precisions_init": start.precisions_}
    on_dask = gm.GaussianMixture(2, **params, **given).fit(da.from_array(Xm, chunks=(70, 3)))
    in_memory = gm.GaussianMixture(2, **params, **given).fit(Xm)
    np.testing.assert_allclose(on_dask.means_, in_memory.means_, rtol=1e-8)
    np.testing.assert_allclose(on_dask.covariances_, in_memory.covariances_, rtol=1e-8)
    lazy = on_dask.predict_proba(da.from_array(Xm, chunks=(70, 3)))
    np.testing.assert_allclose(lazy.compute(), in_memory.predict_proba(Xm), atol=1e-8)
    Xm[11] = np.nan
    with pytest.raises(ValueError, match="Row 11 of the Dask X holds infinity or has every"):
        gm.GaussianMixture(2, **params).fit(da.from_array(Xm, chunks=(70, 3)))


def test_patterns_group_rows_by_their_missing_coordinates():
    mask = np.array([[0, 1, 0], [0, 0, 0], [0, 1, 0], [1, 0, 1]], dtype=bool)
    groups = {tuple(rows): tuple(absent) for rows, _, absent in patterns(mask)}
    assert groups == {(1,): (), (0, 2): (1,), (3,): (0, 2)}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("fraction", [0.3, 0.5])
def test_em_recovers_parameters_better_than_dropping_rows_or_mean_imputing(fraction):
    from scipy.optimize import linear_sum_assignment
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, SimpleImputer

    X, _, truth = gm.make_mixture(1500, 3, 4, overlap=0.03, random_state=7)
    holes = np.random.default_rng(8).random(X.shape) < fraction
    holes[holes.all(axis=1), 0] = False
    Xm = np.where(holes, np.nan, X)

    def mean_error(model):
        cost = np.linalg.norm(model.means_[:, None] - truth.means_[None], axis=2)
        rows, cols = linear_sum_assignment(cost)
        return cost[rows, cols].mean()

    def fit(data, **params):
        return gm.GaussianMixture(3, random_state=0, **params).fit(data)

    em = fit(Xm, missing="em")
    mean_filled = SimpleImputer().fit_transform(Xm)
    assert mean_error(em) < mean_error(fit(Xm[~holes.any(axis=1)]))
    assert mean_error(em) < mean_error(fit(mean_filled))

    def rmse(filled):
        return np.sqrt(np.mean((filled[holes] - X[holes]) ** 2))

    ours = rmse(em.impute(Xm))
    assert ours < rmse(mean_filled)
    assert ours <= rmse(IterativeImputer(random_state=0).fit_transform(Xm))


# ---------------------------------------------------------------------- command line
def _write_holey_csv(path, Xm):
    lines = ["a,b,c"] + [",".join("" if np.isnan(v) else f"{v:.6f}" for v in row) for row in Xm]
    path.write_text("\n".join(lines) + "\n")


def test_cli_fit_with_missing_em_round_trip(tmp_path):
    from click.testing import CliRunner

    from gaussmix.cli import cli
    from gaussmix.io import read_model

    _, Xm = _data(n=200)
    data = tmp_path / "holes.csv"
    _write_holey_csv(data, Xm)
    model_path = tmp_path / "m.npz"
    runner = CliRunner()
    refused = runner.invoke(cli, ["fit", str(data), "-k", "2", "-o", str(model_path)])
    assert refused.exit_code == 1
    assert "--missing em" in refused.output and not model_path.exists()
    done = runner.invoke(cli, ["fit", str(data), "-k", "2", "-o", str(model_path),
                               "--missing", "em", "--standardize"])
    assert done.exit_code == 0, done.output
    model = read_model(str(model_path)).model
    assert model.missing == "em"
    labels = tmp_path / "labels.csv"
    predicted = runner.invoke(cli, ["predict", str(data), "-m", str(model_path), "-o",
                                    str(labels)])
    assert predicted.exit_code == 0, predicted.output
    assert len(labels.read_text().splitlines()) == len(Xm) + 1


def test_cli_leaves_a_row_of_empty_cells_out_of_a_missing_em_fit_and_says_so(tmp_path):
    """A row with no observed cell carries nothing (spreadsheet exports end with such rows):
    the fit leaves it out and says so; the library itself still refuses it."""
    from click.testing import CliRunner

    from gaussmix.cli import cli

    _, Xm = _data(n=50)
    Xm[4] = np.nan
    data = tmp_path / "holes.csv"
    _write_holey_csv(data, Xm)
    out = tmp_path / "m.npz"
    result = CliRunner().invoke(cli, ["fit", str(data), "-k", "2", "-o", str(out),
                                      "--missing", "em"])
    assert result.exit_code == 0, result.output
    assert "1 row(s) with every cell empty are left out of the fit" in result.output
    reference = gm.GaussianMixture(2, missing="em").fit(np.delete(Xm, 4, axis=0))
    np.testing.assert_allclose(gm.load(out).means_, reference.means_, rtol=1e-5)  # CSV digits


def _file_with_missing(path, n, d=4, seed=SEED):
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, d))
    rng = np.random.default_rng(seed)
    for a in range(0, n, 100_000):
        block = rng.normal(size=(100_000, d)) + 6.0 * rng.integers(0, 2, (100_000, 1))
        block[rng.random(block.shape) < 0.1] = np.nan
        block[np.isnan(block).all(axis=1), 0] = 0.0
        out[a : a + 100_000] = block
    out.flush()
    del out
    return np.load(path, mmap_mode="r")


def _peak_bytes(fit):
    import tracemalloc

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        model = fit()
        return model, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_memory_mapped_fit_with_missing_does_not_grow_with_the_file(tmp_path):
    """The starts read their rows filled one by one and EM gathers rows with NaN a bounded
    number at a time: peak allocations do not grow with the file (200,000 against 800,000
    rows, about 7 in 10 of them with a missing value)."""
    small = _file_with_missing(tmp_path / "s.npy", 200_000)
    big = _file_with_missing(tmp_path / "b.npy", 800_000)
    params = {"missing": "em", "random_state": 0, "max_iter": 3}
    _, small_peak = _peak_bytes(lambda: gm.GaussianMixture(2, **params).fit(small))
    model, big_peak = _peak_bytes(lambda: gm.GaussianMixture(2, **params).fit(big))
    assert np.sort(np.round(model.means_[:, 0])).tolist() == [0.0, 6.0]
    # a copy of the big file (its 25.6 MB, filled) would show here
    assert big_peak < 1.2 * small_peak + 2e6, (small_peak, big_peak)
