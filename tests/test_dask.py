"""Dask arrays: EM on the workers gives the in-memory fit; predictions are lazy."""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import gaussmix as gm
from _helpers import COVARIANCE_TYPES
from conftest import SEED

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

PARAMS = ("weights_", "means_", "covariances_", "precisions_cholesky_")


@pytest.fixture(scope="module")
def client():
    """A real cluster of two worker processes, started once for this module (it takes seconds)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "Port 8787 is already in use"
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=40,
        )
    client = distributed.Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()


def blobs(n_samples, n_features=3, seed=SEED):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [5.0, 1.0, -1.0], [-2.0, 5.0, 2.0]])[:, :n_features]
    labels = rng.integers(0, 3, n_samples)
    return centres[labels] + rng.standard_normal((n_samples, n_features)) * [1.0, 0.7, 1.3][:n_features]


def same_start(X, covariance_type):
    """weights_init, means_init, precisions_init of a rough fit: a start shared by both fits."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rough = gm.GaussianMixture(3, covariance_type=covariance_type, random_state=0,
                                   max_iter=2).fit(X[:500])
    return {"weights_init": rough.weights_, "means_init": rough.means_,
            "precisions_init": rough.precisions_}


def fit(X, covariance_type="full", max_iter=15, sample_weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fixed max_iter, tol=0: no convergence expected
        return gm.GaussianMixture(3, covariance_type=covariance_type, tol=0, max_iter=max_iter,
                                  random_state=0, **params).fit(X, sample_weight=sample_weight)


def assert_same_fit(a, b, rtol=1e-9):
    """Same lower bounds to ``rtol``; parameters equal up to the rounding of their dtype."""
    assert b.lower_bound_ == pytest.approx(a.lower_bound_, rel=rtol, abs=0)
    assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=rtol)
    tol = 1e-7 if a.means_.dtype == np.float64 else 2e-5
    for name in PARAMS:
        assert_allclose(getattr(b, name), getattr(a, name), rtol=tol, atol=tol, err_msg=name)
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_local_cluster_fit_equals_in_memory_fit(client, covariance_type):
    X = blobs(12_000)
    start = same_start(X, covariance_type)
    reference = fit(X, covariance_type, **start)
    # The rows live on the workers; only statistics come back to the client.
    Xd = client.persist(da.from_array(X, chunks=(1_500, 3)))
    with distributed.get_task_stream(client) as tasks, dask.config.set(scheduler=client.get):
        model = fit(Xd, covariance_type, **start)
    assert_same_fit(reference, model)
    ran = [t for t in tasks.data if "_block_statistics" in str(t["key"])]
    workers = {w for w in client.scheduler_info()["workers"]}
    assert ran, "the E-step did not run as tasks on the cluster"
    assert {t["worker"] for t in ran} <= workers


def test_local_cluster_with_sample_weight_and_predictions(client):
    X = blobs(9_000)
    w = np.random.default_rng(SEED).integers(0, 3, len(X)).astype(float)
    start = same_start(X, "diag")
    reference = fit(X, "diag", sample_weight=w, **start)
    Xd = client.persist(da.from_array(X, chunks=(2_000, 3)))
    wd = da.from_array(w, chunks=1_000)  # other chunks than X: aligned by the backend
    with dask.config.set(scheduler=client.get):
        model = fit(Xd, "diag", sample_weight=wd, **start)
        labels = model.predict(Xd)
        assert isinstance(labels, da.Array)
        assert_array_equal(labels.compute(), reference.predict(X))
    assert_same_fit(reference, model)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_default_scheduler_fit_equals_in_memory_fit(covariance_type, dtype):
    X = blobs(8_000).astype(dtype)
    start = same_start(X, covariance_type)
    reference = fit(X, covariance_type, **start)
    with dask.config.set(scheduler="threads"):
        model = fit(da.from_array(X, chunks=(1_000, 2)), covariance_type, **start)
    # float32 E-steps round differently in other chunkings: looser, yet far below any EM change.
    assert_same_fit(reference, model, rtol=1e-9 if dtype == np.float64 else 1e-6)
    assert model.means_.dtype == dtype


def test_numpy_sample_weight_equals_in_memory():
    X = blobs(5_000)
    w = np.random.default_rng(SEED).random(len(X))
    start = same_start(X, "full")
    with dask.config.set(scheduler="threads"):
        model = fit(da.from_array(X, chunks=1_000), sample_weight=w, **start)
    assert_same_fit(fit(X, sample_weight=w, **start), model)


