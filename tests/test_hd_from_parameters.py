"""``from_parameters`` of the high-dimensional families (HighDimensionalMixture, FactorMixture).

A model rebuilt from a fitted model's parameters (its attributes) must predict, score and
sample as the fitted one does, for every submodel of each registry (``SUBSPACE_MODELS``,
``FACTOR_MODELS``) and both dtypes; every bad input is refused with a ``ValueError`` naming
the parameter. Seeds are fixed and printed in the data builder.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import gaussmix as gm
from _helpers import structured_estimators
from gaussmix.engine.covariance.factors import FACTOR_MODELS
from gaussmix.engine.covariance.subspace import SUBSPACE_MODELS

SEED = 20261208


def two_subspaces(seed=SEED, n=(150, 120), n_features=8, shift=6.0):
    """Two components, each in its own random subspace (dimensions 2 and 3) with isotropic
    noise outside, ``shift`` apart in every feature."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, (rows, d) in enumerate(zip(n, (2, 3))):
        q = np.linalg.qr(rng.normal(size=(n_features, n_features)))[0]
        variances = np.r_[np.linspace(30, 10, d), np.full(n_features - d, 0.5 + 0.5 * k)]
        parts.append(rng.normal(size=(rows, n_features)) * np.sqrt(variances) @ q.T + shift * k)
    return np.vstack(parts)


def _fitted_registry():
    """One estimator per submodel of each registry (``structured_estimators``: HDDC's scree
    test, its common dimension chosen from the data, every PGMM model), and each HDDC submodel
    with a fixed dimension."""
    fixed = [gm.HighDimensionalMixture(2, model=name, dimension=3) for name in SUBSPACE_MODELS]
    return structured_estimators() + fixed


def _name(estimator):
    return f"{type(estimator).__name__}-{estimator.model}-" + str(
        getattr(estimator, "dimension", getattr(estimator, "n_factors", "")))


def parameters_of(model):
    """The fitted model's parameters as ``from_parameters`` takes them (its attributes)."""
    names = (("subspaces", "signal_variances", "noise_variances", "dimensions")
             if isinstance(model, gm.HighDimensionalMixture)
             else ("loadings", "noise_variances"))
    arguments = {name: getattr(model, name + "_") for name in ("weights", "means", *names)}
    return {**arguments, **model.get_params()}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("estimator", _fitted_registry(), ids=_name)
def test_from_parameters_round_trips_a_fitted_model(estimator, dtype):
    X = two_subspaces().astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = estimator.set_params(random_state=0, max_iter=40).fit(X)
    rebuilt = type(fitted).from_parameters(**parameters_of(fitted))
    assert rebuilt.means_.dtype == rebuilt.covariances_.dtype == dtype
    if isinstance(fitted, gm.HighDimensionalMixture):
        assert rebuilt.dimensions_.tolist() == fitted.dimensions_.tolist()
    else:
        np.testing.assert_array_equal(rebuilt.loadings_, fitted.loadings_)
        np.testing.assert_array_equal(rebuilt.noise_variances_, fitted.noise_variances_)
    assert rebuilt.bic(X) == pytest.approx(fitted.bic(X), rel=1e-12 if dtype == np.float64
                                           else 1e-6)
    # float64: the same to 1e-12; float32: the fitted model's precision factors were taken
    # in float64 before rounding, which its float32 attributes cannot carry, so the rebuilt
    # one agrees to float32's rounding.
    rtol, atol = (1e-12, 1e-12) if dtype == np.float64 else (2e-5, 2e-5)
    np.testing.assert_allclose(rebuilt.covariances_, fitted.covariances_, rtol=rtol,
                               atol=atol * np.abs(fitted.covariances_).max())
    np.testing.assert_allclose(rebuilt.score_samples(X), fitted.score_samples(X), rtol=rtol,
                               atol=atol)
    np.testing.assert_allclose(rebuilt.predict_proba(X), fitted.predict_proba(X), rtol=0,
                               atol=atol)
    assert rebuilt.predict(X).tolist() == fitted.predict(X).tolist()
    drawn, labels = rebuilt.sample(200)
    expected, expected_labels = fitted.sample(200)
    assert labels.tolist() == expected_labels.tolist()
    np.testing.assert_allclose(drawn, expected, rtol=rtol, atol=100 * atol)


