"""Over-relaxed EM steps (:mod:`gaussmix.engine.overrelaxation`,
:mod:`gaussmix.estimators.relaxed_steps`): the moments' algebra, and what a fit promises with
them: the log-likelihood never falls, the optimum is the plain one's, a crawl takes fewer
iterations, a batch equals its runs alone and ``warm_start`` calls add up to one fit."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning

import gaussmix as gm
from _helpers import MODELS, models_where
from gaussmix.engine import overrelaxation
from gaussmix.engine.overrelaxation import (
    Moments,
    admissible,
    extrapolated,
    moments_of,
    pooled,
    sums_of,
)
from gaussmix.engine.stats import SuffStats

# every registered model takes over-relaxed steps, a pooled covariance's too
RELAXED = MODELS


def _sums(rng, k, d, diagonal, shift):
    """E-step sums of random soft assignments of random rows, around ``shift``."""
    rows = rng.normal(size=(40, d)) * rng.uniform(0.1, 10, size=d) + rng.normal(size=d) * 5
    resp = rng.dirichlet(np.ones(k), size=len(rows))
    centred = rows[:, None, :] - shift[None]
    nk = resp.sum(axis=0)
    s1 = np.einsum("nk,nkd->kd", resp, centred)
    if diagonal:
        return nk, s1, np.einsum("nk,nkd->kd", resp, centred**2)
    return nk, s1, np.einsum("nk,nki,nkj->kij", resp, centred, centred)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.integers(1, 4), st.sampled_from(["dense", "diagonal", "shared"]),
       st.integers(0, 2**32 - 1))
def test_moments_do_not_depend_on_the_shift_and_give_the_sums_back(k, d, layout, seed):
    rng = np.random.default_rng(seed)
    shift = rng.normal(size=(k, d)) * 3
    other = rng.normal(size=(k, d)) * 3
    rows = rng.normal(size=(40, d)) * rng.uniform(0.1, 10, size=d)
    resp = rng.dirichlet(np.ones(k), size=len(rows))

    def sums(around):
        centred = rows[:, None, :] - around[None]
        s1 = np.einsum("nk,nkd->kd", resp, centred)
        if layout == "diagonal":
            return resp.sum(axis=0), s1, np.einsum("nk,nkd->kd", resp, centred**2)
        s2 = np.einsum("nk,nki,nkj->kij", resp, centred, centred)
        return resp.sum(axis=0), s1, (s2.sum(axis=0) if layout == "shared" else s2)

    def stats(around):
        return SuffStats.of(layout, *sums(around), around)

    moments = moments_of(stats(shift))
    for part, again in zip(moments, moments_of(stats(other))):
        assert_allclose(part, again, rtol=1e-9, atol=1e-9)
    for part, again in zip(sums(other), sums_of(moments, other, layout)):
        assert_allclose(part, again, rtol=1e-9, atol=1e-8)
    if layout == "dense":  # pooled, the sums a shared covariance's M-step pools
        pooled_sums = sums_of(pooled(moments), other, "shared")
        assert_allclose(pooled_sums[2], sums(other)[2].sum(axis=0), rtol=1e-9, atol=1e-8)


def test_an_extrapolation_is_linear_and_plain_em_at_eta_one(rng):
    around = np.zeros((3, 2))
    before = moments_of(SuffStats.of("dense", *_sums(rng, 3, 2, False, around), around))
    after = moments_of(SuffStats.of("dense", *_sums(rng, 3, 2, False, around), around))
    for part, plain in zip(extrapolated(before, after, np.ones(3)), after):
        assert_allclose(part, plain)
    eta = np.array([1.0, 2.0, 3.5])
    for part, b, a in zip(extrapolated(before, after, eta), before, after):
        assert_allclose(part, b + eta.reshape((-1,) + (1,) * (b.ndim - 1)) * (a - b))


def test_only_moments_are_admissible():
    eye = np.eye(2)
    good = Moments(np.array([3.0, 2.0, 1.0, 4.0]), np.zeros((4, 2)), np.stack([eye] * 4))
    assert admissible(good).all()
    bad = Moments(np.array([3.0, -1.0, 1.0, 4.0]), np.array([[0, 0], [0, 0], [np.nan, 0], [0, 0]]),
                  np.stack([eye, eye, eye, np.diag([1.0, -1e-3])]))
    assert admissible(bad).tolist() == [True, False, False, False]
    variances = Moments(np.ones(3), np.zeros((3, 2)), np.array([[1.0, 2.0], [0.0, 1.0], [1, 1]]))
    assert admissible(variances).tolist() == [True, False, True]


def _crawling_data():
    """Heavily overlapping groups: plain EM crawls for hundreds of iterations."""
    X, _, _ = gm.make_mixture(300, 4, 2, overlap=0.4, random_state=3)
    return X


def _fit(X, monkeypatch, relaxed, **params):
    with monkeypatch.context() as patch:
        if not relaxed:
            patch.setattr(gm.GaussianMixture, "_over_relaxed", False)
        return gm.GaussianMixture(**params).fit(X)


@pytest.mark.parametrize("k", [3, 4, 5])
@pytest.mark.parametrize("name", RELAXED)
def test_a_relaxed_fit_climbs_to_the_plain_fits_optimum(name, k, monkeypatch):
    """Where plain EM crawls for hundreds of steps (a slow ridge, or a saddle it leaves
    slowly), over-relaxed steps must not stop short: stopping on the first plain steps after an
    extrapolated one left 13 of the 39 fits of the models with per-component covariances
    below plain EM's optimum, up to 18 nats."""
    X = _crawling_data()
    params = {"n_components": k, "covariance_type": name, "random_state": 0, "max_iter": 3000}
    plain = _fit(X, monkeypatch, False, **params)
    relaxed = _fit(X, monkeypatch, True, **params)
    history = np.asarray(relaxed.lower_bounds_)
    assert np.all(np.diff(history) >= -1e-12 * abs(history[-1]))
    assert relaxed.converged_ and len(history) == relaxed.n_iter_
    # the same optimum, reached at least as closely (the rule's tolerance is relative, 1e-5)
    assert relaxed.lower_bound_ >= plain.lower_bound_ - 1e-5 * abs(plain.lower_bound_)
    assert_allclose(np.sort(relaxed.weights_), np.sort(plain.weights_), atol=2e-2)


