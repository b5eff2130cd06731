"""make_mixture and pairwise_overlap: exact overlap, hitting the request, reproducibility, errors."""

import os

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import adjusted_rand_score

import gaussmix as gm
from _helpers import COVARIANCE_TYPES

SLOW = os.environ.get("GAUSSMIX_SLOW") == "1"


def _monte_carlo_misclassification(weights, means, covs, n, rng):
    """Independent estimate of w(j|i): sample component i, compare weighted scipy log-pdfs."""
    k = len(weights)
    out = np.zeros((k, k))
    for i in range(k):
        x = rng.multivariate_normal(means[i], covs[i], size=n)
        own = np.log(weights[i]) + stats.multivariate_normal(means[i], covs[i]).logpdf(x)
        for j in range(k):
            if j != i:
                other = np.log(weights[j]) + stats.multivariate_normal(means[j], covs[j]).logpdf(x)
                out[i, j] = np.mean(other > own)
    return out


def _full(truth):
    from gaussmix.viz.drawing import full_covariances

    return full_covariances(truth)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_features", [1, 2, 3, 5])
def test_overlap_matches_independent_monte_carlo(covariance_type, n_features):
    rng = np.random.default_rng(1000 + n_features)
    _, _, truth = gm.make_mixture(
        10, 3, n_features, overlap=0.1, covariance_type=covariance_type, weights="random",
        random_state=n_features,
    )  # fmt: skip
    exact = gm.pairwise_overlap(truth)
    n = 60_000
    mc = _monte_carlo_misclassification(truth.weights_, truth.means_, _full(truth), n, rng)
    sd = np.sqrt(np.maximum(exact.misclassification * (1 - exact.misclassification), 1e-4) / n)
    assert np.all(np.abs(mc - exact.misclassification) < 5 * sd + 1e-4)
    # The attributes stored on the truth agree with a fresh computation.
    assert np.allclose(truth.misclassification_, exact.misclassification, atol=1e-12)
    assert truth.overlap_ == pytest.approx(exact.mean, abs=1e-12)


def test_overlap_closed_form_equal_covariances_and_weights():
    # Equal covariances: w(j|i) = Phi(-D/2 - log(w_i/w_j)/D), D the Mahalanobis distance.
    cov = np.array([[2.0, 0.6], [0.6, 1.0]])
    means = np.array([[0.0, 0.0], [2.0, 1.0]])
    delta = np.sqrt((means[1] - means[0]) @ np.linalg.solve(cov, means[1] - means[0]))
    for weights in ([0.5, 0.5], [0.8, 0.2]):
        ov = gm.pairwise_overlap((weights, means, cov), covariance_type="tied")
        w01 = stats.norm.cdf(-delta / 2 - np.log(weights[0] / weights[1]) / delta)
        w10 = stats.norm.cdf(-delta / 2 - np.log(weights[1] / weights[0]) / delta)
        assert ov.misclassification[0, 1] == pytest.approx(w01, abs=1e-12)
        assert ov.misclassification[1, 0] == pytest.approx(w10, abs=1e-12)
        assert ov.mean == pytest.approx(w01 + w10, abs=1e-12)


def test_overlap_one_dimension_unequal_variances_closed_form():
    # N(0, 1) vs N(1, 4), equal weights: the decision boundary solves a quadratic.
    ov = gm.pairwise_overlap(([0.5, 0.5], [[0.0], [1.0]], [[[1.0]], [[4.0]]]))
    # point x is assigned to 1 when log N(x;1,4) > log N(x;0,1)  <=>  a x^2 + b x + c > 0
    a, b, c = 0.5 - 1 / 8, 1 / 4, -1 / 8 - np.log(2.0)
    r1, r2 = sorted(np.roots([a, b, c]).real)
    w10 = stats.norm.cdf(r1) + stats.norm.sf(r2)  # N(0,1) outside the roots
    w01 = stats.norm.cdf(r2, 1, 2) - stats.norm.cdf(r1, 1, 2)  # N(1,4) between them
    assert ov.misclassification[0, 1] == pytest.approx(w10, abs=1e-10)
    assert ov.misclassification[1, 0] == pytest.approx(w01, abs=1e-10)


def test_overlap_nearly_equal_variances_with_mean_offset_converges():
    # Regression: axes with almost equal variances (quadratic coefficients ~1e-4) and a mean
    # offset along them made the Fourier tail of the inversion integral fail to converge.
    weights = np.array([0.36049118, 0.63950882])
    means = np.array([[0.02222081, -0.13512662, -0.00022994, 0.19238456, 0.00041439], np.zeros(5)])
    covs = np.array([np.ones(5), [0.99308038, 0.99992851, 1.00012447, 3.06953498, 1.0]])
    ov = gm.pairwise_overlap((weights, means, covs), covariance_type="diag")
    rng = np.random.default_rng(7)
    n = 200_000
    full = np.array([np.diag(c) for c in covs])
    mc = _monte_carlo_misclassification(weights, means, full, n, rng)
    sd = np.sqrt(np.maximum(ov.misclassification * (1 - ov.misclassification), 1e-4) / n)
    assert np.all(np.abs(mc - ov.misclassification) < 5 * sd)