@pytest.mark.parametrize("estimator", [e for e in _fitted_registry()
                                       if isinstance(e, gm.FactorMixture)], ids=_name)
def test_factor_models_round_trip_bit_for_bit_in_float64(estimator):
    X = two_subspaces()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = estimator.set_params(random_state=0, max_iter=40).fit(X)
    rebuilt = gm.FactorMixture.from_parameters(**parameters_of(fitted))
    for method in ("predict", "predict_proba", "score_samples"):
        np.testing.assert_array_equal(getattr(rebuilt, method)(X), getattr(fitted, method)(X))
    np.testing.assert_array_equal(rebuilt.sample(100)[0], fitted.sample(100)[0])


def test_a_rebuilt_model_continues_fit_with_warm_start():
    X = two_subspaces()
    fitted = gm.HighDimensionalMixture(2, model="AkjBkQkD", dimension=2, random_state=0).fit(X)
    rebuilt = gm.HighDimensionalMixture.from_parameters(**parameters_of(fitted))
    again = rebuilt.set_params(warm_start=True, max_iter=5).fit(X)
    assert again.score(X) >= fitted.score(X) - 1e-9


# ---------------------------------------------------------------------- refusals
def hd_parameters(name, n_features=5):
    """Valid HDDC parameters of model ``name`` (two components), built from its letters."""
    signal_kind, noise_kind, orientation, rule = SUBSPACE_MODELS[name]
    rng = np.random.default_rng(SEED)
    dims = (2, 2) if rule == "d" or orientation == "q" else (2, 3)
    rotations = [np.linalg.qr(rng.normal(size=(n_features, n_features)))[0] for _ in dims]
    if orientation == "q":
        rotations = [rotations[0]] * 2
    signal = {"akj": [[9.0, 4.0], [8.0, 6.0, 5.0]], "ak": [[5.0, 5.0], [7.0, 7.0, 7.0]],
              "a": [[6.0, 6.0], [6.0, 6.0, 6.0]], "aj": [[9.0, 4.0], [9.0, 4.0]]}[signal_kind]
    return {"weights": [0.4, 0.6], "means": np.arange(2 * n_features).reshape(2, -1) * 1.0,
            "subspaces": [q[:, :d] for q, d in zip(rotations, dims)],
            "signal_variances": [np.array(s[:d]) for s, d in zip(signal, dims)],
            "noise_variances": [0.5, 0.5] if noise_kind == "b" else [0.5, 0.2],
            "model": name}


def factor_parameters(code, n_features=5, q=2):
    """Valid PGMM parameters of model ``code`` (two components)."""
    rng = np.random.default_rng(SEED)
    loadings = rng.normal(size=(2, n_features, q))
    noise = rng.uniform(0.3, 1.0, (2, n_features))
    if code[0] == "C":
        loadings[1] = loadings[0]
    if code[1] == "C":
        noise[1] = noise[0]
    if code[2] == "C":
        noise[:] = noise[:, :1]
    return {"weights": [0.4, 0.6], "means": np.arange(2 * n_features).reshape(2, -1) * 1.0,
            "loadings": loadings, "noise_variances": noise, "model": code}


def _changed(parameters, **changes):
    return {**parameters, **changes}


def _with_item(values, index, value):
    values = list(values)
    values[index] = value
    return values


def _common_cases(base):
    """Refusals every from_parameters shares: weights, means, n_components."""
    d = np.shape(base["means"])[1]
    return [
        (_changed(base, weights=[1.0]), "weights"),
        (_changed(base, weights=[0.4, 0.4]), "weights"),
        (_changed(base, weights=[-0.4, 1.4]), "weights"),
        (_changed(base, weights=[np.nan, 1.0]), "weights"),
        (_changed(base, weights="ab"), "weights"),
        (_changed(base, means=np.zeros(d)), "means"),
        (_changed(base, means=np.full((2, d), np.nan)), "means"),
        (_changed(base, means=np.zeros((2, 1))), "means"),
        (_changed(base, means=[["a"] * d] * 2), "means"),
        (_changed(base, n_components=3), "n_components"),
        (_changed(base, model="nope"), "model"),
    ]


