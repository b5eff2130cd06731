"""The agglomerative starts: one merge tree per data set, cut at every number of components.

Ward's tree against scipy's own Ward linkage, and the tree cache invisible in the results: a fit
on a warm cache equals the fit on a cold one, bit for bit, for every kind of tree.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.metrics import adjusted_rand_score

import gaussmix as gm
from _helpers import MODELS, models_where
from gaussmix.engine import starts
from gaussmix.engine.agglomeration import cut, ward_tree
from gaussmix.engine.model_based import model_based_tree


@pytest.mark.parametrize("n_clusters", [1, 2, 3, 5, 8])
def test_ward_tree_cut_at_every_k_is_scipys_ward(rng, n_clusters):
    X = rng.normal(size=(120, 3)) + rng.integers(0, 4, 120)[:, None] * 3.0
    ours = cut(ward_tree(X, np.ones(len(X))), n_clusters)
    theirs = fcluster(linkage(X, method="ward"), n_clusters, criterion="maxclust")
    assert len(np.unique(ours)) == n_clusters
    assert adjusted_rand_score(ours, theirs) == 1.0


def test_one_tree_serves_every_k(rng):
    """Cutting one model-based tree at K gives the labels of agglomerating straight to K."""
    X = rng.normal(size=(90, 2)) * [3.0, 0.5]
    tree = model_based_tree(X, np.ones(len(X)), 2, criterion="trace")
    for k in (2, 3, 4, 6):
        direct = model_based_tree(X, np.ones(len(X)), k, criterion="trace")
        np.testing.assert_array_equal(cut(tree, k), cut(direct, k))


def test_a_warm_tree_cache_changes_nothing(rng):
    X = gm.datasets.load_iris()
    starts._TREES.clear()
    cold = gm.GaussianMixture(3, n_init=4, random_state=0).fit(X)
    assert len(starts._TREES) >= 3  # Ward, whitened Ward, two model-based trees
    warm = gm.GaussianMixture(3, n_init=4, random_state=0).fit(X)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_array_equal(getattr(warm, name), getattr(cold, name))
    other = gm.GaussianMixture(3, n_init=4, random_state=0).fit(X[::-1] + 1.0)
    assert not np.array_equal(other.means_, cold.means_)


@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_closed_form_log_determinants_match_lapack(rng, d):
    from gaussmix.engine.model_based import _log_det

    A = rng.normal(size=(200, d, d))
    M = A @ A.transpose(0, 2, 1) + 0.1 * np.eye(d)
    M[:5] = -M[:5]  # negative definite (odd d) or of positive determinant (even d)
    M[5] = 0.0  # singular
    sign, logdet = np.linalg.slogdet(M)
    expected = np.where(sign > 0, logdet, -np.inf)
    np.testing.assert_allclose(_log_det(M), expected, rtol=1e-10, atol=1e-10)


def test_a_start_equal_to_an_earlier_one_is_not_run_again(monkeypatch):
    """With one component every agglomerative start is the whole data: EM runs once, and the
    fit equals the single start's."""
    from gaussmix.estimators.driver import BaseMixture

    X = gm.datasets.load_iris()
    runs = []
    run_all = BaseMixture._run_all

    def counted(self, plan):
        runs.extend(plan.runs)  # the EM runs of the fit, one per distinct start
        return run_all(self, plan)

    monkeypatch.setattr(BaseMixture, "_run_all", counted)
    searched = gm.GaussianMixture(1, n_init=4, random_state=0).fit(X)
    assert len(runs) == 1
    single = gm.GaussianMixture(1, n_init=1, random_state=0).fit(X)
    np.testing.assert_array_equal(searched.means_, single.means_)
    assert searched.lower_bound_ == single.lower_bound_
    runs.clear()
    gm.GaussianMixture(3, n_init=4, random_state=0).fit(X)
    assert len(runs) >= 2  # distinct starts all run


def test_ward_tree_of_unit_weights_merges_as_the_weighted_loop(rng):
    """Rows of unit weight take scipy's compiled Ward linkage; any equal weights merge the same
    pairs (Ward's costs scale with them), and those take the weighted loop."""
    X = rng.normal(size=(150, 3)) + rng.integers(0, 3, 150)[:, None] * 2.0
    scipys = ward_tree(X, np.ones(len(X)))
    loop = ward_tree(X, np.full(len(X), 2.0))
    assert scipys.merged_means is None and loop.merged_means is not None
    np.testing.assert_array_equal(scipys.pairs, loop.pairs)
    for k in (1, 2, 3, 7, 40):
        np.testing.assert_array_equal(cut(scipys, k), cut(loop, k))


def _greedy_model_based_pairs(X, k, criterion):
    """The textbook agglomeration from single rows: every step recomputes every pair's cost from
    the groups' rows (full matrices, LAPACK determinants) and merges the cheapest pair."""
    n, d = X.shape
    cov = np.cov(X.T, bias=True)
    prior = cov / k ** (2.0 / d) + 1e-12 * np.trace(cov) / d * np.eye(d)
    alpha = np.trace(cov) / d

    def term(rows):
        m = len(rows)
        scatter = (rows - rows.mean(axis=0)).T @ (rows - rows.mean(axis=0))
        if criterion == "conjugate":
            return m * np.linalg.slogdet((scatter + prior) / (m + 1))[1]
        spread = (np.trace(scatter) + alpha) / m
        det = np.linalg.det(scatter / m) if m > d else 0.0
        return m * np.log(det + spread)

    groups = {i: [i] for i in range(n)}
    pairs = []
    while len(groups) > 1:
        keys = sorted(groups)
        best = None
        for x, a in enumerate(keys):
            for b in keys[x + 1:]:
                c = term(X[groups[a] + groups[b]]) - term(X[groups[a]]) - term(X[groups[b]])
                if best is None or c < best[0]:
                    best = (c, a, b)
        _, a, b = best
        groups[a] += groups.pop(b)
        pairs.append((a, b))
    return np.array(pairs)


