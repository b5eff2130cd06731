"""EM runs side by side (gaussmix.estimators.batch): the starts of a fit iterated as one stacked
kernel give each run the result it reaches alone, up to rounding.

The engine parts first (each mixture of a stacked kernel normalised on its own, its statistics
split back, a shared covariance pooled again), then whole runs against runs alone for the four
scikit-learn types and two coupled mclust models, failures in a batch, the limits that keep a fit
on one run at a time, and the side-by-side model-based trees of a selection grid.
"""

from __future__ import annotations

import numpy as np
import pytest

import gaussmix as gm
from gaussmix.engine import covariance, starts
from gaussmix.engine.estep import em_statistics, kernel_for, log_weights_of, stacked_kernel
from gaussmix.engine.model_based import model_based_tree, model_based_trees, trace_groups
from gaussmix.engine.responsibilities import normalize_inplace
from gaussmix.engine.state import KernelTerms, MixtureState, state_arrays
from gaussmix.engine.stats import components_of, split_groups
from gaussmix.estimators import batch

TYPES = ("full", "tied", "diag", "spherical", "VEV", "EVI", "EVE", "VVE", "EII")


def _starts(X, k, covariance_type, n_runs, seed=0):
    """Distinct k-means starts of one estimator (its states and the estimator)."""
    model = gm.GaussianMixture(k, covariance_type=covariance_type, init_params="kmeans")
    model._check_hyperparameters()
    rng = np.random.RandomState(seed)
    states = [model._start_from("kmeans", X, None, rng) for _ in range(n_runs)]
    return model, states


def _terms(state):
    return KernelTerms(state.weights, state.means, state.prec_chol, state.covariances)


def test_a_stacked_array_is_normalised_per_mixture(rng):
    lp = rng.normal(scale=30, size=(3, 4, 50))
    lp[1, :, 7] = -np.inf  # a row of zero density in one mixture
    expected = [normalize_inplace(lp[g].copy()) for g in range(3)]
    responsibilities = [lp[g].copy() for g in range(3)]
    for g in range(3):
        normalize_inplace(responsibilities[g])
    stacked = lp.copy()
    log_norm = normalize_inplace(stacked)
    assert log_norm.shape == (3, 50)
    for g in range(3):
        np.testing.assert_array_equal(log_norm[g], expected[g])
        np.testing.assert_array_equal(stacked[g], responsibilities[g])