def test_a_crawl_takes_fewer_iterations(monkeypatch):
    X = _crawling_data()
    totals = {}
    for relaxed in (False, True):
        fits = [_fit(X, monkeypatch, relaxed, n_components=k, covariance_type=name,
                     random_state=0, max_iter=3000)
                for name in RELAXED for k in (3, 4, 5)]
        totals[relaxed] = (sum(fit.n_iter_ for fit in fits),
                           sum(fit.lower_bound_ for fit in fits))
    assert totals[True][0] < 0.7 * totals[False][0]
    assert totals[True][1] >= totals[False][1] - 1e-4 * abs(totals[False][1])


# the models whose M-step starts from the previous covariances (an undone step must start
# from the state before it, as plain EM would), and one that does not
UNDONE = ("full", *models_where(lambda model: not model.stackable, MODELS))


@pytest.mark.parametrize("name", UNDONE)
def test_steps_that_lower_the_likelihood_are_undone(name, monkeypatch):
    """With eta growing fast, extrapolated steps overshoot: each is undone (the history repeats
    the bound before it) and the plain step taken instead, so the bound never falls."""
    monkeypatch.setattr(overrelaxation, "GROWTH", 3.0)
    monkeypatch.setattr("gaussmix.estimators.relaxed_steps.GROWTH", 3.0)
    X = _crawling_data()
    fit = gm.GaussianMixture(4, covariance_type=name, random_state=0, max_iter=3000).fit(X)
    history = np.asarray(fit.lower_bounds_)
    steps = np.diff(history)
    assert np.all(steps >= -1e-12 * abs(history[-1]))
    assert np.sum(steps == 0) >= 1  # undone steps
    assert fit.converged_ and len(history) == fit.n_iter_


@pytest.mark.parametrize("n_steps", [3, 12])
def test_warm_start_calls_add_up_to_one_fit(n_steps):
    """scikit-learn's contract, with over-relaxed steps: a warm start continues the run's
    record too."""
    X = _crawling_data()
    whole = gm.GaussianMixture(4, max_iter=n_steps, random_state=0)
    steps = gm.GaussianMixture(4, max_iter=1, random_state=0, warm_start=True)
    with pytest.warns(ConvergenceWarning):
        whole.fit(X)
    for _ in range(n_steps):
        with pytest.warns(ConvergenceWarning):
            steps.fit(X)
    assert_allclose(steps.means_, whole.means_, rtol=1e-9, atol=1e-12)
    assert_allclose(steps.weights_, whole.weights_, rtol=1e-9)
    assert steps.lower_bound_ == pytest.approx(whole.lower_bound_, rel=1e-12)


