"""Invariants EM and the estimator must keep, whatever the covariance type or dtype.

The tests are written once, in classes parametrized over ``covariance_type`` (a mixin, as in
hmmlearn), and compare the model against itself under a transformation: one EM step at a time,
weights against repeated rows, translated data, other chunk sizes, float32 against float64.
"""

from __future__ import annotations

import os
import tracemalloc
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import gaussmix as gm
from _helpers import (
    COVARIANCE_TYPES,
    DTYPES,
    FITTED_ARRAYS,
    assert_same_fit,
    full_covariances,
    match_components,
    spread_start,
    three_blobs,
)
from conftest import SEED

GM = gm.GaussianMixture
pytestmark = pytest.mark.usefixtures("single_blas_thread")
N_COMPONENTS = 3


@pytest.fixture
def X(rng):
    return three_blobs(rng)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
class TestEMInvariants:
    """Properties of the EM iterations themselves."""

    @pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
    def test_em_never_decreases_the_log_likelihood(self, X, rng, covariance_type):
        """One iteration per ``fit`` with ``warm_start``: the likelihood of the parameters never
        goes down. ``reg_covar=0`` makes each M-step the exact maximiser (with ``reg_covar > 0``
        EM maximises a penalised likelihood instead)."""
        start = spread_start(X, N_COMPONENTS, covariance_type, rng)
        model = GM(
            N_COMPONENTS,
            covariance_type=covariance_type,
            reg_covar=0.0,
            max_iter=1,
            tol=0,
            warm_start=True,
            **start,
        )
        scores, bounds = [], []
        for _ in range(40):
            model.fit(X)
            bounds.append(model.lower_bound_)
            scores.append(model.score(X))
        assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))
        assert np.all(np.diff(scores) >= -1e-12 * np.abs(scores[1:]))
        # the lower bound of a step is the log-likelihood of the parameters it started from
        assert_allclose(bounds[1:], scores[:-1], rtol=1e-12)
        assert scores[-1] > scores[0] + 0.1  # it did move

    def test_lower_bounds_history_never_decreases(self, X, covariance_type):
        model = GM(
            N_COMPONENTS, covariance_type=covariance_type, reg_covar=0.0, tol=1e-10, max_iter=500
        ).fit(X)
        history = np.asarray(model.lower_bounds_)
        assert np.all(np.diff(history) >= -1e-12 * np.abs(history[1:]))

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_responsibilities_sum_to_one(self, X, rng, covariance_type, dtype):
        model = GM(N_COMPONENTS, covariance_type=covariance_type).fit(X.astype(dtype))
        query = np.vstack([X, rng.normal(0, 20, size=(100, X.shape[1]))]).astype(dtype)
        proba = model.predict_proba(query)
        assert proba.shape == (len(query), N_COMPONENTS) and proba.dtype == dtype
        assert np.all((proba >= 0) & (proba <= 1))
        assert_allclose(proba.sum(axis=1), 1.0, rtol=10 * np.finfo(dtype).eps * N_COMPONENTS)

    def test_predict_is_the_argmax_of_predict_proba(self, X, rng, covariance_type):
        model = GM(N_COMPONENTS, covariance_type=covariance_type).fit(X)
        query = np.vstack([X, rng.normal(0, 5, size=(200, X.shape[1]))])
        labels = model.predict(query)
        assert labels.dtype.kind == "i"
        assert_array_equal(labels, model.predict_proba(query).argmax(axis=1))

    @pytest.mark.parametrize("init_params", ["hierarchical", "kmeans", "random"])
    def test_fit_predict_equals_fit_then_predict(self, X, covariance_type, init_params):
        params = {
            "covariance_type": covariance_type,
            "init_params": init_params,
            "random_state": SEED,
            "max_iter": 300,
        }
        labels = GM(N_COMPONENTS, **params).fit_predict(X)
        assert_array_equal(labels, GM(N_COMPONENTS, **params).fit(X).predict(X))
        # also when EM stops early: the labels must come from the final parameters
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params["max_iter"] = 2
            assert_array_equal(
                GM(N_COMPONENTS, **params).fit_predict(X),
                GM(N_COMPONENTS, **params).fit(X).predict(X),
            )

    @pytest.mark.parametrize(
        "init_params", ["hierarchical", "kmeans", "k-means++", "random", "random_from_data"]
    )
    def test_same_random_state_gives_the_same_fit(self, X, covariance_type, init_params):
        # (n_init > 1 with the default start runs the emEM search: covered, cheaper, below)
        n_init = 1 if init_params == "hierarchical" else 2
        params = {
            "covariance_type": covariance_type,
            "init_params": init_params,
            "n_init": n_init,
            "max_iter": 20,
            "tol": 1e-6,
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = GM(N_COMPONENTS, random_state=SEED, **params).fit(X)
            b = GM(N_COMPONENTS, random_state=SEED, **params).fit(X)
        for name in FITTED_ARRAYS:
            assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert a.lower_bounds_ == b.lower_bounds_


def test_same_random_state_gives_the_same_default_n_init_search(X):
    params = {"covariance_type": "diag", "n_init": 3, "max_iter": 20, "tol": 1e-6}
    a = GM(N_COMPONENTS, random_state=SEED, **params).fit(X)
    b = GM(N_COMPONENTS, random_state=SEED, **params).fit(X)
    for name in FITTED_ARRAYS:
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.lower_bounds_ == b.lower_bounds_
    single = GM(N_COMPONENTS, covariance_type="diag", max_iter=20, tol=1e-6).fit(X)
    assert a.lower_bound_ >= single.lower_bound_ - 1e-12  # more starts never do worse


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
class TestParameterRecovery:
    """Data drawn from known parameters (``from_parameters(...).sample``) gives them back."""

    TRUE_MEANS = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 2.0], [0.0, 7.0, -3.0], [-6.0, -4.0, 3.0]])
    TRUE_WEIGHTS = np.array([0.1, 0.2, 0.3, 0.4])

    def _truth(self, covariance_type, rng):
        k, d = self.TRUE_MEANS.shape
        if covariance_type == "full":
            a = rng.normal(size=(k, d, d)) * 0.5
            covariances = a @ a.transpose(0, 2, 1) + 0.5 * np.eye(d)
        elif covariance_type == "tied":
            a = rng.normal(size=(d, d)) * 0.5
            covariances = a @ a.T + 0.5 * np.eye(d)
        elif covariance_type == "diag":
            covariances = rng.uniform(0.3, 2.0, size=(k, d))
        else:
            covariances = rng.uniform(0.3, 2.0, size=k)
        return GM.from_parameters(
            self.TRUE_WEIGHTS,
            self.TRUE_MEANS,
            covariances,
            covariance_type=covariance_type,
            random_state=SEED,
        )

    def test_recovers_generated_parameters_up_to_label_order(self, rng, covariance_type):
        truth = self._truth(covariance_type, rng)
        X, y = truth.sample(8000)
        model = GM(4, covariance_type=covariance_type, random_state=SEED).fit(X)
        assert model.converged_
        order = match_components(model.means_, truth.means_)
        assert sorted(order) == [0, 1, 2, 3]
        assert_allclose(model.weights_[order], truth.weights_, atol=0.02)
        assert_allclose(model.means_[order], truth.means_, atol=0.15)
        k, d = truth.means_.shape
        got = full_covariances(model.covariances_, covariance_type, k, d)
        want = full_covariances(truth.covariances_, covariance_type, k, d)
        if covariance_type != "tied":
            got = got[order]
        assert_allclose(got, want, atol=0.15 * np.max(np.abs(want)))
        # the fitted labels agree with the generating components (up to the same permutation)
        agreement = np.mean(order[y] == model.predict(X))
        assert agreement > 0.97
        # and the fit is at least as likely as the truth on its own training data
        assert model.score(X) >= truth.score(X) - 1e-9


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
class TestTransformations:
    """The same fit seen through a change that must not matter (or must matter exactly)."""

    def test_float32_stays_float32_and_is_close_to_float64(self, X, covariance_type):
        m64 = GM(N_COMPONENTS, covariance_type=covariance_type).fit(X)
        X32 = X.astype(np.float32)
        m32 = GM(N_COMPONENTS, covariance_type=covariance_type).fit(X32)
        for name in FITTED_ARRAYS:
            assert getattr(m32, name).dtype == np.float32, name
            assert getattr(m64, name).dtype == np.float64, name
        assert m32.predict_proba(X32).dtype == np.float32
        assert m32.score_samples(X32).dtype == np.float32
        assert m32.sample(5)[0].dtype == np.float32
        assert isinstance(m32.lower_bound_, float)
        assert abs(m32.lower_bound_ - m64.lower_bound_) < 1e-4
        assert_same_fit(m32, m64, rtol=1e-3, atol=1e-5)
        assert_allclose(m32.score(X32), m64.score(X), atol=1e-4)

    @pytest.mark.parametrize("init", ["same-start", "hierarchical"])
    def test_integer_sample_weights_equal_repeated_rows(self, X, rng, covariance_type, init):
        weights = rng.integers(0, 4, size=len(X))
        repeated = np.repeat(X, weights, axis=0)
        start = spread_start(X, N_COMPONENTS, covariance_type, rng) if init == "same-start" else {}
        params = dict(covariance_type=covariance_type, max_iter=30, tol=0, **start)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            weighted = GM(N_COMPONENTS, **params).fit(X, sample_weight=weights)
            copies = GM(N_COMPONENTS, **params).fit(repeated)
        assert_same_fit(weighted, copies, rtol=1e-10, atol=1e-12)
        assert_allclose(weighted.lower_bounds_, copies.lower_bounds_, rtol=1e-10)

    def test_scaling_all_sample_weights_changes_nothing(self, X, rng, covariance_type):
        weights = rng.uniform(0.1, 2.0, size=len(X))
        params = {"covariance_type": covariance_type, "max_iter": 20, "tol": 0}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = GM(N_COMPONENTS, **params).fit(X, sample_weight=weights)
            b = GM(N_COMPONENTS, **params).fit(X, sample_weight=weights * 37.5)
            c = GM(N_COMPONENTS, **params).fit(X, sample_weight=np.ones(len(X)))
            d = GM(N_COMPONENTS, **params).fit(X)
        assert_same_fit(a, b, rtol=1e-10, atol=1e-12)
        assert_same_fit(c, d, rtol=1e-12, atol=1e-14)
        assert c.lower_bounds_ == d.lower_bounds_ or np.allclose(
            c.lower_bounds_, d.lower_bounds_, rtol=1e-13
        )

    @pytest.mark.parametrize("init", ["same-start", "hierarchical"])
    def test_means_are_translation_equivariant(self, X, rng, covariance_type, init):
        offset = np.array([12.5, -40.0, 7.0])
        start = spread_start(X, N_COMPONENTS, covariance_type, rng) if init == "same-start" else {}
        moved_start = dict(start, means_init=start["means_init"] + offset) if start else {}
        base = GM(N_COMPONENTS, covariance_type=covariance_type, **start).fit(X)
        moved = GM(N_COMPONENTS, covariance_type=covariance_type, **moved_start).fit(X + offset)
        assert moved.n_iter_ == base.n_iter_
        assert_allclose(moved.means_, base.means_ + offset, rtol=1e-9, atol=1e-9)
        assert_allclose(moved.covariances_, base.covariances_, rtol=1e-8)
        assert_allclose(moved.weights_, base.weights_, rtol=1e-9)
        assert_allclose(moved.lower_bound_, base.lower_bound_, rtol=1e-10)
        assert_array_equal(moved.predict(X + offset), base.predict(X))

    @pytest.mark.parametrize("chunk_size", [1, 7, 64, 10**6])
    def test_chunk_size_does_not_change_the_fit(self, X, rng, covariance_type, chunk_size):
        start = spread_start(X, N_COMPONENTS, covariance_type, rng)
        params = dict(covariance_type=covariance_type, max_iter=10, tol=0, **start)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            default = GM(N_COMPONENTS, **params).fit(X)
            chunked = GM(N_COMPONENTS, chunk_size=chunk_size, **params).fit(X)
        assert_same_fit(chunked, default, rtol=1e-11, atol=1e-13)
        assert_allclose(chunked.lower_bounds_, default.lower_bounds_, rtol=1e-12)
        assert_allclose(chunked.score_samples(X), default.score_samples(X), rtol=1e-12)
        assert_allclose(chunked.predict_proba(X), default.predict_proba(X), atol=1e-12)

    @pytest.mark.parametrize("n_threads", [2, 3])
    def test_n_threads_does_not_change_the_fit(self, X, rng, covariance_type, n_threads):
        start = spread_start(X, N_COMPONENTS, covariance_type, rng)
        params = {"covariance_type": covariance_type, "max_iter": 10, "tol": 0, "chunk_size": 50}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            one = GM(N_COMPONENTS, n_threads=1, **params, **start).fit(X)
            many = GM(N_COMPONENTS, n_threads=n_threads, **params, **start).fit(X)
        assert_same_fit(many, one, rtol=1e-11, atol=1e-13)
        assert_allclose(many.lower_bounds_, one.lower_bounds_, rtol=1e-12)

    def test_row_order_does_not_change_the_default_fit(self, X, rng, covariance_type):
        perm = rng.permutation(len(X))
        a = GM(N_COMPONENTS, covariance_type=covariance_type).fit(X)
        b = GM(N_COMPONENTS, covariance_type=covariance_type).fit(X[perm])
        assert_same_fit(a, b, rtol=1e-9, atol=1e-12)
        assert_array_equal(a.predict(X)[perm], b.predict(X[perm]))