def test_mixtures_of_different_sizes_are_normalised_each_on_its_own(rng):
    from gaussmix.engine.responsibilities import normalize_groups, size_blocks

    sizes = [2, 5, 5, 1, 3, 3, 3]
    starts = np.cumsum(sizes) - sizes
    lp = rng.normal(scale=30, size=(sum(sizes), 40))
    lp[2:7, 9] = -np.inf  # a row of zero density in one mixture
    expected = [lp[a : a + k].copy() for a, k in zip(starts, sizes)]
    norms = [normalize_inplace(part) for part in expected]
    assert size_blocks(sizes) == ((0, 1, 2), (2, 2, 5), (12, 1, 1), (13, 3, 3))
    log_norm = normalize_groups(lp, size_blocks(sizes))
    assert log_norm.shape == (7, 40)
    for g, (a, k) in enumerate(zip(starts, sizes)):  # the arithmetic of a mixture alone
        np.testing.assert_array_equal(log_norm[g], norms[g])
        np.testing.assert_array_equal(lp[a : a + k], expected[g])
    assert np.isneginf(log_norm[1, 9]) and np.allclose(lp[2:7, 9], 0.2)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_stacked_statistics_split_into_each_mixtures_own(covariance_type):
    X = gm.datasets.load_iris()
    _, states = _starts(X, 3, covariance_type, 3)
    cov_model = covariance.get(covariance_type)
    shift = states[0].weights @ states[0].means
    terms = [_terms(state) for state in states]
    kernel = stacked_kernel([cov_model] * 3, terms, shift, X.dtype, ())
    parts = split_groups(em_statistics(X, None, kernel, 4096), 3, cov_model.family)
    for state, part in zip(states, parts):
        alone = em_statistics(X, None, kernel_for(cov_model, log_weights_of(state.weights),
                                                   state.means, state.prec_chol, shift,
                                                   X.dtype), 4096)
        assert part.family == alone.family
        np.testing.assert_allclose(part.loglik, alone.loglik, rtol=1e-13)
        for name in ("nk", "s1", "s2"):
            np.testing.assert_allclose(getattr(part, name), getattr(alone, name),
                                       rtol=1e-11, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("types", [("full", "tied", "diag", "spherical"), ("diag", "spherical")])
def test_the_stacked_m_step_of_several_models_is_each_models_own(types, dtype):
    """One M-step for mixtures under several covariance models ('dense' statistics, or
    'diagonal' ones when every model is diagonal), factorised in one call, gives each model's
    own M-step and precision factors, and E-step terms that build the same kernel."""
    from gaussmix.engine.em import m_step, resolution_floor, stacked_m_step
    from gaussmix.engine.estep import stacked_terms, terms_kernel

    X = gm.datasets.load_old_faithful().astype(dtype)
    owners = [_starts(X, 3, t, 2, seed=i) for i, t in enumerate(types)]
    models = [owner._covariance_model for owner, states in owners for _ in states]
    terms = [_terms(state) for _, states in owners for state in states]
    shift = terms[0].weights @ terms[0].means
    stats = em_statistics(X, None, stacked_kernel(models, terms, shift, dtype), 4096)
    eps = 10 * np.finfo(dtype).eps
    segments = [(owner._covariance_model, 2, 3, owner.reg_covar, None) for owner, _ in owners]
    parts, stacked = stacked_m_step(stats, segments, eps, dtype)
    assert stacked.family == ("dense" if "full" in types else "diagonal")
    for i, ((model, n_groups, _, reg, _), part) in enumerate(zip(segments, parts)):
        own = components_of(stats, slice(2 * i, 2 * i + 2), slice(6 * i, 6 * i + 6), model.family)
        for g, alone in enumerate(split_groups(own, 2, model.family)):  # each run's own M-step
            weights, means, covariances = m_step(alone, model, reg, eps)
            floor = resolution_floor(weights, means, covariances, model, dtype)
            expected = (weights, means, covariances, model.precision_cholesky(covariances, floor))
            mine = g if model.shared else slice(3 * g, 3 * g + 3)
            ours = (part.weights[3 * g : 3 * g + 3], part.means[3 * g : 3 * g + 3],
                    part.covariances[mine], part.prec_chol[mine])
            for got, want in zip(ours, expected):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    states = []
    for (model, *_), part in zip(segments, parts):
        for g in range(2):
            own = slice(3 * g, 3 * g + 3)
            one = g if model.shared else own
            states.append(KernelTerms(part.weights[own], part.means[own], part.prec_chol[one],
                                      part.covariances[one]))
    rebuilt = stacked_terms(models, states)
    ours = terms_kernel(stacked, shift, dtype)
    theirs = terms_kernel(rebuilt, shift, dtype)
    np.testing.assert_allclose(ours.theta_exp if stacked.family == "dense" else ours.theta,
                               theirs.theta_exp if stacked.family == "dense" else theirs.theta,
                               rtol=1e-10, atol=1e-12)


def test_a_collapsed_covariance_fails_the_stacked_m_step():
    from gaussmix.engine.em import stacked_m_step

    X = np.vstack([gm.datasets.load_old_faithful(), np.repeat([[1.0, 40.0]], 5, axis=0)])
    owner, states = _starts(X, 3, "full", 1)
    w, m, c = states[0].weights, states[0].means, states[0].covariances
    m = np.vstack([m[:2], [[1.0, 40.0]]])  # a component on the five copies, tiny spread
    c = c.copy()
    c[2] = 1e-12 * np.eye(2)
    p = owner._covariance_model.precision_cholesky(c)
    model = owner._covariance_model
    stats = em_statistics(X, None, stacked_kernel([model], [KernelTerms(w, m, p, c)], w @ m,
                                                  X.dtype), 4096)
    with pytest.raises(ValueError):
        stacked_m_step(stats, [(model, 1, 3, 0.0, None)], 10 * np.finfo(float).eps, np.float64)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_runs_side_by_side_reach_what_each_reaches_alone(covariance_type):
    X = gm.datasets.load_iris()
    model, states = _starts(X, 3, covariance_type, 5)
    dtype, chunk = X.dtype.type, 4096
    together = model._iterate_runs(X, None, states, 200, 1e-6, dtype, chunk)
    for state, result in zip(states, together):
        alone = model._iterate(X, None, state, -np.inf, 200, 1e-6, dtype, chunk)
        assert result.n_iter == alone.n_iter and result.converged == alone.converged
        np.testing.assert_allclose(result.history, alone.history, rtol=1e-12)
        for ours, theirs in zip(state_arrays(result.state), state_arrays(alone.state)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-11)


def test_more_runs_than_one_kernel_holds_form_several_batches(monkeypatch):
    X = gm.datasets.load_iris()
    model, states = _starts(X, 3, "full", 7)
    monkeypatch.setattr(batch, "BATCH_COMPONENTS", 6)  # two runs per stacked kernel
    sizes = []
    step = batch._batch_step

    def counted(runs, *args):
        sizes.append(len(runs))
        return step(runs, *args)

    monkeypatch.setattr(batch, "_batch_step", counted)
    together = model._iterate_runs(X, None, states, 5, 0.0, X.dtype.type, 4096)
    assert sizes[:4] == [2, 2, 2, 1]
    for state, result in zip(states, together):
        alone = model._iterate(X, None, state, -np.inf, 5, 0.0, X.dtype.type, 4096)
        np.testing.assert_allclose(result.lower_bound, alone.lower_bound, rtol=1e-12)


def _collapsing_start(model, X, states):
    """A start whose second component sits on three identical rows (it collapses)."""
    weights, means, covariances = states[0].weights, states[0].means, states[0].covariances
    means = means.copy()
    means[1] = X[0]
    covariances = covariances.copy()
    covariances[1] = 1e-14 * np.eye(X.shape[1])
    cov_model = model._covariance_model
    return MixtureState(weights, means, covariances, cov_model.precision_cholesky(covariances))


def test_a_failing_run_raises_or_drops_out_and_leaves_the_others():
    X = np.vstack([np.repeat(gm.datasets.load_iris()[:1], 3, axis=0),
                   gm.datasets.load_iris()[1:]])
    model = gm.GaussianMixture(3, reg_covar=0.0, init_params="kmeans")
    model._check_hyperparameters()
    _, states = _starts(X, 3, "full", 3)
    bad = _collapsing_start(model, X, states)
    dtype = X.dtype.type
    with pytest.raises(ValueError) as alone:
        model._iterate(X, None, bad, -np.inf, 50, 1e-6, dtype, 4096)
    with pytest.raises(ValueError) as together:
        model._iterate_runs(X, None, [states[0], bad, states[1]], 50, 1e-6, dtype, 4096)
    assert str(together.value) == str(alone.value)
    dropped = model._iterate_runs(X, None, [states[0], bad, states[1]], 50, 1e-6, dtype, 4096,
                                  drop_failed=True)
    assert dropped[1] is None
    for state, result in zip([states[0], states[1]], [dropped[0], dropped[2]]):
        single = model._iterate(X, None, state, -np.inf, 50, 1e-6, dtype, 4096)
        np.testing.assert_allclose(result.lower_bound, single.lower_bound, rtol=1e-12)


def test_fits_batch_only_small_in_memory_data(monkeypatch):
    X = gm.datasets.load_iris()
    steps = []
    step = batch._batch_step

    def counted(*args):
        steps.append(1)
        return step(*args)

    monkeypatch.setattr(batch, "_batch_step", counted)
    batched = gm.GaussianMixture(3, n_init=4, random_state=0).fit(X)
    assert steps
    steps.clear()
    monkeypatch.setattr(batch, "BATCH_ROWS", 100)  # iris is now "large"
    alone = gm.GaussianMixture(3, n_init=4, random_state=0).fit(X)
    assert not steps
    np.testing.assert_allclose(batched.lower_bound_, alone.lower_bound_, rtol=1e-12)
    np.testing.assert_allclose(batched.means_, alone.means_, rtol=1e-9)
    monkeypatch.setattr(batch, "BATCH_ROWS", 10**6)
    gm.GaussianMixture(3, n_init=4, random_state=0, verbose=2, verbose_interval=1000).fit(X)
    holed = X.copy()
    holed[3, 1] = np.nan
    gm.GaussianMixture(3, n_init=4, random_state=0, missing="em").fit(holed)
    assert not steps  # per-iteration logs and missing values: one run at a time
    gm.GaussianMixture(3, n_init=4, random_state=0, missing="em").fit(X)
    assert steps  # missing='em' on complete rows


def test_a_memory_mapped_fit_equals_the_in_memory_fit(tmp_path):
    X = gm.datasets.load_old_faithful()
    np.save(tmp_path / "x.npy", X)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    ours = gm.GaussianMixture(3, n_init=6, random_state=0).fit(mapped)
    theirs = gm.GaussianMixture(3, n_init=6, random_state=0).fit(X)
    np.testing.assert_array_equal(ours.means_, theirs.means_)
    assert ours.lower_bound_ == theirs.lower_bound_


@pytest.mark.parametrize("criterion", ["conjugate", "trace"])
def test_trees_side_by_side_are_the_trees_one_at_a_time(rng, criterion):
    X = np.vstack([rng.normal(size=(80, 3)), rng.normal(size=(60, 3)) * 0.3 + 2.0])
    X[5] = X[6]  # a tie
    w = np.ones(len(X))
    ks = [2, 3, 5, 9]
    for k, tree in zip(ks, model_based_trees(X, w, ks, criterion=criterion)):
        alone = model_based_tree(X, w, k, criterion=criterion)
        np.testing.assert_array_equal(tree.pairs, alone.pairs)
        np.testing.assert_array_equal(tree.merged_means, alone.merged_means)
    starting = model_based_trees(X, w, [2, 40], n_groups=30)  # from 30 Ward groups
    assert starting[0].n_items == 30
    np.testing.assert_array_equal(starting[1].pairs, model_based_tree(X, w, 40, 30).pairs)


def test_a_planned_grid_builds_its_trees_once(monkeypatch):
    X = gm.datasets.load_diabetes()
    calls = []
    build = starts.model_based_trees

    def counted(Xs, w, ks, *args, **kwargs):
        calls.append(list(ks))
        return build(Xs, w, ks, *args, **kwargs)

    monkeypatch.setattr(starts, "model_based_trees", counted)
    starts._TREES.clear()
    with starts.planned_components(range(1, 6)):
        planned = [gm.GaussianMixture(k, n_init=4, random_state=0).fit(X) for k in range(1, 6)]
    assert calls == [[2, 3, 4, 5]]
    starts._TREES.clear()
    for k, fit in zip(range(1, 6), planned):
        single = gm.GaussianMixture(k, n_init=4, random_state=0).fit(X)
        np.testing.assert_array_equal(single.means_, fit.means_)


def test_fits_side_by_side_equal_fits_one_at_a_time():
    X = gm.datasets.load_old_faithful()
    types = ("full", "tied", "diag", "spherical", "VEV")
    models = [gm.GaussianMixture(3, covariance_type=t, n_init=5, random_state=1) for t in types]
    models.append(gm.GaussianMixture(2, n_init=4, random_state=0))  # another batch
    models.append(gm.GaussianMixture(3, n_init=4, reg_covar=-1.0))  # an invalid parameter
    outcomes = batch.fit_side_by_side(models, X)
    assert isinstance(outcomes[-1], ValueError) and "reg_covar" in str(outcomes[-1])
    for model, outcome in zip(models[:-1], outcomes[:-1]):
        assert outcome is model
        alone = gm.GaussianMixture(**model.get_params()).fit(X)
        np.testing.assert_allclose(model.lower_bound_, alone.lower_bound_, rtol=1e-12)
        np.testing.assert_allclose(model.means_, alone.means_, rtol=1e-9)
        assert model.n_iter_ == alone.n_iter_


def test_a_collapse_fails_only_its_own_fit():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(60, 2)), np.repeat([[5.0, 5.0]], 4, axis=0)])
    kw = {"n_components": 3, "n_init": 4, "random_state": 0, "init_params": "random_from_data"}
    models = [gm.GaussianMixture(covariance_type=t, reg_covar=0.0, **kw)
              for t in ("full", "spherical")]
    models.append(gm.GaussianMixture(**kw))  # the default reg_covar: a proper fit
    outcomes = batch.fit_side_by_side(models, X)
    for model, outcome in zip(models[:2], outcomes[:2]):
        with pytest.raises(ValueError) as alone:
            gm.GaussianMixture(**model.get_params()).fit(X)
        assert isinstance(outcome, ValueError) and str(outcome) == str(alone.value)
    assert outcomes[2] is models[2] and np.isfinite(models[2].lower_bound_)


