"""Out-of-core fitting of memory-mapped arrays: same answer as in memory, bounded memory."""

import os
import tracemalloc
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import gaussmix as gm
from _helpers import COVARIANCE_TYPES
from conftest import SEED

SLOW = os.environ.get("GAUSSMIX_SLOW") == "1"


def write_mixture_file(path, n_samples, n_features=4, dtype=np.float64, seed=SEED, block=50_000):
    """Three well separated blobs written block by block into a ``.npy`` file; returns the memmap."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(n_samples, n_features))
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0] * n_features, [6.0] * n_features, [-6.0, 6.0] * (n_features // 2)])
    for start in range(0, n_samples, block):
        stop = min(start + block, n_samples)
        labels = rng.integers(0, 3, stop - start)
        out[start:stop] = centres[labels] + rng.standard_normal((stop - start, n_features))
    out.flush()
    del out
    return np.load(path, mmap_mode="r")


def fitted(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fixed max_iter: convergence is not the point here
        params = {"random_state": 0, "max_iter": 8, "tol": 0, **params}
        return gm.GaussianMixture(3, **params).fit(X)


def assert_same_model(a, b):
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.lower_bound_ == b.lower_bound_
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_memmap_fit_equals_in_memory_fit(tmp_path, covariance_type, dtype):
    # 12,000 rows: above the 2,000-row subsample of the default (hierarchical) start.
    mm = write_mixture_file(tmp_path / "x.npy", 12_000, dtype=dtype)
    assert isinstance(mm, np.memmap)
    a = fitted(np.array(mm), covariance_type=covariance_type)
    b = fitted(mm, covariance_type=covariance_type)
    assert_same_model(a, b)
    assert b.means_.dtype == dtype


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_memmap_fit_equals_in_memory_fit_for_every_start(tmp_path, init_params):
    mm = write_mixture_file(tmp_path / "x.npy", 6_000)
    assert_same_model(fitted(np.array(mm), init_params=init_params), fitted(mm, init_params=init_params))


def test_memmap_fit_with_several_starts_equals_in_memory_fit(tmp_path):
    mm = write_mixture_file(tmp_path / "x.npy", 2_500)
    assert_same_model(fitted(np.array(mm), n_init=2), fitted(mm, n_init=2))


def test_memmap_fit_with_sample_weight_equals_in_memory_fit(tmp_path):
    mm = write_mixture_file(tmp_path / "x.npy", 5_000)
    w = np.random.default_rng(SEED).integers(0, 4, len(mm)).astype(float)
    a = gm.GaussianMixture(3, random_state=0).fit(np.array(mm), sample_weight=w)
    b = gm.GaussianMixture(3, random_state=0).fit(mm, sample_weight=w)
    assert_same_model(a, b)


def test_memmap_predict_and_score_match_in_memory(tmp_path):
    mm = write_mixture_file(tmp_path / "x.npy", 4_000)
    model = fitted(mm)
    X = np.array(mm)
    assert_array_equal(model.predict(mm), model.predict(X))
    assert_array_equal(model.score_samples(mm), model.score_samples(X))
    assert model.score(mm) == model.score(X)
    assert model.bic(mm) == model.bic(X)


def test_memmap_warm_start_continues(tmp_path):
    mm = write_mixture_file(tmp_path / "x.npy", 4_000)
    model = gm.GaussianMixture(3, random_state=0, max_iter=2, tol=0, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = model.fit(mm).lower_bound_
        second = model.fit(mm).lower_bound_
    assert second >= first - 1e-12  # EM never decreases the likelihood


def test_memmap_with_nan_names_the_row(tmp_path):
    path = tmp_path / "x.npy"
    write_mixture_file(path, 150_000)
    rw = np.load(path, mmap_mode="r+")
    rw[123_457, 2] = np.nan
    rw.flush()
    del rw
    mm = np.load(path, mmap_mode="r")
    with pytest.raises(ValueError, match="NaN or infinity in row 123457"):
        gm.GaussianMixture(3).fit(mm)


def test_memmap_with_inf_names_the_row(tmp_path):
    path = tmp_path / "x.npy"
    write_mixture_file(path, 1_000)
    rw = np.load(path, mmap_mode="r+")
    rw[7, 0] = -np.inf
    rw.flush()
    del rw
    with pytest.raises(ValueError, match="row 7;"):
        gm.GaussianMixture(3).fit(np.load(path, mmap_mode="r"))


def test_integer_memmap_is_refused_with_advice(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(200, dtype=np.int16).reshape(100, 2))
    with pytest.raises(TypeError, match="float32 or float64.*Convert the file once"):
        gm.GaussianMixture(2).fit(np.load(path, mmap_mode="r"))


def test_memmap_of_wrong_shape_is_refused(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros(100))
    with pytest.raises(ValueError, match="Expected a 2-D X"):
        gm.GaussianMixture(2).fit(np.load(path, mmap_mode="r"))
    np.save(path, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="n_samples >= max"):
        gm.GaussianMixture(3).fit(np.load(path, mmap_mode="r"))


def test_memmap_warm_start_with_other_feature_count_is_refused(tmp_path):
    model = fitted(write_mixture_file(tmp_path / "a.npy", 1_000, n_features=4))
    model.set_params(warm_start=True)
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is expecting 4"):
        model.fit(write_mixture_file(tmp_path / "b.npy", 1_000, n_features=2))


def _peak_fit_bytes(X, **params):
    """Peak of NumPy/Python allocations during a fit (tracemalloc), excluding the file itself.

    Process RSS would count the file's pages in the page cache, which the kernel may drop at any
    time; what must stay bounded is the memory the fit allocates.
    """
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fitted(X, **params)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
@pytest.mark.parametrize("start", ["given", "random"])
def test_streaming_fit_memory_does_not_grow_with_the_file(tmp_path, start):
    # Default: 200,000 and 800,000 rows (6.4 and 25.6 MB: several times every chunk size, so
    # that chunked work is at its full size already in the small file); GAUSSMIX_SLOW=1: 1M and
    # 4M rows (up to 128 MB of float32 file).
    small_n = 1_000_000 if SLOW else 200_000
    n_features = 8
    small = write_mixture_file(tmp_path / "s.npy", small_n, n_features, np.float32)
    big = write_mixture_file(tmp_path / "b.npy", 4 * small_n, n_features, np.float32)
    if start == "given":  # the EM loop alone
        params = {
            "weights_init": np.full(3, 1 / 3),
            "means_init": np.array([[0.0] * 8, [6.0] * 8, [-6.0, 6.0] * 4]),
            "precisions_init": np.stack([np.eye(8)] * 3),
        }
    else:  # an initialisation that reads every row too, chunk by chunk
        params = {"init_params": "random"}
    params["max_iter"] = 2  # the peak is reached in the first iteration
    # One E-step thread: with two, whether both chunk workspaces are alive at the peak depends on
    # scheduling (~1 MB either way), which is noise next to what this test looks for.
    params["n_threads"] = 1
    peak_small = _peak_fit_bytes(small, **params)
    peak_big = _peak_fit_bytes(big, **params)
    growth = peak_big - peak_small
    file_growth = big.nbytes - small.nbytes
    print(f"peak {peak_small / 1e6:.2f} -> {peak_big / 1e6:.2f} MB, file +{file_growth / 1e6:.1f} MB")
    # A copy of the file would grow by file_growth (float64: twice that); an index array over
    # all rows by a quarter of it. Allow only allocator noise.
    assert growth < 0.02 * file_growth + 256 * 1024


def test_memmap_with_fewer_positive_weights_than_components_is_refused(tmp_path):
    # As with repeated rows: 2 weighted points cannot hold 3 components (regression: the memmap
    # path skipped the check the in-memory path makes).
    X = write_mixture_file(tmp_path / "x.npy", 500)
    weights = np.zeros(500)
    weights[:2] = 1.0
    with pytest.raises(ValueError, match="Only 2 rows have a positive sample_weight"):
        gm.GaussianMixture(3).fit(X, sample_weight=weights)