@pytest.mark.parametrize("criterion", ["conjugate", "trace"])
@pytest.mark.parametrize("d", [2, 3, 5])
def test_model_based_tree_is_the_textbook_greedy_agglomeration(rng, criterion, d):
    X = rng.normal(size=(36, d)) * np.linspace(1.0, 3.0, d)
    X[12:24] += 4.0
    tree = model_based_tree(X, np.ones(len(X)), 3, criterion=criterion)
    np.testing.assert_array_equal(tree.pairs, _greedy_model_based_pairs(X, 3, criterion))


def test_an_int_seed_draws_the_stream_of_a_new_random_state():
    """An int random_state seeds a reused RandomState; the draws are those of a new one, also
    for fits running in several threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    X = gm.datasets.load_iris()

    def fit(seed):
        return gm.GaussianMixture(3, init_params="random", n_init=3, random_state=seed).fit(X)

    for seed in (0, 11):
        ours = fit(seed)
        theirs = fit(np.random.RandomState(seed))
        np.testing.assert_array_equal(ours.means_, theirs.means_)
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(fit, range(8)))
    for seed, model in enumerate(together):
        np.testing.assert_array_equal(model.means_, fit(seed).means_)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_clusters", [2, 3, 7])
def test_kmeans_side_by_side_is_scikit_learns_kmeans(rng, weighted, n_clusters):
    """The screened k-means starts run side by side: each run's labels are those of
    scikit-learn's KMeans(n_init=1) given the same random numbers (its k-means++ draws)."""
    from sklearn.cluster import KMeans

    from gaussmix.engine.kmeans import kmeans_draws, kmeans_side_by_side

    X = np.vstack([rng.normal(size=(60, 3)) + c for c in rng.normal(scale=3, size=(4, 3))])
    X = np.vstack([X, X[:5]])  # ties
    w = rng.uniform(0.5, 2.0, len(X)) if weighted else None
    draws = [np.random.RandomState(seed).random_sample(kmeans_draws(n_clusters))
             for seed in range(12)]
    ours = kmeans_side_by_side(X, w, n_clusters, draws)
    for seed, labels in enumerate(ours):
        theirs = KMeans(n_clusters, n_init=1, random_state=seed).fit(X, sample_weight=w)
        np.testing.assert_array_equal(labels, theirs.labels_)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 3 distinct rows
def test_an_empty_cluster_takes_the_farthest_row_as_scikit_learn_does():
    from sklearn.cluster import KMeans

    from gaussmix.engine.kmeans import kmeans_draws, kmeans_side_by_side

    X = np.array([[0.0], [0.0], [0.0], [0.0], [1.0], [10.0]])  # 4 copies: seeds collide
    for seed in range(30):
        draws = np.random.RandomState(seed).random_sample(kmeans_draws(4))
        theirs = KMeans(4, n_init=1, random_state=seed).fit(X).labels_
        np.testing.assert_array_equal(kmeans_side_by_side(X, None, 4, [draws])[0], theirs)


def test_a_grid_computes_each_start_once_for_all_its_covariance_models(rng, monkeypatch):
    """Within starts_shared (a select_model grid), fits on the same rows take the statistics of
    a start that draws nothing from the random stream (the hierarchical ones) from the first fit
    that computed them, per number of components and kernel family, and every fit is the fit
    alone; a start that draws (k-means++) is computed for each fit from its own stream."""
    from gaussmix.estimators import start_search

    computed = []
    original = start_search.StartSearch._new_start_statistics

    def counting(self, strategy, *args):
        computed.append(strategy)
        return original(self, strategy, *args)

    monkeypatch.setattr(start_search.StartSearch, "_new_start_statistics", counting)
    X = rng.normal(size=(80, 3)) + np.repeat([[0.0, 0.0, 0.0], [4.0, 0.0, 1.0]], 40, axis=0)
    models = models_where(lambda model: model.family == "dense", MODELS)
    alone = [gm.GaussianMixture(3, covariance_type=m, n_init=4, random_state=1).fit(X)
             for m in models]
    assert len(computed) == 4 * len(models)
    computed.clear()
    with start_search.starts_shared():
        shared = [gm.GaussianMixture(3, covariance_type=m, n_init=4, random_state=1).fit(X)
                  for m in models]
        assert len(computed) == 4  # one per start, for every dense model
        computed.clear()
        for seed in (0, 1):
            gm.GaussianMixture(3, init_params="k-means++", random_state=seed).fit(X)
        assert len(computed) == 2
    for one, other in zip(alone, shared):
        assert one.lower_bound_ == pytest.approx(other.lower_bound_, rel=1e-12)
        np.testing.assert_allclose(one.means_, other.means_, rtol=1e-10)


@pytest.mark.parametrize("shape", [(3, 4), (5, 8)])
def test_fewer_rows_than_columns_take_every_start(shape):
    """mclust's own start agglomerates the rows in mclust's coordinates, which span at most as
    many dimensions as there are rows: with fewer rows than columns its tree was merged beside
    the model-based one in the other's dimension and raised IndexError (found by fuzzing)."""
    X = np.random.default_rng(0).normal(size=shape)
    fit = gm.GaussianMixture(2, n_init=4, random_state=0).fit(X)
    assert np.isfinite(fit.lower_bound_)