def test_the_trace_tree_built_beside_the_conjugate_ones_is_the_tree_built_alone(rng):
    X = np.vstack([rng.normal(size=(70, 2)), rng.normal(size=(50, 2)) * 0.4 + 2.5])
    Z = (X - X.mean(axis=0)) @ np.array([[1.0, 0.3], [0.0, 2.0]])  # other coordinates
    w = np.ones(len(X))
    for n_groups in (None, 40):  # from single rows (one pass), and from Ward groups (two)
        trees = model_based_trees(X, w, [2, 4], n_groups, trace_rows=Z)
        # mclust's tree starts from its own groups (single rows, as mclust's hc, here)
        alone = model_based_tree(Z, w, 4, trace_groups(len(Z), 4, 2), criterion="trace")
        np.testing.assert_array_equal(trees[-1].pairs, alone.pairs)
        np.testing.assert_array_equal(trees[-1].means, alone.means)
        for k, tree in zip([2, 4], trees):
            np.testing.assert_array_equal(tree.pairs, model_based_tree(X, w, k, n_groups).pairs)


def test_each_start_alone_comes_with_the_search():
    X = gm.datasets.load_diabetes()
    models = [gm.GaussianMixture(4, covariance_type=t, n_init=4, random_state=0)
              for t in ("full", "diag")]
    for model, (outcome, alone) in zip(models, batch.fit_side_by_side(models, X,
                                                                       each_alone=True)):
        assert len(alone) == 4
        fits = [run() for run in alone]
        assert max(fit.lower_bound_ for fit in fits) == pytest.approx(model.lower_bound_,
                                                                      rel=1e-12)
        first = fits[0]
        assert outcome is model and first is not model and first.n_init == 1
        single = gm.GaussianMixture(**{**model.get_params(), "n_init": 1}).fit(X)
        np.testing.assert_allclose(first.lower_bound_, single.lower_bound_, rtol=1e-12)
        np.testing.assert_allclose(first.means_, single.means_, rtol=1e-9)
        assert first.n_iter_ == single.n_iter_


def test_a_subsample_is_one_per_data_set_and_its_trees_are_built_once(monkeypatch, rng):
    """Above HIERARCHICAL_SUBSAMPLE rows the agglomerative starts work on one subsample of the
    data set, whatever the fit's random_state (as mclust agglomerates one subset per data
    set): a grid's trees are built once, ahead, and cut by every later fit."""
    X = rng.normal(size=(300, 2))
    calls = []
    build = starts.model_based_trees
    monkeypatch.setattr(starts, "model_based_trees",
                        lambda *a, **k: calls.append(1) or build(*a, **k))
    monkeypatch.setattr(starts, "HIERARCHICAL_SUBSAMPLE", 200)
    starts._TREES.clear()
    with starts.planned_components(range(1, 5)):
        first = gm.GaussianMixture(3, n_init=4, random_state=0).fit(X)
        assert calls == [1]
        for k, seed in ((2, 1), (4, 2), (3, 3)):
            gm.GaussianMixture(k, n_init=4, random_state=seed).fit(X)
        again = gm.GaussianMixture(3, n_init=4, random_state=5).fit(X)
    assert calls == [1]
    np.testing.assert_allclose(again.means_, first.means_)
