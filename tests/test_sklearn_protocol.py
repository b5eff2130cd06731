"""The estimators follow scikit-learn's estimator protocol without inheriting its classes
(``gaussmix.estimators.sklearn_protocol``), so a small fit never imports scikit-learn. Each test
checks one piece against scikit-learn's own behaviour; ``tests/test_estimator_checks.py`` runs
scikit-learn's whole contract and ``tests/test_imports.py`` what a small fit imports.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state as sklearn_check_random_state
from sklearn.utils import get_tags
from sklearn.utils.validation import validate_data

import gaussmix as gm
from gaussmix.engine.validation import _validate_plain
from gaussmix.estimators.sklearn_protocol import check_random_state

# Constructions whose repr is compared with scikit-learn's pretty-printer: defaults, a few
# changed, enough to wrap, arrays, NaN, another estimator class.
REPR_CASES = [
    "gm.GaussianMixture()",
    "gm.GaussianMixture(3, random_state=0)",
    ("gm.GaussianMixture(3, covariance_type='diag', reg_covar=1e-4, tol=1e-5, max_iter=200, "
    "n_init=3, verbose=1, chunk_size=1000, means_init=[[0, 0], [1, 1], [2, 2]])"),
    ("gm.GaussianMixture(2, means_init=np.array([[0.0, 1.0], [2.0, 3.0]]), "
    "weights_init=np.array([0.5, 0.5]))"),
    ("gm.BayesianGaussianMixture(5, weight_concentration_prior=0.01, covariance_type='tied', "
    "random_state=1, max_iter=500, n_init=2, warm_start=True)"),
    "gm.StudentMixture(2, noise=True)",
    "gm.GaussianMixture(2, tol=float('nan'))",
]

_REPRS = """
import json, sys
import numpy as np
import gaussmix as gm
cases = {cases!r}
own = [repr(eval(c)) for c in cases]
assert "sklearn" not in sys.modules
import sklearn
theirs = [repr(eval(c)) for c in cases]
sys.stdout.write(json.dumps([own, theirs]))
"""


def test_repr_without_scikit_learn_is_scikit_learns():
    """Before scikit-learn is imported, repr is gaussmix's own layout; after, scikit-learn's
    pretty-printer. The two agree, so a repr does not depend on what was imported."""
    out = subprocess.run([sys.executable, "-c", _REPRS.format(cases=REPR_CASES)], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    own, theirs = json.loads(out.splitlines()[-1])
    assert own == theirs


def test_nested_parameters_in_a_pipeline_and_a_grid_search(rng):
    X = rng.normal(size=(90, 2))
    pipe = make_pipeline(StandardScaler(), gm.GaussianMixture(2, random_state=0))
    pipe.set_params(gaussianmixture__covariance_type="diag")
    assert pipe.get_params()["gaussianmixture__covariance_type"] == "diag"
    search = GridSearchCV(pipe, {"gaussianmixture__n_components": [1, 2]}, cv=3).fit(X)
    assert search.best_estimator_[-1].covariance_type == "diag"
    with pytest.raises(ValueError, match="Invalid parameter 'colour' for estimator"):
        gm.GaussianMixture().set_params(colour="red")


def test_clone_is_unfitted_with_the_same_parameters_and_requests(rng):
    with config_context(enable_metadata_routing=True):
        model = gm.GaussianMixture(2, covariance_type="tied", random_state=3)
        model.set_fit_request(sample_weight=True).fit(rng.normal(size=(40, 2)))
        copy = clone(model)
        assert copy.get_params() == model.get_params()
        assert not hasattr(copy, "means_")
        assert copy.get_metadata_routing().fit.requests == {"sample_weight": True}


def test_pickle_keeps_the_fitted_model(rng):
    X = rng.normal(size=(60, 3))
    model = gm.GaussianMixture(2, random_state=0).fit(X)
    again = pickle.loads(pickle.dumps(model))
    assert_array_equal(again.score_samples(X), model.score_samples(X))
    assert again.get_params() == model.get_params()


def test_metadata_routing_passes_sample_weight_as_requested(rng):
    X = rng.normal(size=(80, 2))
    w = rng.uniform(0.5, 2.0, size=80)
    with config_context(enable_metadata_routing=True):
        model = gm.GaussianMixture(2, random_state=0).set_fit_request(sample_weight=True)
        make_pipeline(model).fit(X, sample_weight=w)
        direct = gm.GaussianMixture(2, random_state=0).fit(X, sample_weight=w)
        assert_allclose(model.means_, direct.means_)
        with pytest.raises(Exception, match="set_fit_request"):  # not requested: refused
            make_pipeline(gm.GaussianMixture(2)).fit(X, sample_weight=w)
    assert hasattr(gm.GaussianMixture(), "set_partial_fit_request")
    assert not hasattr(gm.BayesianGaussianMixture(), "set_partial_fit_request")


def test_tags_exceptions_and_warnings_are_scikit_learns(rng):
    assert get_tags(gm.GaussianMixture()).estimator_type == "density_estimator"
    with pytest.raises(NotFittedError, match="This GaussianMixture instance is not fitted yet"):
        gm.GaussianMixture().predict([[0.0]])
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        gm.GaussianMixture(2, max_iter=1, tol=0, random_state=0).fit(rng.normal(size=(50, 2)))


@pytest.mark.parametrize("seed", [None, 0, 12345, np.random.RandomState(7)])
def test_check_random_state_is_scikit_learns(seed):
    ours, theirs = check_random_state(seed), sklearn_check_random_state(seed)
    if seed is None or isinstance(seed, np.random.RandomState):
        assert ours is theirs
    else:
        assert_array_equal(ours.randint(1000, size=5), theirs.randint(1000, size=5))


def test_check_random_state_refuses_what_scikit_learn_refuses():
    with pytest.raises(ValueError) as theirs:
        sklearn_check_random_state("seed")
    with pytest.raises(ValueError, match=str(theirs.value)):
        check_random_state("seed")


@pytest.mark.parametrize("make", [
    lambda rng: rng.normal(size=(20, 3)),
    lambda rng: rng.normal(size=(20, 3)).astype(np.float32),
    lambda rng: np.asfortranarray(rng.normal(size=(20, 3))),
    lambda rng: rng.integers(-5, 5, size=(20, 3)),
    lambda rng: rng.normal(size=(20, 3)) > 0,
    lambda rng: rng.normal(size=(20, 3)).astype(np.float16),
    lambda rng: rng.normal(size=(20, 3)).tolist(),
    lambda rng: [[np.float32(v) for v in row] for row in rng.normal(size=(20, 3))],
])
def test_the_fast_validation_returns_what_validate_data_returns(rng, make):
    """The light validator of the everyday input gives scikit-learn's array, dtype and
    ``n_features_in_``."""
    X = make(rng)
    ours, theirs = gm.GaussianMixture(), gm.GaussianMixture()
    got = _validate_plain(ours, X)
    expected = validate_data(theirs, X, dtype=[np.float64, np.float32])
    assert got is not None
    assert got.dtype == expected.dtype and got.flags.f_contiguous == expected.flags.f_contiguous
    assert_array_equal(got, expected)
    assert ours.n_features_in_ == theirs.n_features_in_


@pytest.mark.parametrize("X", [
    np.array([[1.0, np.nan]]), np.array([[np.inf, 1.0]]), np.zeros((0, 2)), np.zeros((3, 0)),
    np.zeros(3), np.zeros((2, 2, 2)), np.array([["a", "b"]]), [[1.0], [1.0, 2.0]],
    np.array([[1 + 1j, 2]]),
])
def test_anything_else_goes_to_validate_data(X):
    """What scikit-learn would refuse is left to it, so its messages (which its tests match)
    are given unchanged."""
    assert _validate_plain(gm.GaussianMixture(), X) is None


def test_feature_names_are_scikit_learns(rng):
    pd = pytest.importorskip("pandas")
    X = rng.normal(size=(40, 2))
    model = gm.GaussianMixture(2, random_state=0).fit(pd.DataFrame(X, columns=["a", "b"]))
    assert list(model.feature_names_in_) == ["a", "b"]
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        model.predict(X)
    model.fit(X)  # refitting on an array forgets the names, as scikit-learn does
    assert not hasattr(model, "feature_names_in_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(X)


def test_not_a_base_estimator_subclass_the_one_documented_difference():
    """``isinstance(model, sklearn.base.BaseEstimator)`` is False (importing scikit-learn for
    the base class would cost every small fit a second); its HTML display still works."""
    model = gm.GaussianMixture(2)
    assert not isinstance(model, BaseEstimator)
    assert "GaussianMixture" in model._repr_html_()
    assert set(model._repr_mimebundle_()) == {"text/plain", "text/html"}


def test_convergence_warnings_off_silences_this_thread_only_and_restores():
    """The grid's way of silencing its fits: in this thread, within the block, and nested
    blocks restore the state they found; warnings outside still have scikit-learn's class."""
    import threading

    from sklearn.exceptions import ConvergenceWarning

    from gaussmix.estimators.sklearn_protocol import convergence_warnings_off, warn_convergence

    heard = []

    def other_thread():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warn_convergence("from another thread")
        heard.extend(caught)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with convergence_warnings_off():
            warn_convergence("silenced")
            with convergence_warnings_off():
                warn_convergence("silenced too")
            warn_convergence("still silenced")
            thread = threading.Thread(target=other_thread)
            thread.start()
            thread.join()
        warn_convergence("heard")
    assert [str(w.message) for w in caught] == ["heard"]
    assert caught[0].category is ConvergenceWarning
    assert [str(w.message) for w in heard] == ["from another thread"]