def test_predictions_are_lazy_and_equal_in_memory_ones():
    X = blobs(5_000).astype(np.float32)
    model = gm.GaussianMixture(3, random_state=0).fit(X)
    Xd = da.from_array(X, chunks=(1_200, 3))
    with dask.config.set(scheduler="threads"):
        for method in ("predict", "predict_proba", "score_samples"):
            lazy = getattr(model, method)(Xd)
            assert isinstance(lazy, da.Array), method
            eager = getattr(model, method)(X)
            assert lazy.dtype == eager.dtype and lazy.shape == eager.shape, method
            assert_allclose(lazy.compute(), eager, rtol=1e-6, err_msg=method)
        assert model.score(Xd) == pytest.approx(model.score(X), rel=1e-6)
        assert model.bic(Xd) == pytest.approx(model.bic(X), rel=1e-6)
        labels = gm.GaussianMixture(3, random_state=0).fit_predict(Xd)
        assert isinstance(labels, da.Array)


def test_prediction_is_a_snapshot_of_the_model():
    X = blobs(2_000)
    model = gm.GaussianMixture(3, random_state=0).fit(X)
    lazy = model.predict_proba(da.from_array(X, chunks=500))
    expected = model.predict_proba(X)
    model.fit(X[:300] * 5)  # refitting later does not change the pending result
    with dask.config.set(scheduler="threads"):
        assert_allclose(lazy.compute(), expected)


def test_default_start_on_dask_fits_as_well_as_in_memory():
    # The start is drawn from a sample pulled to the client, so it is not the in-memory start;
    # on well separated data both reach the same optimum.
    X = blobs(20_000)
    with dask.config.set(scheduler="threads"):
        model = gm.GaussianMixture(3, random_state=0).fit(da.from_array(X, chunks=4_000))
    reference = gm.GaussianMixture(3, random_state=0).fit(X)
    assert model.converged_
    assert model.lower_bound_ == pytest.approx(reference.lower_bound_, rel=1e-4)
    order_a, order_b = np.argsort(model.means_[:, 0]), np.argsort(reference.means_[:, 0])
    assert_allclose(model.means_[order_a], reference.means_[order_b], atol=1e-2)


def test_multi_column_chunks_and_integer_arrays_are_accepted():
    X = np.round(blobs(3_000) * 10).astype(np.int64)
    start = same_start(X.astype(float), "full")
    with dask.config.set(scheduler="threads"):
        model = fit(da.from_array(X, chunks=(700, 1)), **start)
    assert_same_fit(fit(X, **start), model)


def test_float16_dask_array_is_fitted_in_float64_as_in_memory():
    X = blobs(2_000).astype(np.float16)
    start = same_start(X.astype(float), "diag")
    with dask.config.set(scheduler="threads"):
        model = fit(da.from_array(X, chunks=500), "diag", **start)
        assert model.predict_proba(da.from_array(X, chunks=500)).dtype == np.float64
    assert model.means_.dtype == np.float64
    assert_same_fit(fit(X, "diag", **start), model)