def hd_refusals():
    base = hd_parameters(next(iter(SUBSPACE_MODELS)))  # every part per component
    q0, q1 = base["subspaces"]
    cases = _common_cases(base) + [
        (_changed(base, subspaces=[q0]), "subspaces"),
        (_changed(base, subspaces=3.0), "subspaces"),
        (_changed(base, subspaces=[q0[:-1], q1]), r"subspaces\[0\]"),
        (_changed(base, subspaces=[q0, np.eye(5)]), r"subspaces\[1\]"),
        (_changed(base, subspaces=[q0[:, 0], q1]), r"subspaces\[0\]"),
        (_changed(base, subspaces=[2 * q0, q1]), r"subspaces\[0\].*orthonormal"),
        (_changed(base, subspaces=[q0, q1 + 1e-3]), r"subspaces\[1\].*orthonormal"),
        (_changed(base, subspaces=[q0 * np.nan, q1]), r"subspaces\[0\]"),
        (_changed(base, signal_variances=[[9.0, 4.0]]), "signal_variances"),
        (_changed(base, signal_variances=[[9.0, 4.0, 1.0], [8.0, 6.0, 5.0]]),
         r"signal_variances\[0\]"),
        (_changed(base, signal_variances=[[9.0, 4.0], [8.0, 6.0, 0.1]]),
         r"signal_variances\[1\].*above noise_variances\[1\]"),
        (_changed(base, signal_variances=[[9.0, np.inf], [8.0, 6.0, 5.0]]),
         r"signal_variances\[0\]"),
        (_changed(base, noise_variances=[0.5]), "noise_variances"),
        (_changed(base, noise_variances=[0.5, 0.0]), "noise_variances"),
        (_changed(base, noise_variances=[0.5, -1.0]), "noise_variances"),
        (_changed(base, noise_variances=[0.5, np.nan]), "noise_variances"),
        (_changed(base, dimensions=[2, 2]), "dimensions"),
        (_changed(base, dimensions=[2]), "dimensions"),
        (_changed(base, dimension=2), "dimension=2"),
    ]
    # each submodel's constraints, from its letters
    for name, (signal_kind, noise_kind, orientation, rule) in SUBSPACE_MODELS.items():
        valid = hd_parameters(name)
        bases, signal = valid["subspaces"], valid["signal_variances"]
        if rule == "d" or orientation == "q":
            wider = np.linalg.qr(np.c_[bases[1], np.ones(5)])[0]
            cases.append((_changed(valid, subspaces=[bases[0], wider],
                                   signal_variances=[signal[0], np.r_[signal[1], 3.0]]),
                          f"{name}.*one dimension"))
        if orientation == "q":
            cases.append((_changed(valid, subspaces=[bases[0], -bases[1]]),
                          f"{name}.*one orientation"))
        if noise_kind == "b":
            cases.append((_changed(valid, noise_variances=[0.5, 0.4]),
                          f"{name}.*one noise variance"))
        if signal_kind != "akj":
            broken = _with_item(signal, 1, signal[1] * np.linspace(1.0, 1.1, len(signal[1])))
            cases.append((_changed(valid, signal_variances=broken),
                          f"{name}.*signal_variances equal"))
    return cases


def factor_refusals():
    base = factor_parameters("UUU")
    loadings = base["loadings"]
    cases = _common_cases(base) + [
        (_changed(base, loadings=loadings[0]), "loadings"),
        (_changed(base, loadings=loadings[:1]), "loadings"),
        (_changed(base, loadings=np.zeros((2, 5, 5))), "loadings"),
        (_changed(base, loadings=np.zeros((2, 5, 0))), "loadings"),
        (_changed(base, loadings=loadings * np.nan), "loadings"),
        (_changed(base, loadings="x"), "loadings"),
        (_changed(base, noise_variances=base["noise_variances"][0]), "noise_variances"),
        (_changed(base, noise_variances=base["noise_variances"] * 0), "noise_variances"),
        (_changed(base, noise_variances=-base["noise_variances"]), "noise_variances"),
        (_changed(base, noise_variances=base["noise_variances"] * np.inf), "noise_variances"),
        (_changed(base, n_factors=3), "n_factors"),
        (_changed(base, n_factors=0), "n_factors"),
    ]
    for code in FACTOR_MODELS:  # each submodel's constraints, from its letters
        valid = factor_parameters(code)
        if code[0] == "C":
            cases.append((_changed(valid, loadings=valid["loadings"] * [[[1.0]], [[1.1]]]),
                          f"{code}.*loadings are shared"))
        noise = valid["noise_variances"]
        if code[1] == "C":
            cases.append((_changed(valid, noise_variances=noise * [[1.0], [1.1]]),
                          f"{code}.*noise is shared"))
        if code[2] == "C":
            cases.append((_changed(valid, noise_variances=noise * np.linspace(1, 1.1, 5)),
                          f"{code}.*noise is isotropic"))
    return cases


