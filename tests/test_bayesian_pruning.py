"""``BayesianGaussianMixture(prune="elbo")`` (:mod:`gaussmix.estimators.pruning`): the rule
only ever raises the lower bound, keeps every well-separated group, empties a split group's
spare half, and leaves scikit-learn's behaviour (``fit_predict``, ``warm_start``, the
iterations with ``prune=None``) as it was."""

import os
import warnings

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SkBayesianGaussianMixture

import gaussmix as gm
from _helpers import TWO_TYPES
from gaussmix.engine.variational import PRIOR_TYPES

BGM = gm.BayesianGaussianMixture
#: The README's prior: ten components offered, a small weight concentration.
README_PRIOR = {"weight_concentration_prior": 1e-3, "max_iter": 500}

# A few examples in the default tier (each is two fits and the rule's refits, ~1 s);
# HYPOTHESIS_PROFILE=thorough tries more.
_EXAMPLES = 5 if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci" else 100


def _fit(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return BGM(**params).fit(X)


@settings(max_examples=_EXAMPLES)
@given(n_groups=st.integers(2, 5), overlap=st.sampled_from([0.001, 0.01, 0.05, 0.1]),
       seed=st.integers(0, 2**31 - 1), n_components=st.integers(6, 10),
       prior_type=st.sampled_from(PRIOR_TYPES),
       covariance_type=st.sampled_from(TWO_TYPES))
def test_the_rule_never_lowers_the_lower_bound(n_groups, overlap, seed, n_components,
                                               prior_type, covariance_type):
    X, _, _ = gm.make_mixture(400, n_groups, overlap=overlap, random_state=seed)
    params = {"n_components": n_components, "weight_concentration_prior_type": prior_type,
              "covariance_type": covariance_type, **README_PRIOR}
    plain = _fit(X, prune=None, **params)
    pruned = _fit(X, **params)
    note(f"plain {plain.lower_bound_}, pruned {pruned.lower_bound_}, removed {pruned.pruned_}")
    assert pruned.lower_bound_ >= plain.lower_bound_
    assert pruned.lower_bound_ == pruned.lower_bounds_[-1]
    assert len(pruned.lower_bounds_) == pruned.n_iter_
    if not pruned.pruned_:  # nothing kept: the plain fit, unchanged
        assert pruned.lower_bound_ == plain.lower_bound_
        np.testing.assert_array_equal(pruned.means_, plain.means_)
    else:
        assert pruned.converged_
        assert pruned.lower_bound_ > plain.lower_bound_
        n_rows = len(X)  # every emptied component holds less than one row
        assert np.all(pruned.mean_precision_[pruned.pruned_] - pruned.mean_precision_prior_
                      < 1.0 + 1e-9 * n_rows)


# Seeds chosen before the first run (0 to 3, every one kept): make_mixture's default spread at
# overlap=0.001, 600 rows, the README's prior on ten components.
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("n_groups", [2, 3, 4, 5])
def test_well_separated_groups_are_each_kept_once(n_groups, prior_type):
    for seed in range(4):
        X, _, _ = gm.make_mixture(600, n_groups, overlap=0.001, random_state=seed)
        model = _fit(X, n_components=10, weight_concentration_prior_type=prior_type,
                     **README_PRIOR)
        assert model.converged_, seed
        assert int((model.weights_ > 0.02).sum()) == n_groups, (seed, model.weights_.round(3))


def test_a_split_group_is_merged_back():
    # the README's prior on this data: variational EM alone ends with one group split in two
    X, _, _ = gm.make_mixture(600, 3, overlap=0.05, random_state=5)
    plain = _fit(X, n_components=10, prune=None, **README_PRIOR)
    assert int((plain.weights_ > 0.01).sum()) == 4 and plain.pruned_ == []
    pruned = _fit(X, n_components=10, **README_PRIOR)
    assert int((pruned.weights_ > 0.01).sum()) == 3 and len(pruned.pruned_) == 1
    assert pruned.lower_bound_ > plain.lower_bound_
    assert pruned.weights_[pruned.pruned_[0]] < 0.01


def test_fit_predict_and_predict_agree_after_pruning():
    X, _, _ = gm.make_mixture(600, 3, overlap=0.05, random_state=5)
    model = BGM(10, **README_PRIOR)
    labels = model.fit_predict(X)
    assert model.pruned_
    np.testing.assert_array_equal(labels, model.predict(X))
    np.testing.assert_array_equal(labels, BGM(10, **README_PRIOR).fit(X).predict(X))


def test_warm_start_continues_from_the_pruned_fit():
    X, _, _ = gm.make_mixture(600, 3, overlap=0.05, random_state=5)
    model = BGM(10, warm_start=True, **README_PRIOR).fit(X)
    first = model.lower_bound_
    model.fit(X)  # continues from the pruned posterior: EM and the rule only climb
    assert model.lower_bound_ >= first - 1e-9 * abs(first)
    assert int((model.weights_ > 0.01).sum()) == 3


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
def test_without_the_rule_it_is_scikit_learns_fit(prior_type):
    # a fit that converges, so that the rule would run: prune=None is scikit-learn's, iteration
    # for iteration
    X, _, _ = gm.make_mixture(300, 3, overlap=0.05, random_state=1)
    params = {"n_components": 6, "init_params": "kmeans", "random_state": 0,
              "weight_concentration_prior_type": prior_type, **README_PRIOR}
    ours = BGM(prune=None, **params).fit(X)
    ref = SkBayesianGaussianMixture(**params).fit(X)
    assert ours.converged_ and ours.n_iter_ == ref.n_iter_
    assert ours.lower_bound_ == pytest.approx(float(ref.lower_bound_), rel=1e-9)
    np.testing.assert_allclose(ours.weights_, ref.weights_, rtol=1e-7, atol=1e-10)


def test_prune_is_a_checked_parameter():
    assert BGM().get_params()["prune"] == "elbo"
    with pytest.raises(ValueError, match="prune"):
        BGM(prune="bic").fit(np.random.default_rng(0).normal(size=(20, 2)))


def test_integer_weights_act_like_repeated_rows_the_rule_included():
    X, _, _ = gm.make_mixture(600, 3, overlap=0.05, random_state=5)
    w = np.random.default_rng(0).integers(1, 3, len(X))
    params = {"n_components": 10, "weight_concentration_prior": 1e-3, "max_iter": 1000}
    weighted = BGM(**params).fit(X, sample_weight=w)
    repeated = BGM(**params).fit(np.repeat(X, w, axis=0))
    assert weighted.pruned_ and weighted.pruned_ == repeated.pruned_
    assert weighted.lower_bound_ == pytest.approx(repeated.lower_bound_, rel=1e-10)
    np.testing.assert_allclose(weighted.weights_, repeated.weights_, rtol=1e-8, atol=1e-12)