def test_a_batch_of_runs_equals_the_runs_alone(monkeypatch):
    from gaussmix.estimators import batch

    X = _crawling_data()
    together = gm.GaussianMixture(4, n_init=4, random_state=0).fit(X)
    monkeypatch.setattr(batch, "BATCH_ROWS", 10)
    alone = gm.GaussianMixture(4, n_init=4, random_state=0).fit(X)
    assert together.n_iter_ == alone.n_iter_
    assert_allclose(together.means_, alone.means_, rtol=1e-8)
    assert together.lower_bound_ == pytest.approx(alone.lower_bound_, rel=1e-12)


@pytest.mark.parametrize("name", models_where(lambda model: model.shared, MODELS))
def test_a_pooled_covariance_steps_alike_in_a_batch_and_alone(name, monkeypatch):
    """A run alone pools its statistics over the components, a batch keeps them per component:
    both extrapolate the pooled within-component covariance, so they take the same steps."""
    from gaussmix.estimators import batch

    X = _crawling_data()
    params = {"covariance_type": name, "n_init": 4, "random_state": 0, "max_iter": 3000}
    together = gm.GaussianMixture(5, **params).fit(X)
    monkeypatch.setattr(batch, "BATCH_ROWS", 10)
    alone = gm.GaussianMixture(5, **params).fit(X)
    assert together.n_iter_ == alone.n_iter_
    assert together.lower_bound_ == pytest.approx(alone.lower_bound_, rel=1e-12)
    assert_allclose(together.covariances_, alone.covariances_, rtol=1e-8)


def test_the_structured_families_take_plain_steps():
    assert gm.GaussianMixture(4)._over_relaxed
    assert not gm.FactorMixture(2)._over_relaxed
    assert not gm.HighDimensionalMixture(2)._over_relaxed


def test_the_screened_pool_takes_plain_steps_and_the_full_runs_relax(monkeypatch):
    """emEM's screen compares starts after the same number of plain EM steps; the runs it
    picks then go on like any other."""
    from gaussmix.engine.starts import SCREEN_ITER
    from gaussmix.estimators import batch

    seen = []
    iterate = batch._iterate_side_by_side

    def recorded(runs, *args, **kwargs):
        seen.extend(runs)
        return iterate(runs, *args, **kwargs)

    monkeypatch.setattr(batch, "_iterate_side_by_side", recorded)
    gm.GaussianMixture(4, n_init=8, random_state=0).fit(_crawling_data())
    screened = [run for run in seen if run.max_iter == SCREEN_ITER]
    full = [run for run in seen if run.max_iter != SCREEN_ITER]
    assert screened and all(run.relaxation is None for run in screened)
    assert full and all(run.relaxation is not None for run in full)


def test_an_undone_step_starts_from_the_state_it_undoes(monkeypatch):
    """An M-step that starts from the previous covariances (EVE, VEV, ...) must take the plain
    step from the state before the extrapolated one, as plain EM would."""
    monkeypatch.setattr(overrelaxation, "GROWTH", 3.0)
    monkeypatch.setattr("gaussmix.estimators.relaxed_steps.GROWTH", 3.0)
    started = []
    m_step = gm.GaussianMixture._m_step

    def recorded(self, stats, state, dtype):
        started.append(state)
        return m_step(self, stats, state, dtype)

    monkeypatch.setattr(gm.GaussianMixture, "_m_step", recorded)
    fit = gm.GaussianMixture(4, covariance_type="VEV", random_state=0, max_iter=3000)
    fit.fit(_crawling_data())
    history = fit.lower_bounds_
    undone = [i for i in range(1, len(history)) if history[i] == history[i - 1]]
    assert undone
    for i in undone:  # step i + 1 undid step i, whose M-step started from started[i - 1]
        assert started[i] is started[i - 1]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 4), st.sampled_from(MODELS), st.integers(2, 3))
def test_any_batch_of_runs_equals_the_runs_alone(seed, k, name, d):
    """On any clustered rows and any covariance model, a fit's runs take the same over-relaxed
    steps side by side as alone (the same undone steps, the same stop)."""
    from gaussmix.estimators import batch

    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(60, d)) * rng.uniform(0.3, 2) + rng.normal(size=d) * 3
                   for _ in range(3)])
    params = {"covariance_type": name, "n_init": 3, "random_state": 0, "max_iter": 2000}
    try:
        together = gm.GaussianMixture(k, **params).fit(X)
    except ValueError:  # a collapse: refused alike alone, as the suite tests elsewhere
        return
    rows = batch.BATCH_ROWS
    batch.BATCH_ROWS = 10
    try:
        alone = gm.GaussianMixture(k, **params).fit(X)
    finally:
        batch.BATCH_ROWS = rows
    assert together.n_iter_ == alone.n_iter_
    assert together.lower_bound_ == pytest.approx(alone.lower_bound_, rel=1e-9)