# ---------------------------------------------------------------------- memory
SLOW = os.environ.get("GAUSSMIX_SLOW") == "1"


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "init_params", ["hierarchical", "kmeans", "k-means++", "random", "random_from_data", "given"]
)
def test_fit_never_allocates_an_n_samples_by_n_components_array(init_params):
    """Doubling n_samples adds far less memory than one n_samples x K float64 array (512 bytes
    per row at K=64): memory is O(chunk x K) plus O(n_samples) for the input-sized work.

    Peak traced memory of a whole fit (start + 1 EM iteration); 20k -> 40k rows by default.
    ``GAUSSMIX_SLOW=1`` runs 200k -> 400k rows and also bounds the peak itself.
    """
    n_samples, n_components = (200_000 if SLOW else 20_000), 64
    rng = np.random.default_rng(SEED)
    centres = rng.uniform(-50, 50, size=(n_components, 4))
    X = centres[rng.integers(0, n_components, 2 * n_samples)] + rng.normal(size=(2 * n_samples, 4))
    start = {}
    if init_params == "given":
        start = {
            "means_init": X[:n_components],
            "weights_init": np.full(n_components, 1 / n_components),
            "precisions_init": np.ones((n_components, 4)),
        }

    def peak(rows):
        model = GM(
            n_components,
            covariance_type="diag",
            max_iter=1,
            tol=0,
            random_state=SEED,
            init_params="random" if start else init_params,
            # One E-step thread: with two, whether both per-thread workspaces (each O(chunk x K))
            # are alive at the same moment depends on scheduling, which made the peak flaky.
            n_threads=1,
            **start,
        )
        return _peak_bytes(lambda: model.fit(X[:rows]))

    small, large = peak(n_samples), peak(2 * n_samples)
    print(
        f"peak traced memory: {small / 1e6:.1f} MB at {n_samples} rows, {large / 1e6:.1f} MB at "
        f"{2 * n_samples}; one n_samples x K array: {n_samples * n_components * 8 / 1e6:.1f} MB"
    )
    nk_bytes = n_samples * n_components * 8
    assert large - small < 0.25 * nk_bytes, (small, large, nk_bytes)
    if SLOW:
        # the default start also holds a fixed Ward distance matrix on (at most) 2,000 rows
        fixed = 2000**2 * 8 if init_params == "hierarchical" else 0
        assert large - fixed < 0.15 * 2 * nk_bytes, (large, 2 * nk_bytes)


@pytest.mark.parametrize(
    "layout",
    ["fortran", "row-strided", "column-strided", "list", "dataframe", "float32-readonly"],
)
def test_memory_layout_of_the_input_does_not_change_the_fit(X, layout):
    if layout == "float32-readonly":
        X = X.astype(np.float32)
    base = GM(N_COMPONENTS).fit(X)
    if layout == "fortran":
        Z = np.asfortranarray(X)
    elif layout == "row-strided":
        Z = np.repeat(X, 2, axis=0)[::2]
    elif layout == "column-strided":
        Z = np.repeat(X, 2, axis=1)[:, ::2]
    elif layout == "list":
        Z = X.tolist()
    elif layout == "dataframe":
        import pandas as pd

        Z = pd.DataFrame(X, columns=["a", "b", "c"])
    else:
        Z = X.copy()
        Z.flags.writeable = False
    model = GM(N_COMPONENTS).fit(Z)
    assert_same_fit(model, base, rtol=1e-12, atol=1e-14)
    assert_array_equal(model.predict(Z), base.predict(X))
    assert_allclose(model.score_samples(Z), base.score_samples(X), rtol=1e-12)
