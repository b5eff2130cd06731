"""A batch's M-step takes every mixture under one covariance model in one call
(``stacking.estimate_segments``; the coupled models' ``estimate_mixtures`` over
``StackedMixtures``): whatever the numbers of components, their order and the previous
covariances, each mixture gets exactly what its own M-step gives."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from _helpers import moments_of
from gaussmix.engine import covariance
from gaussmix.engine.covariance import stacking
from gaussmix.engine.covariance.mixtures import MixturesTogether, StackedMixtures

MODELS = covariance.names()


@given(st.lists(st.integers(1, 6), min_size=1, max_size=6), st.integers(0, 2**32 - 1))
def test_sums_and_spreads_follow_each_mixture(sizes, seed):
    values = np.random.default_rng(seed).normal(size=(sum(sizes), 3))
    mixtures = StackedMixtures.of(sizes)
    ends = np.cumsum(sizes)
    own = np.split(values, ends[:-1])
    assert_allclose(mixtures.total(values), [part.sum(axis=0) for part in own])
    assert_allclose(mixtures.largest(values), [part.max(axis=0) for part in own])
    per_mixture = np.arange(len(sizes), dtype=float)
    assert mixtures.spread(per_mixture).tolist() == np.repeat(per_mixture, sizes).tolist()
    assert mixtures.position.tolist() == [j for size in sizes for j in range(size)]


def _moments(rng, k, d, model):
    """Sample covariances in ``model``'s layout and weight sums of ``k`` components from random
    responsibilities on random rows (some components nearly empty)."""
    X = rng.normal(size=(40, d)) @ rng.normal(size=(d, d))
    resp = rng.dirichlet(np.full(k, 0.3), len(X)) + 1e-3 / 40
    return moments_of(resp, X, model)


@pytest.mark.parametrize("name", MODELS)
@settings(max_examples=15, deadline=None)
@given(sizes=st.lists(st.integers(1, 5), min_size=1, max_size=5), d=st.integers(1, 4),
       warm=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_each_mixture_of_a_batch_gets_its_own_m_step(name, sizes, d, warm, seed):
    model = covariance.get(name)
    rng = np.random.default_rng(seed)
    moments = [_moments(rng, k, d, model) for k in sizes]
    # a warm step starts from the covariances of other moments (an EM iteration before)
    starts = [model.estimate(*_moments(rng, k, d, model)[:1], nk, 1e-6) if warm else None
              for k, (_, nk) in zip(sizes, moments)]
    alone = [model.estimate(sample.copy(), nk, 1e-6, start)
             for (sample, nk), start in zip(moments, starts)]
    lead = (lambda a: a[None]) if model.shared else (lambda a: a)
    segments = [(model, 1, k, 1e-6, lead(start) if warm and not model.stackable else None)
                for k, start in zip(sizes, starts)]
    together = stacking.estimate_segments(
        segments, [lead(sample.copy()) for sample, _ in moments],
        np.concatenate([nk for _, nk in moments]))
    for got, want in zip(together, alone):
        assert_allclose(got, lead(want), rtol=1e-8, atol=1e-12 * np.abs(want).max())


def test_the_coupled_models_take_stacked_mixtures():
    """The models whose components share a volume, shape or orientation are the ones whose
    M-step is written for stacked mixtures (one call per model in a batch)."""
    coupled = {name for name in MODELS if not covariance.get(name).stackable
               and not covariance.get(name).shared}
    together = {name for name in MODELS if isinstance(covariance.get(name), MixturesTogether)}
    assert together == coupled
