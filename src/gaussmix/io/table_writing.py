"""Data tables written as files: CSV (to a file or stdout), Parquet and ``.npy``, whole or
streamed in blocks of rows, each through :func:`~gaussmix.io.writing.atomic_write` (a temporary
renamed into place). CSV is written by Python's :mod:`csv`, byte for byte what pandas' ``to_csv``
writes, without importing pandas on the command line's everyday path.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys

import numpy as np

from .formats import data_format
from .writing import atomic_write

__all__ = ["write_table", "write_table_chunks"]


def write_table(path, columns):
    """Write named 1-D columns to ``path`` (format from the extension; ``'-'``: CSV to stdout).

    A ``.npy`` output holds one 1-D array for a single column, else a 2-D float64 array with the
    columns in order. The file is written to a temporary file and renamed into place.
    """
    first = next(iter(columns.values()))
    write_table_chunks(path, [columns], len(first))


def write_table_chunks(path, chunks, n_rows):
    """:func:`write_table` for columns that arrive in blocks of rows (``chunks`` yields dicts
    with the same names), written as they come: a file larger than memory can be produced.
    ``n_rows`` is the total, needed up front by the ``.npy`` header."""
    path = os.fspath(path)
    fmt = data_format(path)
    if path == "-":
        out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else sys.stdout
        _write_csv_chunks(out, chunks)
        sys.stdout.flush()
        return
    if fmt == "csv":
        sep = "\t" if path.lower().endswith(".tsv") else ","
        atomic_write(path, lambda f: _write_csv_chunks(f, chunks, sep))
        return
    if fmt == "parquet":
        atomic_write(path, lambda f: _write_parquet_chunks(f, chunks))
        return
    atomic_write(path, lambda f: _write_npy_chunks(f, chunks, n_rows))


def _write_csv_chunks(f, chunks, sep=","):
    for i, columns in enumerate(chunks):
        _write_csv(f, columns, sep, header=i == 0)


def _write_parquet_chunks(f, chunks):
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    try:
        for columns in chunks:
            table = pa.table({name: np.asarray(v) for name, v in columns.items()})
            if writer is None:
                writer = pq.ParquetWriter(f, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def _write_npy_chunks(f, chunks, n_rows):
    header = None
    written = 0
    for columns in chunks:
        values = [np.asarray(v) for v in columns.values()]
        if len(values) == 1:
            block = values[0]
        else:
            block = np.column_stack([v.astype(np.float64) for v in values])
        block = np.ascontiguousarray(block, dtype=block.dtype.newbyteorder("<"))
        if header is None:
            header = {"descr": np.lib.format.dtype_to_descr(block.dtype), "fortran_order": False,
                      "shape": (n_rows, *block.shape[1:])}
            np.lib.format.write_array_header_1_0(f, header)
        f.write(block.tobytes())
        written += len(block)
    if header is None or written != n_rows:
        raise ValueError(f"internal error: {written} rows written, {n_rows} announced")


def _write_csv(f, columns, sep=",", header=True):
    """The columns as CSV, as pandas' ``to_csv(index=False)`` writes them (its cell texts, its
    csv dialect). Numbers, booleans and text are written here; other columns (dates, ...) by
    pandas, whose import costs half a second."""
    cells = [_csv_cells(values) for values in columns.values()]
    if not cells or any(column is None for column in cells) or len(set(map(len, cells))) > 1:
        _write_csv_pandas(f, columns, sep, header)
        return
    text = f if isinstance(f, io.TextIOBase) else \
        io.TextIOWrapper(f, encoding="utf-8", newline="")
    try:
        writer = csv.writer(text, delimiter=sep, lineterminator=os.linesep if text is f else "\n",
                            quoting=csv.QUOTE_MINIMAL, quotechar='"', doublequote=True)
        if header:
            writer.writerow([str(name) for name in columns])
        writer.writerows(zip(*cells))
        text.flush()
    finally:
        if text is not f:
            text.detach()


def _csv_cells(values):
    """pandas' CSV text of a 1-D column (``astype(str)`` for floats, missing values empty,
    ``str`` of each other value), or None for a column left to pandas."""
    if isinstance(values, (list, tuple)):
        values = np.array(values, dtype=object) if any(
            v is None or isinstance(v, str) for v in values) else np.asarray(values)
    if not isinstance(values, np.ndarray) or values.ndim != 1:
        return None
    kind = values.dtype.kind
    if kind == "f":
        text = values.astype(str)
        text[np.isnan(values)] = ""
        return text.tolist()
    if kind in "biuU":
        return [str(v) for v in values.tolist()]
    if kind == "O" and all(v is None or isinstance(v, _PLAIN_CELLS) for v in values.tolist()):
        return ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                for v in values.tolist()]
    return None


_PLAIN_CELLS = (str, int, float)


def _write_csv_pandas(f, columns, sep, header):
    import pandas as pd

    frame = pd.DataFrame(columns)
    if isinstance(f, io.TextIOBase):
        frame.to_csv(f, index=False, sep=sep, header=header)
        return
    text = io.TextIOWrapper(f, encoding="utf-8", newline="")
    try:
        frame.to_csv(text, index=False, sep=sep, lineterminator="\n", header=header)
        text.flush()
    finally:
        text.detach()
