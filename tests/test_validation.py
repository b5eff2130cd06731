"""Bad input gets a clear ValueError/TypeError that names the problem, before any arithmetic.

Every test asserts on the message (``match=``): it must name what was wrong, not leak a traceback
from deep inside NumPy or SciPy.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import gaussmix as gm
from _helpers import COVARIANCE_TYPES
from gaussmix.engine import covariance
from gaussmix.estimators.gaussian import _PARAMETER_RULES

GM = gm.GaussianMixture
pytestmark = pytest.mark.usefixtures("single_blas_thread")
PREDICT_METHODS = ("predict", "predict_proba", "score", "score_samples", "bic", "aic")


@pytest.fixture
def X(rng):
    return rng.normal(size=(40, 2))


@pytest.fixture
def fitted(X):
    return GM(2, random_state=0).fit(X)


# ---------------------------------------------------------------------- the data itself
def _with(X, row, col, value):
    X = X.copy()
    X[row, col] = value
    return X


@pytest.mark.parametrize(
    ("make_bad", "message"),
    [
        pytest.param(lambda X: _with(X, 3, 1, np.nan), "Input X contains NaN", id="nan"),
        pytest.param(lambda X: _with(X, 0, 0, np.inf), "Input X contains infinity", id="inf"),
        pytest.param(lambda X: _with(X, 0, 0, -np.inf), "Input X contains infinity", id="-inf"),
        pytest.param(lambda X: X[:, 0], "Expected 2D array, got 1D array", id="1-D"),
        pytest.param(lambda X: X[None], "Found array with dim 3", id="3-D"),
        pytest.param(lambda X: 3.0, "Expected 2D array, got scalar", id="scalar"),
        pytest.param(lambda X: X[:0], r"0 sample\(s\).*minimum of 2 is required", id="no-rows"),
        pytest.param(lambda X: X[:1], r"1 sample\(s\).*minimum of 2 is required", id="one-row"),
        pytest.param(lambda X: X[:, :0], r"0 feature\(s\).*minimum of 1", id="no-columns"),
        pytest.param(lambda X: X + 1j, "Complex data not supported", id="complex"),
        pytest.param(
            lambda X: X.astype(str).astype(object) + "x",
            "X must contain only real numbers",
            id="object-strings",
        ),
        pytest.param(
            lambda X: np.where(np.arange(X.shape[0])[:, None] == 0, "a", X.astype(str)),
            "X must contain only real numbers",
            id="unicode-strings",
        ),
        pytest.param(
            lambda X: [["a", "b"]] * len(X), "X must contain only real numbers", id="list-of-str"
        ),
    ],
)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_bad_data_raises_value_error_naming_it(X, make_bad, message, covariance_type):
    with pytest.raises(ValueError, match=message):
        GM(1, covariance_type=covariance_type).fit(make_bad(X))


def test_none_as_data_raises_type_error(X):
    with pytest.raises(TypeError, match="X must be an array-like.*got None"):
        GM(2).fit(None)


def test_object_holding_a_dict_raises_type_error(X):
    bad = X.astype(object)
    bad[0, 0] = {"a": 1}
    with pytest.raises(TypeError, match="X must contain only real numbers"):
        GM(2).fit(bad)


def test_numbers_in_an_object_array_are_accepted(X):
    model = GM(2, random_state=0).fit(X.astype(object))
    np.testing.assert_allclose(model.means_, GM(2, random_state=0).fit(X).means_)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_more_components_than_samples_raises(X, covariance_type):
    with pytest.raises(ValueError, match=r"n_samples >= n_components.*n_components = 41"):
        GM(41, covariance_type=covariance_type).fit(X)


# ---------------------------------------------------------------------- hyper-parameters
BAD_HYPERPARAMETERS = {
    "n_components": [0, -1, 1.5, "2", True, None, np.nan],
    "covariance_type": ["Full", "diagonal", "", None, 1],
    "tol": [-1e-3, np.nan, np.inf, "0.1", True],
    "reg_covar": [-1e-6, np.nan, np.inf, "1e-6", None],
    "max_iter": [-1, 1.5, "10", None, False],
    "n_init": [0, -1, 2.0, "3", None],
    "init_params": ["kmean", "KMEANS", "ward", None, 1],
    "warm_start": ["yes", 1, 0, None, "False"],
    "verbose": [-1, 1.5, "2", None],
    "verbose_interval": [0, -1, 2.5, "10"],
    "chunk_size": [0, -5, 2.5, "100", True],
    "n_threads": [0, -1, 1.5, "4"],
    "learning_decay": [0.5, 0.2, 0.0, 1.5, np.nan, "0.7", None],
    "learning_offset": [-1.0, np.nan, np.inf, "1", None],
    "missing": ["drop", "EM", None, 1, True],
    "noise": [0, -1.0, np.inf, np.nan, "box", None],
}


def test_every_parameter_rule_has_bad_values_tested():
    """A new entry in ``_PARAMETER_RULES`` needs bad values in ``BAD_HYPERPARAMETERS`` here."""
    assert set(_PARAMETER_RULES) <= set(BAD_HYPERPARAMETERS)


def _bad_hyperparameter_cases():
    for name in _PARAMETER_RULES:
        for value in BAD_HYPERPARAMETERS.get(name, ()):
            yield pytest.param(name, value, id=f"{name}={value!r}")


@pytest.mark.parametrize(("name", "value"), list(_bad_hyperparameter_cases()))
def test_invalid_hyperparameter_raises_naming_it(X, name, value):
    if name not in GM().get_params():
        pytest.fail(f"{name} has a validation rule but is not a parameter")
    model = GM(**{"n_components": 2, name: value})
    expected = (
        rf"The '{name}' parameter of GaussianMixture must be .*; got {re.escape(repr(value))}\."
    )
    with pytest.raises(ValueError, match=expected):
        model.fit(X)


@pytest.mark.parametrize(("name", "value"), [("covariance_type", "full-ish"), ("reg_covar", -1.0)])
def test_from_parameters_checks_hyperparameters(name, value):
    with pytest.raises(ValueError, match=f"The '{name}' parameter"):
        GM.from_parameters([1.0], [[0.0]], [[[1.0]]], **{name: value})


# ---------------------------------------------------------------------- starting values
@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1.0], r"'weights' should have the shape of \(2,\), but got \(1,\) \(weights_init"),
        ([[0.5, 0.5]], r"'weights' should have the shape of"),
        ([0.3, 0.3], r"should be normalized, but got sum\(weights\) = 0.60000 \(weights_init"),
        ([1.5, -0.5], r"'weights' should be in the range \[0, 1\], but got min value -0.50000"),
        ([np.nan, 0.5], r"weights_init must be finite"),
        ([np.inf, 0.0], r"weights_init must be finite"),
        (["a", "b"], "weights_init must be a real numeric array"),
    ],
)
def test_bad_weights_init_raises(X, weights, message):
    with pytest.raises(ValueError, match=message):
        GM(2, weights_init=weights).fit(X)


@pytest.mark.parametrize(
    ("means", "message"),
    [
        (np.zeros((3, 2)), r"'means' should have the shape of \(2, 2\), but got \(3, 2\) \(means_init"),
        (np.zeros((2, 3)), r"'means' should have the shape of .* got \(2, 3\)"),
        (np.zeros(2), r"'means' should have the shape of"),
        ([[np.nan, 0.0], [0.0, 0.0]], "means_init contains NaN or infinite values"),
        ([[np.inf, 0.0], [0.0, 0.0]], "means_init contains NaN or infinite values"),
        ([[0.0, 0.0], [0.0]], "means_init must be a numeric array"),
        ([["a", "b"], ["c", "d"]], "means_init must be a real numeric array"),
    ],
)
def test_bad_means_init_raises(X, means, message):
    with pytest.raises(ValueError, match=message):
        GM(2, means_init=means).fit(X)


GOOD_PRECISIONS = {
    "full": np.stack([np.eye(2), 2 * np.eye(2)]),
    "tied": np.eye(2),
    "diag": np.ones((2, 2)),
    "spherical": np.ones(2),
}


def _precision_cases():
    for ctype, good in GOOD_PRECISIONS.items():
        yield pytest.param(ctype, np.ones(5), "should have the shape of", id=f"{ctype}-shape")
        yield pytest.param(ctype, good[None], "should have the shape of", id=f"{ctype}-extra-axis")
        nan = good.copy()
        nan.flat[0] = np.nan
        yield pytest.param(ctype, nan, "contains NaN or infinite", id=f"{ctype}-nan")
        inf = good.copy()
        inf.flat[0] = np.inf
        yield pytest.param(ctype, inf, "contains NaN or infinite", id=f"{ctype}-inf")
        if covariance.get(ctype).family != "diagonal":  # a matrix
            yield pytest.param(ctype, -good, "should be symmetric, positive-definite",
                               id=f"{ctype}-negative")
            asym = good.copy()
            asym[..., 0, 1] = 0.5
            yield pytest.param(ctype, asym, "should be symmetric, positive-definite",
                               id=f"{ctype}-asymmetric")
            indefinite = good.copy()
            indefinite[..., 0, 1] = indefinite[..., 1, 0] = 3.0
            yield pytest.param(ctype, indefinite, "should be symmetric, positive-definite",
                               id=f"{ctype}-indef")
        else:
            yield pytest.param(ctype, -good, "should be positive", id=f"{ctype}-negative")
            zero = good.copy()
            zero.flat[0] = 0.0
            yield pytest.param(ctype, zero, "should be positive", id=f"{ctype}-zero")
        yield pytest.param(ctype, np.full(good.shape, "a"), "numeric array", id=f"{ctype}-str")


@pytest.mark.parametrize(("covariance_type", "precisions", "message"), list(_precision_cases()))
def test_bad_precisions_init_raises(X, covariance_type, precisions, message):
    model = GM(2, covariance_type=covariance_type, precisions_init=precisions)
    # scikit-learn's wording first, then which argument
    pattern = rf"(?s)'{covariance_type} precision' {message}.*precisions_init|precisions_init.*{message}"
    with pytest.raises(ValueError, match=pattern):
        model.fit(X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_good_precisions_init_is_accepted(X, covariance_type):
    model = GM(2, covariance_type=covariance_type, max_iter=0)
    model.set_params(precisions_init=GOOD_PRECISIONS[covariance_type]).fit(X)
    np.testing.assert_allclose(model.precisions_, GOOD_PRECISIONS[covariance_type])


# ---------------------------------------------------------------------- sample_weight
@pytest.mark.parametrize(
    ("make_weight", "message"),
    [
        pytest.param(lambda n: -np.ones(n), "sample_weight must be non-negative", id="negative"),
        pytest.param(
            lambda n: np.r_[-1e-9, np.ones(n - 1)], "must be non-negative", id="one-negative"
        ),
        pytest.param(lambda n: np.r_[np.nan, np.ones(n - 1)], "NaN or infinite", id="nan"),
        pytest.param(lambda n: np.r_[np.inf, np.ones(n - 1)], "NaN or infinite", id="inf"),
        pytest.param(
            lambda n: np.ones(n - 1),
            rf"sample_weight has {39} entries but X has 40 rows",
            id="too-short",
        ),
        pytest.param(lambda n: np.ones(n + 1), "41 entries but X has 40 rows", id="too-long"),
        pytest.param(lambda n: np.zeros(n), "sample_weight sums to zero", id="all-zero"),
        pytest.param(lambda n: np.ones((n, 2)), r"sample_weight must be 1-D", id="2-D"),
        pytest.param(lambda n: ["a"] * n, "sample_weight must be a 1-D array of numbers", id="str"),
    ],
)
def test_bad_sample_weight_raises(X, make_weight, message):
    with pytest.raises(ValueError, match=message):
        GM(2).fit(X, sample_weight=make_weight(len(X)))


# ---------------------------------------------------------------------- predict time
@pytest.mark.parametrize("method", PREDICT_METHODS)
def test_wrong_feature_count_at_predict_time_raises(fitted, method):
    with pytest.raises(ValueError, match="X has 3 features, but GaussianMixture is expecting 2"):
        getattr(fitted, method)(np.zeros((4, 3)))


@pytest.mark.parametrize("method", PREDICT_METHODS)
def test_nan_at_predict_time_raises(fitted, method):
    with pytest.raises(ValueError, match="Input X contains NaN"):
        getattr(fitted, method)(np.array([[0.0, np.nan]]))


@pytest.mark.parametrize("method", PREDICT_METHODS)
def test_strings_at_predict_time_raise(fitted, method):
    with pytest.raises(ValueError, match="X must contain only real numbers"):
        getattr(fitted, method)([["1.0", "x"]])


@pytest.mark.parametrize("method", PREDICT_METHODS + ("sample",))
def test_unfitted_model_raises_not_fitted_error(X, method):
    args = (3,) if method == "sample" else (X,)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(GM(2), method)(*args)


@pytest.mark.parametrize("n_samples", [0, -1, 1.5, "3", None])
def test_bad_sample_size_raises(fitted, n_samples):
    with pytest.raises(ValueError, match="Invalid value for 'n_samples'.*integer >= 1"):
        fitted.sample(n_samples)


def test_warm_start_with_a_different_feature_count_raises(X):
    model = GM(2, warm_start=True, max_iter=5, tol=1e-1).fit(X)
    with pytest.raises(ValueError, match="X has 3 features, but GaussianMixture is expecting 2"):
        model.fit(np.hstack([X, X[:, :1]]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n_components": 3}, r"2 components.*n_components=3.*warm_start=False"),
        ({"covariance_type": "diag"}, r"covariance_type='diag'.*warm_start=False"),
        ({"covariance_type": "spherical"}, r"covariance_type='spherical'.*warm_start=False"),
    ],
)
def test_warm_start_after_changing_the_model_shape_raises(X, change, message):
    """Regression: a warm start silently kept 2 components for n_components=3 (so bic/aic
    counted the wrong parameters), and a new covariance_type failed inside numpy's matmul."""
    model = GM(2, warm_start=True, max_iter=5, tol=1e-1).fit(X)
    model.set_params(**change)
    with pytest.raises(ValueError, match=message):
        model.fit(X)
    model.set_params(warm_start=False).fit(X)  # a fresh start is the way out
    assert model.means_.shape[0] == model.n_components


