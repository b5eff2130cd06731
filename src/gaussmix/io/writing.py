"""Writing files safely: atomic replacement, streamed data tables, and scratch space.

Outputs are written to a temporary file next to the destination and renamed into place, so a
failure never leaves a half-written file and never replaces a good one.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile

import numpy as np

from .formats import DataError, data_format

__all__ = [
    "atomic_write", "atomic_write_path", "no_scratch_space", "scratch_array", "write_table",
    "write_table_chunks",
]


def atomic_write(path, write):
    """Call ``write(file)`` on a temporary file next to ``path``, then rename it into place.

    On any error the temporary file is removed and ``path`` is left as it was.
    """

    def to_file(tmp):
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())

    atomic_write_path(path, to_file)


def atomic_write_path(path, write, suffix=".tmp"):
    """:func:`atomic_write` for writers that take a file name: ``write(tmp_path)``, where
    ``tmp_path`` ends in ``suffix`` (picture and animation writers choose the format by it)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".gaussmix-", suffix=suffix, dir=directory)
    except OSError as exc:  # report the file asked for, not the temporary name
        raise type(exc)(exc.errno, exc.strerror, path) from None
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def scratch_array(shape, dtype, path, folders=(), what="a standardized copy"):
    """An empty memory-mapped array backed by an anonymous (already deleted) temporary file."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    last = None
    for folder in [*folders, tempfile.gettempdir()]:
        folder = os.path.abspath(folder or ".")
        try:
            # the mapping outlives the handle; the deleted file goes with the mapping
            with tempfile.TemporaryFile(dir=folder) as handle:
                if size and hasattr(os, "posix_fallocate"):  # claim the space now, fail early
                    os.posix_fallocate(handle.fileno(), 0, size)
                return np.memmap(handle, dtype=dtype, mode="w+", shape=shape)
        except OSError as exc:
            last = exc
    raise DataError(no_scratch_space(path, size, last, what))


def no_scratch_space(path, size, exc, what="a standardized copy"):
    """The one-line error for a scratch copy of ``path`` that found no disk room."""
    reason = exc.strerror if getattr(exc, "strerror", None) else str(exc)
    advice = (
        "leave out --standardize" if what == "a standardized copy"
        else "save the file as float32/float64 with only the columns to use"
    )
    return (
        f"{path}: no room for {what} ({size / 2**20:.0f} MiB) of this file on disk ({reason}); "
        f"free disk space next to it, next to the output or in the temporary folder, or {advice}."
    )


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
