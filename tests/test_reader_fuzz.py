"""The data readers on broken and hostile files: arbitrary CSV text, and every truncation and byte
change of small .npy and Parquet files, give a table of numbers or a ``DataError`` naming the
file, never another exception (issue 26)."""

import io
import os
import shutil
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gaussmix.io.formats import DataError
from gaussmix.io.tables import read_table

SEED = 20261126


@pytest.fixture(scope="module")
def folder():
    """A folder in memory where there is one (the fuzzers rewrite files thousands of times)."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    path = tempfile.mkdtemp(dir=base, prefix="gaussmix-readers-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _read_or_refuse(path, allow_missing=False):
    try:
        table = read_table(path, allow_missing=allow_missing)
    except DataError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc).strip()
        return None
    X = np.asarray(table.X)
    assert X.ndim == 2 and X.dtype in (np.float32, np.float64)
    assert len(table.names) == X.shape[1]
    assert not np.isinf(X).any()
    if not allow_missing:
        assert np.isfinite(X).all()
    return table


@given(text=st.text(st.sampled_from(list('0123456789.,;-+eE\n\r\t "aNn#\\\'x\x00')),
                    max_size=120))
def test_any_csv_text_is_read_as_numbers_or_refused(folder, text):
    path = os.path.join(folder, "fuzz.csv")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    for allow_missing in (False, True):
        _read_or_refuse(path, allow_missing)


@given(data=st.binary(max_size=300))
def test_any_bytes_under_a_csv_name_are_read_or_refused(folder, data):
    path = os.path.join(folder, "bytes.csv")
    with open(path, "wb") as f:
        f.write(data)
    _read_or_refuse(path)


def _mutations(data, rng, n_changes=None):
    """Every truncation and a change of every byte (or of ``n_changes`` sampled bytes)."""
    for n in range(len(data)):
        yield data[:n]
    offsets = range(len(data)) if n_changes is None else rng.choice(len(data), n_changes,
                                                                    replace=False)
    for i in offsets:
        changed = bytearray(data)
        changed[i] ^= int(rng.integers(1, 256))
        yield bytes(changed)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16])
def test_every_truncation_and_byte_change_of_an_npy_file(folder, dtype):
    buffer = io.BytesIO()
    np.save(buffer, np.arange(12, dtype=dtype).reshape(4, 3))
    path = os.path.join(folder, "fuzz.npy")
    rng = np.random.default_rng(SEED)
    outcomes = []
    for content in _mutations(buffer.getvalue(), rng):
        with open(path, "wb") as f:
            f.write(content)
        outcomes.append(_read_or_refuse(path) is not None)
    assert any(outcomes) and not all(outcomes)


def test_sampled_truncations_and_byte_changes_of_a_parquet_file(folder):
    table = pa.table({"a": np.arange(6.0), "b": np.arange(6, dtype=np.int32),
                      "c": np.linspace(0, 1, 6).astype(np.float32)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    data = buffer.getvalue()
    path = os.path.join(folder, "fuzz.parquet")
    rng = np.random.default_rng(SEED)
    for content in _mutations(data, rng, n_changes=300):
        with open(path, "wb") as f:
            f.write(content)
        _read_or_refuse(path)