@pytest.mark.parametrize("init_params", ["hierarchical", "kmeans", "random", "random_from_data"])
def test_fewer_positive_weights_than_components_raises_like_too_few_rows(X, init_params):
    """Regression: with one positive weight every start but 'hierarchical' fitted 2 components
    to a single effective point, while the same data as repeated rows (1 row) is refused."""
    weights = np.zeros(len(X))
    weights[3] = 2.0
    model = GM(2, init_params=init_params, random_state=0)
    with pytest.raises(ValueError, match=r"Only 1 rows have a positive sample_weight.*= 2"):
        model.fit(X, sample_weight=weights)
    weights[7] = 1.0
    model.fit(X, sample_weight=weights)  # two weighted rows are enough for two components
    assert np.isclose(model.weights_.sum(), 1.0)
    if init_params in ("hierarchical", "kmeans"):  # these start on the weighted rows only
        np.testing.assert_allclose(
            np.sort(model.means_, axis=0), np.sort(X[[3, 7]], axis=0), atol=1e-6
        )


def _from_parameters_cases():
    ok = {"weights": [0.5, 0.5], "means": [[0.0], [1.0]], "covariances": [[[1.0]], [[1.0]]]}
    yield pytest.param(dict(ok, weights=[0.5, 0.6]), "weights must sum to 1", id="weights-sum")
    yield pytest.param(dict(ok, weights=[1.5, -0.5]), r"should be in the range \[0, 1\]", id="neg")
    yield pytest.param(dict(ok, means=[0.0, 1.0]), "means must be 2-D", id="means-1d")
    yield pytest.param(dict(ok, means=[[0.0], [np.nan]]), "must be finite", id="means-nan")
    yield pytest.param(dict(ok, covariances=[[[1.0]]]), r"must have shape \(2, 1, 1\)", id="shape")
    yield pytest.param(dict(ok, covariances=[[[np.nan]], [[1.0]]]), "must be finite", id="cov-nan")
    yield pytest.param(dict(ok, covariances=[[[1.0]], [[-1.0]]]), "positive definite", id="cov-neg")
    two_d = {"weights": [1.0], "means": [[0.0, 0.0]]}
    yield pytest.param(
        dict(two_d, covariances=[[[1.0, 0.5], [0.0, 1.0]]]), "symmetric", id="cov-asymmetric"
    )
    yield pytest.param(
        dict(two_d, covariances=[[[1.0, 2.0], [2.0, 1.0]]]), "positive definite", id="indefinite"
    )
    yield pytest.param(
        dict(ok, covariances=[1.0, 0.0], covariance_type="spherical"),
        "positive definite",
        id="spherical-zero",
    )


@pytest.mark.parametrize(("kwargs", "message"), list(_from_parameters_cases()))
def test_from_parameters_rejects_bad_parameters(kwargs, message):
    """Regression: NaN means or covariances and asymmetric matrices were accepted silently."""
    with pytest.raises(ValueError, match=message):
        GM.from_parameters(**kwargs)
