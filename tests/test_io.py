"""Model files: exact round trips, and refusal of every kind of bad or hostile file."""

import os
import pickle
import warnings
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import multivariate_normal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

import gaussmix as gm
from _helpers import (
    COVARIANCE_TYPES,
    estimator_id,
    model_file_arrays,
    one_per_estimator,
    set_metadata,
    structured_estimators,
    tampered_model_file,
)
from gaussmix.cli import cli
from gaussmix.io import FORMAT_VERSION, read_model

SEED = 20261125


def _data(n=300, dtype=np.float64):
    rng = np.random.default_rng(SEED)
    X = np.vstack(
        [rng.normal(-3.0, 1.0, (n // 2, 3)), rng.normal(3.0, 2.0, (n - n // 2, 3)) + [0, 5, 0]]
    )
    return X.astype(dtype)


@pytest.fixture(scope="module")
def fitted():
    return gm.GaussianMixture(2, random_state=0).fit(_data())


@pytest.fixture
def model_path(tmp_path, fitted):
    path = tmp_path / "model.npz"
    gm.save(fitted, path)
    return path


# ---------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_loaded_model_predicts_bit_identically(tmp_path, covariance_type, dtype):
    X = _data(dtype=dtype)
    model = gm.GaussianMixture(
        3, covariance_type=covariance_type, n_init=2, random_state=1, tol=1e-4
    ).fit(X)
    path = tmp_path / "m.gmm"  # any name works; nothing is appended
    gm.save(model, path)
    assert os.listdir(tmp_path) == ["m.gmm"]
    loaded = gm.load(path)
    assert type(loaded) is gm.GaussianMixture
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        saved, restored = getattr(model, name), getattr(loaded, name)
        assert restored.dtype == saved.dtype == dtype
        np.testing.assert_array_equal(restored, saved)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(loaded.precisions_, model.precisions_, rtol=rtol)
    assert loaded.get_params() == model.get_params()
    assert (loaded.converged_, loaded.n_iter_) == (model.converged_, model.n_iter_)
    assert loaded.lower_bound_ == model.lower_bound_
    assert loaded.lower_bounds_ == model.lower_bounds_
    assert loaded.n_features_in_ == 3
    # the loaded model keeps working as an estimator: warm start continues from the saved state
    loaded.set_params(warm_start=True, max_iter=200)
    loaded.fit(X)
    assert np.isfinite(loaded.lower_bound_)


def test_model_from_parameters_round_trips(tmp_path):
    truth = gm.GaussianMixture.from_parameters(
        [0.3, 0.7], [[0.0, 0.0], [5.0, 1.0]], [[[1.0, 0.3], [0.3, 2.0]], [[0.5, 0.0], [0.0, 0.5]]]
    )
    gm.save(truth, tmp_path / "truth.npz")
    loaded = gm.load(tmp_path / "truth.npz")
    assert loaded.lower_bound_ == -np.inf and loaded.lower_bounds_ == []
    X = np.random.default_rng(SEED).normal(size=(50, 2)) * 3
    expected = np.log(
        0.3 * multivariate_normal([0, 0], [[1.0, 0.3], [0.3, 2.0]]).pdf(X)
        + 0.7 * multivariate_normal([5, 1], [[0.5, 0], [0, 0.5]]).pdf(X)
    )
    np.testing.assert_allclose(loaded.score_samples(X), expected, rtol=1e-10)


def test_starting_values_and_dataframe_feature_names_survive(tmp_path):
    pd = pytest.importorskip("pandas")
    X = _data()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = gm.GaussianMixture(
        2, means_init=[[-3, 0, 0], [3, 5, 0]], weights_init=[0.5, 0.5], random_state=0
    ).fit(frame)
    gm.save(model, tmp_path / "m.npz")
    saved = read_model(tmp_path / "m.npz")
    assert saved.feature_names == ["a", "b", "c"]
    assert list(saved.model.feature_names_in_) == ["a", "b", "c"]
    np.testing.assert_array_equal(saved.model.means_init, model.means_init)
    np.testing.assert_array_equal(saved.model.predict_proba(frame), model.predict_proba(frame))
    assert saved.metadata["format_version"] == 1  # all a GaussianMixture needs
    assert saved.metadata["gaussmix_version"] == gm.__version__


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_standardization_is_stored_and_raw_model_matches(tmp_path, covariance_type):
    X = _data() * [1.0, 100.0, 0.01] + [0.0, 1e4, -5.0]
    center, scale = X.mean(axis=0), X.std(axis=0)
    Z = (X - center) / scale
    model = gm.GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(Z)
    gm.save(model, tmp_path / "m.npz", feature_names=["u", "v", "w"], center=center, scale=scale)
    saved = read_model(tmp_path / "m.npz")
    assert saved.standardized and saved.feature_names == ["u", "v", "w"]
    np.testing.assert_array_equal(saved.center, center)
    np.testing.assert_array_equal(saved.scale, scale)
    np.testing.assert_array_equal(saved.model.predict_proba(saved.transform(X)), model.predict_proba(Z))
    # the raw-unit model is the change of variables of the standardized one
    raw = saved.raw_model()
    expected = model.score_samples(Z) - np.sum(np.log(scale))
    np.testing.assert_allclose(raw.score_samples(X), expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(raw.predict_proba(X), model.predict_proba(Z), atol=1e-9)
    # ... and its parameters are a valid mixture in raw units (checked with scipy)
    dense = {
        "full": lambda c, k: c[k],
        "tied": lambda c, k: c,
        "diag": lambda c, k: np.diag(c[k]),
        "spherical": lambda c, k: c[k] * np.eye(3),
    }[raw.covariance_type]
    by_scipy = np.log(
        sum(
            raw.weights_[k] * multivariate_normal(raw.means_[k], dense(raw.covariances_, k)).pdf(X)
            for k in range(2)
        )
    )
    np.testing.assert_allclose(by_scipy, expected, rtol=1e-9)


def test_save_refuses_unfitted_and_foreign_models(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        gm.save(gm.GaussianMixture(2), tmp_path / "m.npz")
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    with pytest.raises(TypeError, match="GaussianMixture"):
        gm.save(SkGaussianMixture(2).fit(_data()), tmp_path / "m.npz")
    with pytest.raises(ValueError, match="both center and scale"):
        gm.save(gm.GaussianMixture(1).fit(_data()), tmp_path / "m.npz", center=[0, 0, 0])
    assert os.listdir(tmp_path) == []


def test_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path, model_path, monkeypatch):
    before = model_path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        gm.save(gm.GaussianMixture(1).fit(_data()), model_path)
    assert model_path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


# ---------------------------------------------------------------------- hostile and broken files
class _Exploit:
    """Unpickling this would create ``marker``: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        gm.load(tmp_path / "nope.npz")


@pytest.mark.parametrize(
    "kind, match",
    [
        ("empty", "empty"),
        ("truncated", "not a gaussmix model file"),
        ("random", "not a gaussmix model file"),
        ("pickle", "not a gaussmix model file"),
        ("npy", "not a gaussmix model file"),
        ("other zip", "unexpected member"),
        ("directory", "directory"),
    ],
)
def test_broken_files_raise_value_error_naming_the_file(tmp_path, model_path, kind, match):
    marker = tmp_path / "code-ran"
    path = tmp_path / "bad.npz"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(model_path.read_bytes()[: model_path.stat().st_size // 2])
    elif kind == "random":
        path.write_bytes(np.random.default_rng(SEED).bytes(4096))
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"weights": _Exploit(marker)}))
    elif kind == "npy":
        with open(path, "wb") as f:
            np.save(f, np.eye(3))
    elif kind == "other zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("readme.txt", "hello")
    elif kind == "directory":
        path.mkdir()
    with pytest.raises(ValueError, match=match) as info:
        gm.load(path)
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_pickled_array_inside_the_archive_is_never_unpickled(tmp_path, model_path):
    marker = tmp_path / "code-ran"
    arrays = model_file_arrays(model_path)
    arrays["weights"] = np.array([_Exploit(marker), _Exploit(marker)], dtype=object)
    path = tmp_path / "evil.npz"
    np.savez(path, **arrays)  # np.savez pickles object arrays
    with pytest.raises(ValueError, match="weights.npy is not a plain numeric array"):
        gm.load(path)
    assert not marker.exists()


def _set(name, value):
    def change(arrays, metadata):
        arrays[name] = value(arrays[name])

    return change


def _not_positive_definite(arrays, metadata):
    arrays["covariances"][1] = [[1, 2, 0], [2, 1, 0], [0, 0, 1]]  # eigenvalue -1


@pytest.mark.parametrize(
    "change, match",
    [
        (_not_positive_definite, "covariance of component 1 is not positive definite"),
        (_set("weights", lambda w: w * 0.9), "weights must sum to one"),
        (_set("weights", lambda w: np.array([1.5, -0.5])), r"weights must lie in \[0, 1\]"),
        (_set("means", lambda m: np.where(m == m.max(), np.nan, m)), "means.npy contains NaN"),
        (_set("means", lambda m: m[:, :2]), r"means.npy has shape \(2, 2\), expected \(2, 3\)"),
        (_set("covariances", lambda c: c + np.triu(np.ones(3), 1)), "not symmetric"),
        (_set("precisions_cholesky", lambda p: p * 1.1), "does not match covariances"),
        (_set("precisions_cholesky", lambda p: p + np.ones(3)), "not triangular"),
        (_set("means", lambda m: m.astype(np.int64)), "dtype int64, expected float64"),
        (set_metadata("format_version", FORMAT_VERSION + 1), "newer gaussmix"),
        (set_metadata("format", "something-else"), "not a gaussmix model file"),
        (set_metadata("covariance_type", "banana"), "unknown covariance_type 'banana'"),
        (set_metadata("n_components", 3), r"weights.npy has shape \(2,\), expected \(3,\)"),
        (set_metadata("params", {"tol": -1.0}), "tol"),
        (set_metadata("params", {"rm -rf": 1}), "unknown hyper-parameters"),
    ],
)
def test_invalid_model_contents_are_refused(tmp_path, model_path, change, match):
    path = tampered_model_file(tmp_path, model_path, change)
    with pytest.raises(ValueError, match=match) as info:
        gm.load(path)
    assert str(path) in str(info.value)


def test_missing_and_oversized_members_are_refused(tmp_path, model_path):
    arrays = model_file_arrays(model_path)
    del arrays["covariances"]
    np.savez(tmp_path / "short.npz", **arrays)
    with pytest.raises(ValueError, match="missing covariances.npy"):
        gm.load(tmp_path / "short.npz")
    arrays = model_file_arrays(model_path)
    arrays["center"] = np.zeros(10**6)  # far larger than (n_features,) allows
    arrays["scale"] = np.ones(3)
    np.savez_compressed(tmp_path / "big.npz", **arrays)
    with pytest.raises(ValueError, match="center.npy is larger than its shape allows"):
        gm.load(tmp_path / "big.npz")


def test_member_whose_header_promises_a_huge_array_is_refused_before_reading(tmp_path, model_path):
    import io

    arrays = model_file_arrays(model_path)
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in arrays.items():
            buffer = io.BytesIO()
            if name == "lower_bounds":  # claims 10**12 values, holds 16 bytes
                header = {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
                np.lib.format.write_array_header_1_0(buffer, header)
                buffer.write(np.zeros(2).tobytes())
            else:
                np.lib.format.write_array(buffer, value)
            archive.writestr(name + ".npy", buffer.getvalue())
    with pytest.raises(ValueError, match="lower_bounds.npy is truncated"):
        gm.load(path)


def test_npy_column_subset_and_integer_files_convert_to_a_scratch_map_when_large(
        tmp_path, monkeypatch):
    """A converted copy of a big .npy (some columns, or integers made float) is memory-mapped on
    an anonymous scratch file, filled block by block, instead of held in memory."""
    from gaussmix.io import tables as _data

    monkeypatch.setattr(_data, "_IN_MEMORY_COPY_BYTES", 0)
    monkeypatch.setattr(_data, "_COPY_ROWS", 7)
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(100, 4))
    np.save(tmp_path / "f.npy", X)
    table = _data.read_table(tmp_path / "f.npy", ["3", "1"])
    assert isinstance(table.X, np.memmap)
    np.testing.assert_array_equal(table.X, X[:, [3, 1]])
    ints = rng.integers(-50, 50, size=(100, 3)).astype(np.int16)
    np.save(tmp_path / "i.npy", ints)
    table = _data.read_table(tmp_path / "i.npy")
    assert isinstance(table.X, np.memmap) and table.X.dtype == np.float64
    np.testing.assert_array_equal(table.X, ints)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.npy", "i.npy"]  # nothing left


def test_small_npy_conversions_stay_in_memory(tmp_path):
    from gaussmix.io import tables as _data

    np.save(tmp_path / "f.npy", np.arange(12.0).reshape(3, 4))
    table = _data.read_table(tmp_path / "f.npy", ["2"])
    assert not isinstance(table.X, np.memmap)
    np.testing.assert_array_equal(table.X[:, 0], [2.0, 6.0, 10.0])


# ---------------------------------------------------------------------- high-dimensional mixtures
def _wide_data(n=240, n_features=6, dtype=np.float64):
    """Two clusters, each in its own plane of a 6-feature space plus small isotropic noise (the
    fitted intrinsic dimensions are 2 at least)."""
    rng = np.random.default_rng(SEED)
    parts = []
    for k in range(2):
        basis = np.linalg.qr(rng.normal(size=(n_features, n_features)))[0][:, :2]
        rows = rng.normal(size=(n // 2, 2)) * [6.0, 3.0] @ basis.T
        parts.append(rows + 0.3 * rng.normal(size=(n // 2, n_features)) + 8.0 * k)
    return np.vstack(parts).astype(dtype)


def _fit_quietly(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clone(estimator).set_params(random_state=0, max_iter=60).fit(X)


STRUCTURED = structured_estimators()
STRUCTURED_CASES = [(e, np.float64) for e in STRUCTURED] + [
    (e, np.float32) for e in one_per_estimator(STRUCTURED)]


@pytest.mark.parametrize(
    "estimator, dtype", STRUCTURED_CASES,
    ids=[f"{estimator_id(e)}-{np.dtype(t).name}" for e, t in STRUCTURED_CASES])
def test_high_dimensional_models_round_trip(tmp_path, estimator, dtype):
    X = _wide_data(dtype=dtype)
    model = _fit_quietly(estimator, X)
    gm.save(model, tmp_path / "m.npz")
    saved = read_model(tmp_path / "m.npz")
    loaded = saved.model
    assert type(loaded) is type(model) and saved.metadata["format_version"] == FORMAT_VERSION
    assert loaded.get_params() == model.get_params()
    for method in ("predict", "predict_proba", "score_samples"):
        np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(model, method)(X))
    np.testing.assert_array_equal(loaded.sample(30)[0], model.sample(30)[0])
    own = ("dimensions_",) if hasattr(model, "dimensions_") else ("loadings_", "noise_variances_")
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", *own):
        saved_array, restored = getattr(model, name), getattr(loaded, name)
        assert restored.dtype == saved_array.dtype
        np.testing.assert_array_equal(restored, saved_array)
    assert loaded.bic(X) == model.bic(X)  # the fitted dimensions and their count came back
    loaded.set_params(warm_start=True, max_iter=5)  # continues from the restored structure
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        loaded.fit(X)
    assert np.isfinite(loaded.lower_bound_) and loaded.lower_bound_ >= model.lower_bound_ - 1e-3


@pytest.fixture(scope="module")
def structured_paths(tmp_path_factory):
    """A fitted file of each high-dimensional estimator at its defaults, by class name."""
    X = _wide_data()
    folder = tmp_path_factory.mktemp("structured")
    paths = {}
    for estimator in one_per_estimator(STRUCTURED):
        name = type(estimator).__name__
        model = _fit_quietly(type(estimator)(2), X)
        paths[name] = folder / f"{name}.npz"
        gm.save(model, paths[name])
    assert np.all(gm.load(paths["HighDimensionalMixture"]).dimensions_ >= 2)
    return paths


def _drop(name):
    def change(arrays, metadata):
        del arrays[name]

    return change


def _params(**changes):
    def change(arrays, metadata):
        metadata["params"].update(changes)

    return change


@pytest.mark.parametrize(
    "estimator, change, match",
    [
        ("HighDimensionalMixture", _set("dimensions", lambda d: d + 0.5), "integers from 1 to 5"),
        ("HighDimensionalMixture", _set("dimensions", lambda d: d * 0 + 6), "integers from 1 to 5"),
        ("HighDimensionalMixture", _set("dimensions", lambda d: d * 0 + 1),
         "no eigenvalue repeated 5 times"),
        ("HighDimensionalMixture", _params(dimension=4), "dimensions.npy must be 4"),
        ("HighDimensionalMixture", _params(model="AkjBkQkXy"), "'model' parameter"),
        ("HighDimensionalMixture", _params(dimension=0), "'dimension' parameter"),
        ("HighDimensionalMixture", _drop("dimensions"), "needs dimensions.npy"),
        ("HighDimensionalMixture", set_metadata("format_version", 1), "needs format version 3"),
        ("HighDimensionalMixture", set_metadata("n_features", 1), "at least 2 features"),
        ("FactorMixture", _set("noise_variances", lambda v: -v), "must be positive"),
        ("FactorMixture", _set("loadings", lambda w: w * 1.01), "do not give covariances"),
        ("FactorMixture", _params(n_factors=3), r"loadings.npy has shape \(2, 6, 2\), expected"),
        ("FactorMixture", _params(n_factors="two"), "'n_factors' parameter"),
        ("FactorMixture", _params(model="UUC"), "isotropic noise"),
        ("FactorMixture", _params(model="UCU"), "shares its noise"),
        ("FactorMixture", _params(model="CUU"), "shares its loadings"),
        ("FactorMixture", _drop("loadings"), "needs loadings.npy"),
    ],
)
def test_structure_its_model_could_not_have_fitted_is_refused(tmp_path, structured_paths,
                                                              estimator, change, match):
    path = tampered_model_file(tmp_path, structured_paths[estimator], change)
    with pytest.raises(ValueError, match=match) as info:
        gm.load(path)
    assert str(path) in str(info.value)


def test_a_structure_member_in_another_estimators_file_is_refused(tmp_path, model_path,
                                                                   structured_paths):
    dimensions = model_file_arrays(structured_paths["HighDimensionalMixture"])["dimensions"]
    for source, member, array in [(model_path, "dimensions", dimensions),
                                  (structured_paths["HighDimensionalMixture"], "loadings",
                                   np.zeros((2, 6, 2)))]:
        path = tampered_model_file(tmp_path, source, _set_new(member, array))
        with pytest.raises(ValueError, match=f"has no {member}.npy"):
            gm.load(path)


def _set_new(name, array):
    def change(arrays, metadata):
        arrays[name] = array

    return change


def test_cli_predicts_and_scores_with_a_high_dimensional_model(tmp_path, structured_paths):
    X = _wide_data()
    np.savetxt(tmp_path / "x.csv", X, delimiter=",")
    for path in structured_paths.values():
        model = gm.load(path)
        runner = CliRunner()
        result = runner.invoke(cli, ["predict", str(tmp_path / "x.csv"), "-m", str(path),
                                     "-o", str(tmp_path / "labels.csv"), "--quiet"])
        assert result.exit_code == 0, result.output
        table = np.loadtxt(tmp_path / "labels.csv", delimiter=",", skiprows=1)
        np.testing.assert_array_equal(table[:, 0], model.predict(X))
        np.testing.assert_allclose(table[:, 2:], model.predict_proba(X), rtol=1e-12)
        result = runner.invoke(cli, ["score", str(tmp_path / "x.csv"), "-m", str(path),
                                     "-o", str(tmp_path / "scores.csv"), "--quiet"])
        assert result.exit_code == 0, result.output
        scores = np.loadtxt(tmp_path / "scores.csv", delimiter=",", skiprows=1)
        np.testing.assert_allclose(scores, model.score_samples(X), rtol=1e-12)


def test_a_standardised_high_dimensional_model_in_raw_units(tmp_path, structured_paths):
    X = _wide_data() * np.logspace(-2, 3, 6) + 100.0
    center, scale = X.mean(axis=0), X.std(axis=0)
    for path in structured_paths.values():
        model = gm.load(path)
        gm.save(model, tmp_path / "s.npz", center=center, scale=scale)
        saved = read_model(tmp_path / "s.npz")
        raw = saved.raw_model()  # unequal scales break the structure: a full Gaussian mixture
        assert type(raw) is gm.GaussianMixture
        expected = model.score_samples(saved.transform(X)) - np.sum(np.log(scale))
        np.testing.assert_allclose(raw.score_samples(X), expected, rtol=1e-9)


# Columns of every kind the commands write: labels, probabilities (NaN for skipped rows,
# infinities), float32, flags, text IDs needing quotes or missing, mixed objects.
CSV_COLUMNS = {
    "label": np.array([0, 1, 2, -1]),
    "p": np.array([1 / 3, np.nan, 1e-300, np.inf]),
    "f32": np.array([0.1, np.nan, 3e38, -0.0], dtype=np.float32),
    "big": np.array([1e16, 123456789012.0, 1.5e-7, -2.0]),
    "flag": np.array([True, False, True, False]),
    "id": np.array(["a,b", 'x"y', None, "line\nz"], dtype=object),
    "text": np.array(["1", "2", "3", ""]),
    "mixed": np.array([1, 2.5, float("nan"), "x"], dtype=object),
}


@pytest.mark.parametrize("columns", [CSV_COLUMNS, {"one": np.array([np.nan, 1.0])},
                                     {"one": ["a", None]}, {"empty": np.array([], dtype=float)}],
                         ids=["every-kind", "one-float-column", "one-text-column", "no-rows"])
@pytest.mark.parametrize("sep", [",", "\t"])
@pytest.mark.parametrize("header", [True, False])
def test_csv_output_is_what_pandas_writes(columns, sep, header):
    """The CSV writer (no pandas import: it costs half a second) writes pandas' bytes."""
    import io

    from gaussmix.io.table_writing import _write_csv, _write_csv_pandas

    ours, theirs = io.BytesIO(), io.BytesIO()
    _write_csv(ours, columns, sep, header)
    _write_csv_pandas(theirs, columns, sep, header)
    assert ours.getvalue() == theirs.getvalue()
    ours, theirs = io.StringIO(), io.StringIO()  # stdout as text
    _write_csv(ours, columns, sep, header)
    _write_csv_pandas(theirs, columns, sep, header)
    assert ours.getvalue() == theirs.getvalue()
