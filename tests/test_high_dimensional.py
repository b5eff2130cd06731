"""High-dimensional families: HDDC (HighDimensionalMixture) and mixtures of factor analysers
and of probabilistic PCA (FactorMixture), against outside references.

R's HDclassif is not installable here (archived on CRAN, no Debian package, no network), so the
HDDC models are checked against the published equations (Bouveyron, Girard & Schmid 2007,
section 3 and table 1, as HDclassif's ``hddc_m_step`` and ``hdc_getComplexity`` write them)
re-implemented below one component at a time, and on simulated data whose subspaces are known.
The factor models are checked against scikit-learn's ``FactorAnalysis`` and ``PCA`` with one
component and against PGMM's parameter counts (McNicholas & Murphy 2008, table 1). Seeds are
fixed and printed in the data builders.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.linalg import subspace_angles
from scipy.stats import multivariate_normal
from sklearn.base import clone
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.exceptions import ConvergenceWarning

import gaussmix as gm
from gaussmix.engine.covariance.factors import FACTOR_MODELS, Factors
from gaussmix.engine.covariance.subspace import SUBSPACE_MODELS, Subspace, cattell
from gaussmix.selection import select_parameters

SEED = 20261207


def subspace_data(seed=SEED, n=(300, 250), dims=(2, 4), n_features=15, shift=6.0):
    """Two components, each in its own random subspace of dimension ``dims[k]`` with strong
    signal there and isotropic noise outside; returns X, labels and the true parameters."""
    rng = np.random.default_rng(seed)
    parts, labels, truth = [], [], []
    for k, (rows, d) in enumerate(zip(n, dims)):
        q = np.linalg.qr(rng.normal(size=(n_features, n_features)))[0]
        variances = np.r_[np.linspace(40, 15, d), np.full(n_features - d, 0.5 + 0.5 * k)]
        mean = np.full(n_features, shift * k)
        parts.append(rng.normal(size=(rows, n_features)) * np.sqrt(variances) @ q.T + mean)
        labels.append(np.full(rows, k))
        truth.append((mean, (q * variances) @ q.T, q[:, :d]))
    return np.vstack(parts), np.concatenate(labels), truth


def factor_data(seed=SEED, n=600, n_features=8, q=2):
    rng = np.random.default_rng(seed)
    loadings = rng.normal(size=(q, n_features)) * 2
    noise = rng.uniform(0.3, 1.5, n_features)
    return rng.normal(size=(n, q)) @ loadings + rng.normal(size=(n, n_features)) * noise


def total_loglik(model, X):
    return model.score(X) * len(X)


# ---------------------------------------------------------------------- the published equations
def hddc_reference(sample_covariances, nk, model, dims):
    """HDclassif's ``hddc_m_step`` (N >= p branch), one component at a time: the covariances
    ``Q_k diag(a_k, b_k) Q_k^T`` of model ``model`` with dimensions ``dims``."""
    a_kind, b_kind, q_kind, _ = SUBSPACE_MODELS[model]
    k, p = len(nk), sample_covariances.shape[-1]
    prop = nk / nk.sum()
    if q_kind == "q":
        w = sum(prop[i] * sample_covariances[i] for i in range(k))
        ev, vec = np.linalg.eigh(w)
        ev, vec = ev[::-1], vec[:, ::-1]
        d = dims[0]
        a = ev[:d] if a_kind == "aj" else np.full(d, ev[:d].sum() / d)
        b = (np.trace(w) - ev[:d].sum()) / (p - d)
        sigma = (vec * np.r_[a, np.full(p - d, b)]) @ vec.T
        return np.stack([sigma] * k)
    evs, vecs = [], []
    for i in range(k):
        ev, vec = np.linalg.eigh(sample_covariances[i])
        evs.append(ev[::-1])
        vecs.append(vec[:, ::-1])
    traces = [np.trace(s) for s in sample_covariances]
    if a_kind == "akj":
        a = [evs[i][: dims[i]] for i in range(k)]
    elif a_kind == "ak":
        a = [np.full(dims[i], evs[i][: dims[i]].sum() / dims[i]) for i in range(k)]
    else:
        common = sum(prop[i] * evs[i][: dims[i]].sum() for i in range(k)) / sum(
            prop[i] * dims[i] for i in range(k))
        a = [np.full(dims[i], common) for i in range(k)]
    remain = [traces[i] - evs[i][: dims[i]].sum() for i in range(k)]
    if b_kind == "bk":
        b = [remain[i] / (p - dims[i]) for i in range(k)]
    else:
        common = sum(prop[i] * remain[i] for i in range(k)) / (p - sum(prop[i] * dims[i]
                                                                       for i in range(k)))
        b = [common] * k
    return np.stack([(vecs[i] * np.r_[a[i], np.full(p - dims[i], b[i])]) @ vecs[i].T
                     for i in range(k)])


def hddc_complexity(model, k, p, d, chosen):
    """Table 1 of Bouveyron et al. (2007), HDclassif's ``hdc_getComplexity``: free parameters
    of the whole mixture; ``chosen``: the dimensions were estimated (HDclassif always counts
    them; with a dimension given, they are not)."""
    rho = k * p + k - 1
    d = np.asarray(d)
    tau_bar = float(np.sum(d * (p - (d + 1) / 2)))
    big_d = int(d.sum())
    d0 = int(d[0])
    tau = d0 * (p - (d0 + 1) / 2)
    table = {
        "AkjBkQkDk": rho + tau_bar + 2 * k + big_d, "AkBkQkDk": rho + tau_bar + 3 * k,
        "ABkQkDk": rho + tau_bar + 2 * k + 1, "AkjBQkDk": rho + tau_bar + k + big_d + 1,
        "AkBQkDk": rho + tau_bar + 2 * k + 1, "ABQkDk": rho + tau_bar + k + 2,
        "AkjBkQkD": rho + k * (tau + d0 + 1) + 1, "AkBkQkD": rho + k * (tau + 2) + 1,
        "ABkQkD": rho + k * (tau + 1) + 2, "AkjBQkD": rho + k * (tau + d0) + 2,
        "AkBQkD": rho + k * (tau + 1) + 2, "ABQkD": rho + k * tau + 3,
        "AjBQD": rho + tau + d0 + 2, "ABQD": rho + tau + 3,
    }
    counted_dims = (k if model.endswith("Dk") else 1) if not chosen else 0
    return table[model] - counted_dims


@pytest.mark.parametrize("model", list(SUBSPACE_MODELS))
def test_subspace_m_step_matches_the_published_equations(model):
    rng = np.random.default_rng(SEED)
    p, k = 9, 3
    raw = rng.normal(size=(k, 40, p)) * rng.uniform(0.2, 3, (k, 1, p))
    sample = np.stack([np.cov(r, rowvar=False, bias=True) for r in raw])
    nk = np.array([40.0, 25.0, 60.0])
    dims = [2, 2, 2] if model.endswith("D") else [1, 3, 2]
    rule = Subspace(model, dimension=2) if model.endswith("D") else None
    if rule is None:  # per-component dimensions: take the test's, through a fixed rule
        rule = Subspace(model, dimension=1)
        rule.dimensions = lambda values: np.array(dims)
    covariances, fitted = rule.fit(sample.copy(), nk, 0.0)
    assert fitted.tolist() == dims
    np.testing.assert_allclose(covariances, hddc_reference(sample, nk, model, dims),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("model", list(SUBSPACE_MODELS))
def test_subspace_parameter_counts_follow_table_1(model):
    p, k = 12, 3
    dims = [2, 2, 2] if model.endswith("D") else [1, 4, 2]
    fixed = Subspace(model, dimension=2)
    chosen = Subspace(model, dimension=2, from_data=True) if model.endswith("D") else \
        Subspace(model, dimension="cattell")
    for rule, was_chosen in ((fixed, False), (chosen, True)):
        given = dims if was_chosen or model.endswith("D") else [2, 2, 2]
        expected = hddc_complexity(model, k, p, given, was_chosen)
        assert rule.mixture_parameters(k, p, given) == expected


@pytest.mark.parametrize("model", FACTOR_MODELS)
def test_factor_parameter_counts_follow_pgmm(model):
    p, q, g = 10, 3, 4
    loadings = p * q - q * (q - 1) / 2
    table = {"CCC": loadings + 1, "CCU": loadings + p, "CUC": loadings + g,
             "CUU": loadings + g * p, "UCC": g * loadings + 1, "UCU": g * loadings + p,
             "UUC": g * loadings + g, "UUU": g * loadings + g * p}
    assert Factors(model, q).n_parameters(g, p) == table[model]
    assert gm.FactorMixture(g, n_factors=q, model=model).set_params().n_factors == q


def test_pca_is_a_subspace_model_with_ppca_parameters():
    # Tipping & Bishop's count: D q - q (q - 1) / 2 + 1 per component
    d, q = 10, 3
    assert Subspace("AkjBkQkD", dimension=q).n_parameters(1, d) == d * q - q * (q - 1) / 2 + 1


# ---------------------------------------------------------------------- outside references
def test_factor_mixture_of_one_component_is_sklearn_factor_analysis():
    X = factor_data()
    reference = FactorAnalysis(2, tol=1e-10, max_iter=100_000).fit(X)
    ours = gm.FactorMixture(1, n_factors=2, tol=1e-12, reg_covar=0.0).fit(X)
    gap = total_loglik(ours, X) - reference.score(X) * len(X)
    print(f"FactorMixture UUU - sklearn FactorAnalysis, total log-likelihood: {gap:.3g}")
    assert gap >= -1e-6
    assert abs(gap) < 1e-6  # the same optimum
    np.testing.assert_allclose(ours.covariances_[0], reference.get_covariance(), rtol=1e-5,
                               atol=1e-6)


def test_probabilistic_pca_matches_the_closed_form_and_sklearn_pca():
    X = factor_data(n_features=9, q=3)
    n, d, q = len(X), X.shape[1], 3
    ppca = gm.FactorMixture(1, n_factors=q, model="UUC", reg_covar=0.0).fit(X)
    hddc = gm.HighDimensionalMixture(1, model="AkjBkQkD", dimension=q, reg_covar=0.0).fit(X)
    # Tipping & Bishop's maximum likelihood, written out
    mean = X.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(X, rowvar=False, bias=True))
    values, vectors = values[::-1], vectors[:, ::-1]
    sigma2 = values[q:].mean()
    w = vectors[:, :q] * np.sqrt(values[:q] - sigma2)
    closed = multivariate_normal(mean, w @ w.T + sigma2 * np.eye(d)).logpdf(X).sum()
    for model in (ppca, hddc):
        assert total_loglik(model, X) == pytest.approx(closed, rel=1e-10)
    # scikit-learn's PCA estimates with the n - 1 covariance: its likelihood is a hair lower
    sk = PCA(q).fit(X).score(X) * n
    print(f"PPCA - sklearn PCA, total log-likelihood: {total_loglik(ppca, X) - sk:.3g}")
    assert total_loglik(ppca, X) >= sk - 1e-8
    assert total_loglik(ppca, X) - sk < 1e-3 * abs(sk)


def test_hddc_recovers_known_subspaces_and_beats_the_truth():
    X, labels, truth = subspace_data()
    model = gm.HighDimensionalMixture(2, random_state=0).fit(X)
    order = [int(np.argmin([np.linalg.norm(m - t[0]) for m in model.means_])) for t in truth]
    assert model.dimensions_[order].tolist() == [2, 4]
    for k, (_, _, basis) in zip(order, truth):
        angles = subspace_angles(basis, model.subspaces_[k])
        print(f"component {k}: largest principal angle {np.max(angles):.3g} rad")
        assert np.max(angles) < 0.15
    weights = np.bincount(labels) / len(labels)
    true_model = gm.GaussianMixture.from_parameters(weights, [t[0] for t in truth],
                                                    [t[1] for t in truth])
    assert total_loglik(model, X) >= total_loglik(true_model, X)
    assert (model.predict(X) == order[1]).astype(int).tolist() == labels.tolist()


def test_cattell_scree_test():
    assert cattell(np.array([10.0, 9.0, 1.0, 0.9, 0.8, 0.7])) == 2
    assert cattell(np.array([10.0, 5.0, 2.5, 1.2, 0.6])) == 3  # drops 5, 2.5, 1.3 > 0.2 * 5
    assert cattell(np.array([[5.0, 1.0, 1.0], [3.0, 2.0, 0.0]])).tolist() == [1, 1]


# ---------------------------------------------------------------------- EM invariants
def _registry():
    hddc = [gm.HighDimensionalMixture(2, model=name, dimension=3) for name in SUBSPACE_MODELS]
    cattell_dk = [gm.HighDimensionalMixture(2, model=name) for name in SUBSPACE_MODELS
                  if name.endswith("Dk")]
    factors = [gm.FactorMixture(2, n_factors=2, model=name, max_iter=60) for name in
               FACTOR_MODELS]
    return hddc + cattell_dk + factors


def _name(estimator):
    return f"{type(estimator).__name__}-{estimator.model}-" + str(
        getattr(estimator, "dimension", getattr(estimator, "n_factors", "")))


@pytest.mark.parametrize("estimator", _registry(), ids=_name)
def test_em_never_lowers_the_likelihood(estimator):
    X, _, _ = subspace_data(n=(150, 120), n_features=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = clone(estimator).set_params(init_params="random", random_state=1).fit(X)
    bounds = np.asarray(model.lower_bounds_)
    steps = np.diff(bounds)
    assert len(bounds) > 1
    assert steps.min() >= -1e-10 * abs(bounds[-1]), steps.min()


@pytest.mark.parametrize("estimator", [gm.HighDimensionalMixture(2),
                                       gm.HighDimensionalMixture(2, model="ABQkD", dimension=2),
                                       gm.FactorMixture(2, n_factors=2),
                                       gm.FactorMixture(2, n_factors=2, model="CUU")], ids=_name)
def test_float32_close_to_float64_and_weights_equal_repeated_rows(estimator):
    X, _, _ = subspace_data(n=(150, 120), n_features=10)
    same_steps = {"random_state": 0, "tol": 0.0, "max_iter": 150}  # (the stopping rule
    # meets float32's rounding earlier on a slowly converging fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m64 = clone(estimator).set_params(**same_steps).fit(X)
        m32 = clone(estimator).set_params(**same_steps).fit(X.astype(np.float32))
        assert m32.means_.dtype == m32.covariances_.dtype == np.float32
        assert m32.predict_proba(X.astype(np.float32)).dtype == np.float32
        np.testing.assert_allclose(m32.means_, m64.means_, rtol=1e-4, atol=1e-4)
        assert m32.score(X) == pytest.approx(m64.score(X), rel=1e-5)
        rng = np.random.default_rng(SEED)
        w = rng.integers(0, 3, len(X))
        weighted = clone(estimator).set_params(random_state=0).fit(X, sample_weight=w)
        repeated = clone(estimator).set_params(random_state=0).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-6,
                               atol=1e-8)


def test_fitted_attributes_and_the_sklearn_api():
    X, _, _ = subspace_data(n=(150, 120), n_features=10)
    hd = gm.HighDimensionalMixture(2, random_state=0, n_init=3).fit(X)
    assert hd.fit_predict(X).tolist() == hd.predict(X).tolist()
    assert [b.shape for b in hd.subspaces_] == [(10, int(d)) for d in hd.dimensions_]
    drawn, labels = hd.sample(50)
    assert drawn.shape == (50, 10) and labels.shape == (50,)
    k, p = hd.means_.shape
    expected = hddc_complexity("AkjBkQkDk", k, p, hd.dimensions_, chosen=True)
    assert hd.bic(X) == pytest.approx(-2 * hd.score(X) * len(X) + expected * np.log(len(X)))
    fa = gm.FactorMixture(2, n_factors=3, random_state=0).fit(X)
    rebuilt = (np.einsum("kiq,kjq->kij", fa.loadings_, fa.loadings_)
               + np.stack([np.diag(v) for v in fa.noise_variances_]))
    np.testing.assert_allclose(rebuilt, fa.covariances_, rtol=1e-10, atol=1e-12)
    assert fa.get_params()["n_factors"] == 3 and clone(fa).n_factors == 3
    with pytest.raises(ValueError, match="model"):
        gm.FactorMixture(model="XYZ").fit(X)
    with pytest.raises(ValueError, match="dimension"):
        gm.HighDimensionalMixture(dimension=0).fit(X)


def test_pictures_draw_the_fitted_components():
    import matplotlib

    matplotlib.use("Agg")
    X, _, _ = subspace_data(n=(150, 120), n_features=10)
    for model in (gm.HighDimensionalMixture(2, random_state=0).fit(X),
                  gm.FactorMixture(2, random_state=0).fit(X)):
        for projection in (None, "pca"):  # two features, or the leading directions
            ax = gm.plot_mixture(model, X, projection=projection)
            assert len(ax.patches) == 6  # three ellipses per component


# ---------------------------------------------------------------------- model selection
def test_select_parameters_finds_the_dimension_and_counts_it():
    rng = np.random.default_rng(SEED)
    basis = np.linalg.qr(rng.normal(size=(12, 3)))[0]
    X = rng.normal(size=(400, 3)) * 4 @ basis.T + 0.5 * rng.normal(size=(400, 12))
    sel = select_parameters(X, gm.HighDimensionalMixture(model="AkjBkQkD"), [1, 2],
                            {"dimension": [1, 2, 3, 4, 6]})
    assert sel.best_params_ == {"n_components": 1, "dimension": 3}
    row = sel.table.loc[sel.best_index_]
    assert row["n_parameters"] == hddc_complexity("AkjBkQkD", 1, 12, [3], chosen=False)
    assert row["bic"] == pytest.approx(sel.best_.bic(X))
    factors = select_parameters(X, gm.FactorMixture(model="UUC"), 1, {"n_factors": [1, 3, 5]})
    assert factors.best_params_["n_factors"] == 3


def test_the_readme_example_runs_as_written():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"^```python\n(.*?)^```", readme,
                                       flags=re.DOTALL | re.MULTILINE)
                 if "HighDimensionalMixture(2" in b)
    space = {}
    exec(compile(block, "README.md", "exec"), space)  # noqa: S102 (our own README)
    X = space["X"]
    assert space["hddc"].dimensions_.tolist() == [2, 3]
    assert space["hddc"].bic(X) == pytest.approx(52335, abs=1)
    assert space["mfa"].loadings_.shape == (2, 50, 3)
    assert space["sel"].best_params_ == {"n_components": 2, "n_factors": 3}


@pytest.mark.parametrize("estimator", [gm.HighDimensionalMixture(), gm.FactorMixture()],
                         ids=_name)
def test_one_feature_is_refused_with_advice(estimator):
    with pytest.raises(ValueError, match="at least 2 features"):
        clone(estimator).fit(np.arange(20.0)[:, None])


@pytest.mark.parametrize("model", [Subspace(name, dimension=2) for name in SUBSPACE_MODELS]
                         + [Factors(name, 2) for name in FACTOR_MODELS], ids=repr)
def test_random_covariances_keep_the_model(model):
    rng = np.random.default_rng(SEED)
    covariances = model.random_covariances(rng, np.array([1.0, 2.0, 3.0]), 6, np.log(3))
    assert covariances.shape == (3, 6, 6)
    assert np.all(np.linalg.eigvalsh(covariances) > 0)
    # a covariance of the model is its own M-step (with any weights)
    again = model.fit(covariances, np.ones(3), 0.0)[0] if isinstance(model, Subspace) else None
    if again is not None:
        np.testing.assert_allclose(again, covariances, rtol=1e-8, atol=1e-10)

