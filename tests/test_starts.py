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
from gaussmix.engine import starts
from gaussmix.engine.agglomeration import cut, model_based_tree, ward_tree


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