def _cases(cases):
    return [pytest.param(parameters, message, id=f"{i}-{message}")
            for i, (parameters, message) in enumerate(cases)]


@pytest.mark.parametrize(("parameters", "message"), _cases(hd_refusals()))
def test_high_dimensional_from_parameters_refuses_bad_input(parameters, message):
    with pytest.raises(ValueError, match=message):
        gm.HighDimensionalMixture.from_parameters(**parameters)


@pytest.mark.parametrize(("parameters", "message"), _cases(factor_refusals()))
def test_factor_from_parameters_refuses_bad_input(parameters, message):
    with pytest.raises(ValueError, match=message):
        gm.FactorMixture.from_parameters(**parameters)


@pytest.mark.parametrize("name", list(SUBSPACE_MODELS))
def test_valid_subspace_parameters_give_their_covariances(name):
    parameters = hd_parameters(name)
    model = gm.HighDimensionalMixture.from_parameters(**parameters)
    for k, (basis, signal) in enumerate(zip(parameters["subspaces"],
                                            parameters["signal_variances"])):
        noise = parameters["noise_variances"][k]
        expected = (basis * (signal - noise)) @ basis.T + noise * np.eye(len(basis))
        np.testing.assert_allclose(model.covariances_[k], expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.sort(model.signal_variances_[k]), np.sort(signal),
                                   rtol=1e-12)
    np.testing.assert_allclose(model.noise_variances_, parameters["noise_variances"],
                               rtol=1e-12)
    assert model.dimensions_.tolist() == [b.shape[1] for b in parameters["subspaces"]]


@pytest.mark.parametrize("code", FACTOR_MODELS)
def test_valid_factor_parameters_give_their_covariances(code):
    parameters = factor_parameters(code)
    model = gm.FactorMixture.from_parameters(**parameters)
    loadings, noise = parameters["loadings"], parameters["noise_variances"]
    expected = loadings @ loadings.transpose(0, 2, 1) + np.stack([np.diag(v) for v in noise])
    np.testing.assert_allclose(model.covariances_, expected, rtol=1e-12, atol=1e-12)
    assert model.n_factors == loadings.shape[2]
    float32 = gm.FactorMixture.from_parameters(**{
        **parameters, "means": np.asarray(parameters["means"], dtype=np.float32)})
    assert float32.covariances_.dtype == float32.loadings_.dtype == np.float32


@pytest.mark.parametrize("estimator", _fitted_registry(), ids=_name)
def test_a_rebuilt_model_takes_the_fitted_models_next_step(estimator):
    """partial_fit continues from the parameters, with what the fit chose before EM (a
    common dimension by the scree test, 3 on these data) kept: the same step as the fitted
    model's."""
    X = two_subspaces(shift=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = estimator.set_params(random_state=0, max_iter=40).fit(X)
    rebuilt = type(fitted).from_parameters(**parameters_of(fitted))
    fitted.partial_fit(X)
    rebuilt.partial_fit(X)
    np.testing.assert_allclose(rebuilt.covariances_, fitted.covariances_, rtol=1e-9,
                               atol=1e-9 * np.abs(fitted.covariances_).max())


def test_drawn_rows_have_the_models_covariances():
    parameters = hd_parameters(next(iter(SUBSPACE_MODELS)))
    model = gm.HighDimensionalMixture.from_parameters(**parameters, random_state=0)
    drawn, labels = model.sample(40_000)
    for k in range(2):
        np.testing.assert_allclose(np.cov(drawn[labels == k], rowvar=False),
                                   model.covariances_[k], atol=0.25)
        np.testing.assert_allclose(drawn[labels == k].mean(axis=0), model.means_[k], atol=0.1)