def test_nan_in_a_dask_array_names_the_row():
    X = blobs(3_000)
    X[2_345, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity in row 2345"):
        gm.GaussianMixture(3).fit(da.from_array(X, chunks=1_000))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sample_weight_limits_follow_the_data_dtype_as_in_memory(dtype):
    """Weights above the data dtype's limit, or summing to too little, are refused on Dask
    exactly as in memory (the same message), whether the weights are NumPy or Dask arrays; the
    largest accepted weight fits."""
    from gaussmix.engine.validation import MAX_SAMPLE_WEIGHT, MIN_TOTAL_SAMPLE_WEIGHT

    X = blobs(600).astype(dtype)
    Xd = da.from_array(X, chunks=250)
    limit = MAX_SAMPLE_WEIGHT[np.dtype(dtype)]
    big = np.ones(len(X))
    big[7] = limit * 10
    tiny = np.full(len(X), MIN_TOTAL_SAMPLE_WEIGHT / len(X) / 10)
    for w in (big, tiny):
        with pytest.raises(ValueError) as in_memory:
            gm.GaussianMixture(3, random_state=0).fit(X, sample_weight=w)
        for weights in (w, da.from_array(w, chunks=250)):
            with pytest.raises(ValueError) as on_dask:
                gm.GaussianMixture(3, random_state=0).fit(Xd, sample_weight=weights)
            assert str(on_dask.value) == str(in_memory.value)
    fine = np.ones(len(X))
    fine[7] = limit
    model = gm.GaussianMixture(3, random_state=0, max_iter=3).fit(Xd, sample_weight=fine)
    assert np.isfinite(model.means_).all()


def test_bad_dask_inputs_are_refused():
    Xd = da.from_array(blobs(1_000), chunks=300)
    model = gm.GaussianMixture(3)
    with pytest.raises(ValueError, match="unknown chunk sizes.*compute_chunk_sizes"):
        model.fit(Xd[Xd[:, 0] > 0])
    with pytest.raises(ValueError, match="Expected a 2-D X"):
        model.fit(Xd[:, 0])
    with pytest.raises(ValueError, match="n_samples >= max"):
        gm.GaussianMixture(5).fit(Xd[:4])
    with pytest.raises(TypeError, match="dtype complex128"):
        model.fit(Xd.astype(complex))
    with pytest.raises(ValueError, match="sample_weight must be 1-D with one entry per row"):
        model.fit(Xd, sample_weight=da.ones(10))
    with pytest.raises(ValueError, match="non-negative"):
        model.fit(Xd, sample_weight=-da.ones(1_000))
    with pytest.raises(TypeError, match="partial_fit takes in-memory batches"):
        model.partial_fit(Xd)
    fitted = gm.GaussianMixture(3, random_state=0).fit(blobs(1_000))
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is expecting 3"):
        fitted.predict(Xd[:, :2])


def test_dask_dataframe_gets_a_hint():
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    frame = dd.from_pandas(pd.DataFrame(blobs(100), columns=list("abc")), npartitions=2)
    with pytest.raises(TypeError, match="to_dask_array\\(lengths=True\\)"):
        gm.GaussianMixture(2).fit(frame)


def test_gaussmix_works_without_dask_installed(tmp_path):
    # Block every dask import: fitting in memory, memmaps and partial_fit must not need it.
    script = textwrap.dedent(
        f"""
        import sys, importlib.abc

        class NoDask(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "dask" or name.startswith(("dask.", "distributed")):
                    raise ImportError("dask is not installed (blocked by the test)")

        sys.meta_path.insert(0, NoDask())
        import numpy as np
        import gaussmix as gm

        rng = np.random.default_rng({SEED})
        X = np.vstack([rng.normal(-3, 1, (300, 2)), rng.normal(3, 1, (300, 2))])
        np.save(r"{tmp_path / 'x.npy'}", X)
        gm.GaussianMixture(2, random_state=0).fit(X).predict(X)
        gm.GaussianMixture(2, random_state=0).fit(np.load(r"{tmp_path / 'x.npy'}", mmap_mode="r"))
        gm.GaussianMixture(2, random_state=0).partial_fit(X[:300]).partial_fit(X[300:])
        assert not any(m == "dask" or m.startswith("dask.") for m in sys.modules)
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


@pytest.mark.parametrize("n_rows", [50, 10_000, 3_000_000_000])
def test_init_sample_rows_are_distinct_uniform_and_cheap(n_rows):
    # Starts (Dask, memmap, in memory) draw their sample without an index array over all rows
    # (3e9 rows would need 24 GB for RandomState.choice).
    from gaussmix.engine.starts import sample_rows

    n_sample = min(n_rows, 2_000)
    rows = sample_rows(n_rows, n_sample, np.random.RandomState(SEED))
    assert len(rows) == n_sample == len(np.unique(rows))
    assert np.all(np.diff(rows) > 0) and rows[0] >= 0 and rows[-1] < n_rows
    if n_rows > n_sample:  # uniform: mean and spread of a uniform sample
        assert abs(rows.mean() / n_rows - 0.5) < 4 * np.sqrt(1 / 12 / n_sample)
        assert abs(rows.std() / n_rows - np.sqrt(1 / 12)) < 0.02


def test_dask_fit_with_fewer_positive_weights_than_components_is_refused():
    # Regression: the Dask path skipped the positive-weight count the in-memory path makes.
    X = da.from_array(blobs(300), chunks=(100, 3))
    weights = np.zeros(300)
    weights[:2] = 1.0
    for w in (weights, da.from_array(weights, chunks=100)):
        with pytest.raises(ValueError, match="Only 2 rows have a positive sample_weight"):
            gm.GaussianMixture(3).fit(X, sample_weight=w)


@pytest.mark.parametrize("estimator", [gm.StudentMixture, gm.GaussianMixture])
def test_families_and_the_noise_component_fit_on_workers_as_in_memory(client, estimator):
    """The family's extra sums (a Student-t's degrees of freedom) and the noise component's
    responsibilities travel in the statistics' extras, so the workers' fit is the in-memory
    one; the noise box is read from the workers too."""
    rng = np.random.default_rng(SEED)
    X = np.vstack([blobs(6_000), rng.uniform(-30, 30, (300, 3))])
    start = same_start(X, "full")
    params = {"n_components": 3, "tol": 0, "max_iter": 10, "noise": True, "random_state": 0,
              **start}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = estimator(**params).fit(X)
        Xd = client.persist(da.from_array(X, chunks=(1_000, 3)))
        with dask.config.set(scheduler=client.get):
            model = estimator(**params).fit(Xd)
            labels = model.predict(Xd).compute()
    assert_allclose(model.lower_bounds_, reference.lower_bounds_, rtol=1e-9)
    assert_allclose(model.means_, reference.means_, rtol=1e-7)
    assert model.noise_log_volume_ == pytest.approx(reference.noise_log_volume_)
    assert_array_equal(labels, reference.predict(X))
    if estimator is gm.StudentMixture:
        assert_allclose(model.dofs_, reference.dofs_, rtol=1e-7)