def test_identical_components_overlap_one():
    ov = gm.pairwise_overlap(
        ([0.5, 0.5], [[1.0, 2.0], [1.0, 2.0]], [1.5, 1.5]), covariance_type="spherical"
    )
    assert ov.mean == pytest.approx(1.0)
    assert ov.argmax == (0, 1)


def test_make_mixture_is_reproducible():
    a = gm.make_mixture(200, 3, 3, overlap=0.05, weights="random", random_state=7)
    b = gm.make_mixture(200, 3, 3, overlap=0.05, weights="random", random_state=7)
    c = gm.make_mixture(200, 3, 3, overlap=0.05, weights="random", random_state=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[2].covariances_, b[2].covariances_)
    assert not np.allclose(a[0], c[0])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_features", [1, 2, 5])
def test_achieved_overlap_within_tolerance(covariance_type, n_features):
    tol = 1e-6
    for target in (0.01, 0.2):
        X, y, truth = gm.make_mixture(
            50, 3, n_features, overlap=target, covariance_type=covariance_type, tol=tol,
            random_state=11,
        )  # fmt: skip
        assert abs(truth.overlap_ - target) <= tol
        assert abs(gm.pairwise_overlap(truth).mean - target) <= tol
        assert X.shape == (50, n_features) and y.shape == (50,)
        assert truth.covariance_type == covariance_type


def test_max_overlap_and_both():
    _, _, truth = gm.make_mixture(50, 4, 2, max_overlap=0.1, random_state=3)
    assert truth.max_overlap_ == pytest.approx(0.1, abs=1e-6)
    _, _, truth = gm.make_mixture(50, 4, 3, overlap=0.04, max_overlap=0.12, random_state=3)
    assert truth.overlap_ == pytest.approx(0.04, abs=1e-6)
    assert truth.max_overlap_ == pytest.approx(0.12, abs=1e-6)
    assert truth.overlap_matrix_.max() == pytest.approx(0.12, abs=1e-6)


def test_weights_balanced_random_and_given():
    _, y, truth = gm.make_mixture(3000, 3, random_state=0)
    np.testing.assert_allclose(truth.weights_, 1 / 3)
    _, y, truth = gm.make_mixture(3000, 4, weights="random", random_state=0)
    assert truth.weights_.sum() == pytest.approx(1.0)
    assert truth.weights_.max() / truth.weights_.min() > 1.2
    assert truth.weights_.min() >= 0.25 / 4 - 1e-12
    weights = [0.7, 0.2, 0.1]
    _, y, truth = gm.make_mixture(20_000, 3, weights=weights, overlap=0.02, random_state=0)
    np.testing.assert_allclose(truth.weights_, weights)
    np.testing.assert_allclose(np.bincount(y) / len(y), weights, atol=0.015)
    assert truth.overlap_ == pytest.approx(0.02, abs=1e-6)


def test_samples_follow_the_truth():
    X, y, truth = gm.make_mixture(20_000, 3, 2, covariance_type="full", random_state=5)
    for k in range(3):
        pts = X[y == k]
        se = np.sqrt(np.diag(truth.covariances_[k]) / len(pts))
        assert np.all(np.abs(pts.mean(axis=0) - truth.means_[k]) < 5 * se)
        np.testing.assert_allclose(
            np.cov(pts, rowvar=False),
            truth.covariances_[k],
            rtol=0.1,
            atol=0.05 * np.trace(truth.covariances_[k]),
        )
    # truth works as a fitted model
    assert truth.predict(X[:5]).shape == (5,)
    assert np.isfinite(truth.score(X))


def test_higher_overlap_makes_labels_harder_to_recover():
    seeds = range(4 if SLOW else 3)
    n = 5000 if SLOW else 1500
    mean_ari = []
    for target in (0.002, 0.05, 0.3):
        scores = []
        for seed in seeds:
            X, y, truth = gm.make_mixture(n, 3, 2, overlap=target, random_state=seed)
            scores.append(adjusted_rand_score(y, truth.predict(X)))
        mean_ari.append(np.mean(scores))
    assert mean_ari[0] > 0.95
    assert mean_ari[0] > mean_ari[1] + 0.05 > mean_ari[2] + 0.1


@pytest.mark.slow
def test_higher_dimension():
    n_features = 100 if SLOW else 20
    _, _, truth = gm.make_mixture(100, 3, n_features, overlap=0.05, random_state=0)
    assert truth.overlap_ == pytest.approx(0.05, abs=1e-6)
    assert truth.means_.shape == (3, n_features)


