"""Model files are untrusted input: every truncation and single-byte change of a valid file, and
files made to hurt (decompression bombs, deep JSON, huge numbers, encryption flags, extreme
parameters), either load as a valid model or are refused with the documented ``ValueError``
naming the file; from the command line, exit 1 and one line (issue 26)."""

import io
import json
import os
import pathlib
import shutil
import tempfile
import zipfile
from functools import partial

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.base import clone

import gaussmix as gm
from _helpers import estimator_id, one_per_estimator, structured_estimators
from gaussmix.cli import cli

SEED = 20261126


def _model(n_components, n_features, covariance_type, n_rows=80):
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(n_rows, n_features)) + 4 * rng.integers(0, 2, size=(n_rows, 1))
    return gm.GaussianMixture(n_components, covariance_type=covariance_type,
                              random_state=0).fit(X), X


def _structured(estimator):
    """A small fitted file's model of a high-dimensional estimator (2 features, the fewest)."""
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(80, 2)) * [3.0, 0.5]
    return clone(estimator).set_params(random_state=0).fit(X), X


#: The smallest model of each estimator whose file has members of its own.
SMALL_MODELS = [lambda: _model(1, 1, "spherical")] + [
    partial(_structured, estimator) for estimator in one_per_estimator(structured_estimators(1))]
SMALL_IDS = ["GaussianMixture"] + [
    estimator_id(estimator) for estimator in one_per_estimator(structured_estimators(1))]


def _check_loads_valid_or_refused(path, X):
    """Loaded: a model whose outputs are valid on X; else the documented error. Nothing else."""
    try:
        model = gm.load(path)
    except ValueError as exc:
        assert str(path) in str(exc)
        return "refused"
    proba = model.predict_proba(X)
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1.0)
    assert np.all(np.isfinite(model.score_samples(X)))
    return "loaded"


@pytest.fixture
def scratch(tmp_path):
    """A folder in memory where there is one (thousands of small files are rewritten)."""
    if not os.access("/dev/shm", os.W_OK):
        yield tmp_path
        return
    folder = tempfile.mkdtemp(dir="/dev/shm", prefix="gaussmix-fuzz-")
    yield pathlib.Path(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("small_model", SMALL_MODELS, ids=SMALL_IDS)
def test_every_truncation_and_byte_change_of_a_small_model_file(scratch, small_model):
    tmp_path = scratch
    model, X = small_model()
    good = tmp_path / "good.npz"
    gm.save(model, good)
    data = good.read_bytes()
    bad = tmp_path / "bad.npz"
    flips = np.random.default_rng(SEED).integers(1, 256, size=len(data))
    outcomes = {"loaded": 0, "refused": 0}
    for n in range(len(data)):  # every truncation (the empty file included)
        bad.write_bytes(data[:n])
        outcomes[_check_loads_valid_or_refused(bad, X)] += 1
    for i in range(len(data)):  # a change of every byte
        bad.write_bytes(data[:i] + bytes([data[i] ^ flips[i]]) + data[i + 1:])
        outcomes[_check_loads_valid_or_refused(bad, X)] += 1
    assert outcomes["refused"] > len(data) and outcomes["loaded"] > 0, outcomes


def test_sampled_byte_changes_of_a_large_model_file(scratch):
    tmp_path = scratch
    model, X = _model(12, 6, "full", n_rows=400)
    good = tmp_path / "good.npz"
    gm.save(model, good)
    data = good.read_bytes()
    rng = np.random.default_rng(SEED)
    bad = tmp_path / "bad.npz"
    for i in rng.choice(len(data), size=400, replace=False):
        mutated = bytearray(data)
        mutated[i] ^= int(rng.integers(1, 256))
        bad.write_bytes(bytes(mutated))
        _check_loads_valid_or_refused(bad, X)
    for n in rng.choice(len(data), size=50, replace=False):
        bad.write_bytes(data[:n])
        assert _check_loads_valid_or_refused(bad, X) == "refused"


# ---------------------------------------------------------------------- files made to hurt
def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _metadata_npy(text):
    return _npy(np.frombuffer(text.encode("utf-8"), dtype=np.uint8))


def _write(path, members, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compress) as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def _edit_metadata(members, **changes):
    metadata = json.loads(np.load(io.BytesIO(members["metadata.npy"])).tobytes())
    metadata.update(changes)
    members["metadata.npy"] = _metadata_npy(json.dumps(metadata))


def _bomb(path, members):
    """A member that declares 80 MB (allowed by the declared K and D) but is 80 KB on disk."""
    _edit_metadata(members, n_components=10_000, n_features=1000)
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            if name == "means.npy":
                header = _npy(np.zeros((10_000, 1000)))[:128]
                content = header + bytes(10_000 * 1000 * 8)
                archive.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED)
            else:
                archive.writestr(name, content)


def _deep_json(path, members):
    members["metadata.npy"] = _metadata_npy("[" * 100_000 + "]" * 100_000)
    _write(path, members)


def _huge_int(path, members):
    _edit_metadata(members, n_components=10**40)
    _write(path, members)


def _many_digits(path, members):
    members["metadata.npy"] = _metadata_npy('{"format": "gaussmix-model", "n": ' + "9" * 5000
                                            + "}")
    _write(path, members)


def _encrypted_flag(path, members):
    _write(path, members)
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")  # first central directory entry: set its encryption bit
    data[at + 8] |= 1
    path.write_bytes(bytes(data))


def _unknown_compression(path, members):
    _write(path, members)
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = data.find(signature)
        data[at + offset] = 99
    path.write_bytes(bytes(data))


def _extreme_means(path, members):
    means = np.load(io.BytesIO(members["means.npy"]))
    members["means.npy"] = _npy(np.full_like(means, 1e308))
    _write(path, members)


def _object_array(path, members):
    """An object array whose pickle would run ``os.system('echo owned > owned')``."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "|O", "fortran_order": False, "shape": (2,)})
    members["weights.npy"] = buffer.getvalue() + b"cos\nsystem\n(S'echo owned > owned'\ntR."
    _write(path, members)


def _bad_magic(path, members):
    members["means.npy"] = b"\x93NUMPZ" + members["means.npy"][6:]
    _write(path, members)


def _weights_not_summing_to_one(path, members):
    members["weights.npy"] = _npy(np.array([0.5, 0.1]))
    _write(path, members)


def _indefinite_covariance(path, members):
    covariances = np.load(io.BytesIO(members["covariances.npy"]))
    covariances[0] = -covariances[0]
    members["covariances.npy"] = _npy(covariances)
    _write(path, members)


HOSTILE = [_bomb, _deep_json, _huge_int, _many_digits, _encrypted_flag, _unknown_compression,
           _extreme_means, _object_array, _bad_magic, _weights_not_summing_to_one,
           _indefinite_covariance]


@pytest.mark.parametrize("make", HOSTILE, ids=[f.__name__.strip("_") for f in HOSTILE])
def test_hostile_model_files_are_refused_in_one_line(tmp_path, make):
    model, X = _model(2, 2, "full")
    good = tmp_path / "good.npz"
    gm.save(model, good)
    path = tmp_path / "hostile.npz"
    make(path, _members(good))
    with pytest.raises(ValueError, match="hostile.npz"):
        gm.load(path)
    np.savetxt(tmp_path / "x.csv", X, delimiter=",")
    result = CliRunner().invoke(cli, ["predict", str(tmp_path / "x.csv"), "-m", str(path),
                                      "-o", str(tmp_path / "out.csv")])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert lines[0].startswith("gaussmix: error: ") and "internal error" not in lines[0]
    assert not (tmp_path / "out.csv").exists()
    assert not os.path.exists("owned")