def test_one_component():
    X, y, truth = gm.make_mixture(40, 1, 3, random_state=0)
    assert X.shape == (40, 3) and np.all(y == 0)
    assert np.isnan(truth.overlap_)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"overlap": 0.0}, "strictly between 0 and 1"),
        ({"overlap": 1.2}, "strictly between 0 and 1"),
        ({"overlap": True}, "strictly between 0 and 1"),
        ({"overlap": 0.9, "max_axis_ratio": 10.0, "max_tries": 3}, "cannot be reached"),
        ({"overlap": 0.1, "max_overlap": 0.05}, "never be smaller than the average"),
        ({"overlap": 0.01, "max_overlap": 0.5}, "at least the maximum divided"),
        ({"covariance_type": "banana"}, "covariance_type must be one of"),
        ({"weights": [0.5, 0.5]}, "shape"),
        ({"weights": [0.5, 0.4, 0.3]}, "sum to 1"),
        ({"weights": "skewed"}, "'random'"),
        ({"n_features": 0}, "n_features must be an integer >= 1"),
        ({"max_axis_ratio": 0.5}, "max_axis_ratio"),
        ({"tol": 0.5}, "tol must be"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    kwargs = {"n_features": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        gm.make_mixture(100, 3, **kwargs)


def test_bad_calls_raise_clear_errors():
    with pytest.raises(ValueError, match="n_components=1"):
        gm.make_mixture(100, 1, overlap=0.1)
    with pytest.raises(ValueError, match="n_samples"):
        gm.make_mixture(0, 2)
    with pytest.raises(ValueError, match="not both"):
        gm.make_mixture(100, 3, overlap=0.05, max_overlap=0.1, covariance_type="tied")
    with pytest.raises(ValueError, match="single pair"):
        gm.make_mixture(100, 2, overlap=0.1, max_overlap=0.2)
    with pytest.raises(TypeError, match="random_state"):
        gm.make_mixture(100, 2, random_state="seed")
    with pytest.raises(TypeError, match="fitted mixture"):
        gm.pairwise_overlap([1, 2, 3])
    with pytest.raises(ValueError, match="sum to 1"):
        gm.pairwise_overlap(([0.5, 0.6], [[0.0], [1.0]], [[[1.0]], [[1.0]]]))
    with pytest.raises(ValueError, match="not positive definite"):
        gm.pairwise_overlap(([0.5, 0.5], [[0.0, 0], [1.0, 0]], [np.eye(2), -np.eye(2)]))


class _CountedIntegrals:
    """Counts the overlap module's integrals at full accuracy (the default ``epsabs``) and at the
    search's coarser one."""

    def __init__(self, monkeypatch):
        from gaussmix.datasets import overlap

        self.full = self.search = 0
        self.exact, self.default_epsabs = overlap._prob_quadratic_exceeds, overlap._EPSABS
        monkeypatch.setattr(overlap, "_prob_quadratic_exceeds", self)

    def __call__(self, a, b, y, **accuracy):
        if accuracy.get("epsabs", self.default_epsabs) < self.default_epsabs * 1.5:
            self.full += 1
        else:
            self.search += 1
        return self.exact(a, b, y, **accuracy)


@pytest.mark.parametrize("n_components, n_features", [(8, 2), (8, 5), (40, 1), (40, 2)])
def test_make_mixture_work_grows_with_the_pairs_only(monkeypatch, n_components, n_features):
    """Hitting the overlap takes one pass at full accuracy over the K (K - 1) ordered pairs (the
    answer) and a handful of coarser passes (the search, started from a guess without
    integrals), never the coinciding-means limit: ``generate -k 40`` took over 60 s with ten
    full passes. Counted, not timed (in one dimension the probabilities have a closed form; in
    two they are integrals)."""
    counted = _CountedIntegrals(monkeypatch)
    _, _, truth = gm.make_mixture(20, n_components, n_features, overlap=0.05, random_state=0)
    pairs = n_components * (n_components - 1)
    assert counted.full == pairs
    assert 0 < counted.search <= 6 * pairs
    assert truth.overlap_ == pytest.approx(0.05, abs=1e-6)


@pytest.mark.parametrize("n_features", [1, 2, 3])
def test_pairs_skipped_by_the_search_are_bounded(n_features):
    """The search skips a pair whose Bhattacharyya bound is tiny: the bound is an upper bound
    of the exact misclassification at every scale (unequal weights and shapes included)."""
    from gaussmix.datasets.overlap import (
        _cholesky_stack,
        _misclassification_matrix,
        _pair_bounds,
        _pair_terms,
        _upper_bounds,
    )

    rng = np.random.default_rng(n_features)
    for _ in range(3):
        _, _, truth = gm.make_mixture(10, 5, n_features, overlap=0.02, weights="random",
                                      random_state=int(rng.integers(1000)))
        full = _full(truth)
        terms = _pair_terms(truth.weights_, truth.means_, _cholesky_stack(full))
        bounds = _pair_bounds(truth.weights_, truth.means_, full)
        for scale in (0.05, 0.5, 1.0, 4.0):
            exact = _misclassification_matrix(terms, 5, scale)
            assert np.all(exact <= _upper_bounds(bounds, scale) + 1e-8), scale
