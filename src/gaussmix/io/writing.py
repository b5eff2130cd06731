"""Writing files safely: atomic replacement, all-or-nothing commands, streamed data tables, and
scratch space.

Outputs are written to a temporary file next to the destination and renamed into place, so a
failure never leaves a half-written file and never replaces a good one. Inside
:func:`all_or_nothing` (every command of the command line runs in one) the renames wait until the
whole block succeeded: a command with several outputs changes all of them or none. Temporary
files are removed on any error, on Ctrl-C and on SIGTERM (see :func:`remove_temporaries_on_signals`).
An output that exists keeps its permission bits; a new one gets the usual ``0666 & ~umask``.
Only regular files are written: an output path that is a directory, a FIFO or a device is refused
(:class:`OutputError`) instead of being replaced or blocking.
"""

from __future__ import annotations

import atexit
import csv
import io
import math
import os
import secrets
import signal
import stat
import sys
import tempfile
import threading
from contextlib import contextmanager

import numpy as np

from .formats import DataError, data_format

__all__ = [
    "OutputError", "all_or_nothing", "atomic_write", "atomic_write_path", "check_output",
    "no_scratch_space", "protect_inputs", "remove_temporaries_on_signals", "same_file",
    "scratch_array", "write_table", "write_table_chunks",
]


class OutputError(ValueError):
    """An output path that must not be written: not a regular file, or one of the inputs."""


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def check_output(path):
    """Refuse an output ``path`` that exists and is not a regular file (links are followed).

    Returns the path to write: the target of a symbolic link (the link itself stays), else
    ``path``. Raises :class:`OutputError` naming ``path`` and what it is.
    """
    path = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return os.path.realpath(path) if os.path.islink(path) else path
    except OSError as exc:
        raise OutputError(f"{path}: cannot be written ({exc.strerror or exc}).") from None
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise OutputError(f"{path}: is {kind}; outputs are written only to regular files.")
    return os.path.realpath(path) if os.path.islink(path) else path


def same_file(a, b):
    """Whether paths ``a`` and ``b`` name the same existing file (links resolved: compares the
    device and inode, so symbolic and hard links to one file are the same file)."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except (OSError, ValueError):
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


# ---------------------------------------------------------------------- temporaries
_LOCK = threading.RLock()
_PROTECTED = []  # files that must never be written (a command's inputs): see protect_inputs
_TEMPORARIES = set()  # every temporary file not yet renamed or removed, for the signal handler
_CREATING = set()  # (directory, prefix) of a temporary file being created, for the handler
_PENDING = []  # stack of open all_or_nothing() blocks: lists of (tmp, destination)


def _remove(tmp):
    with _LOCK:
        _TEMPORARIES.discard(tmp)
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _remove_all():
    with _LOCK:
        temporaries = list(_TEMPORARIES)
        for directory, prefix in list(_CREATING):
            try:
                names = os.listdir(directory)
            except OSError:
                continue
            temporaries += [os.path.join(directory, n) for n in names if n.startswith(prefix)]
    for tmp in temporaries:
        _remove(tmp)


def remove_temporaries_on_signals(signals=(signal.SIGINT, signal.SIGTERM)):
    """Install handlers (main thread only) that remove every temporary output file on SIGINT or
    SIGTERM, then end the process as the signal would (SIGINT: ``KeyboardInterrupt``; others:
    exit status 128 + signal number). Idempotent; a no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return
    if not getattr(remove_temporaries_on_signals, "_at_exit", False):
        atexit.register(_remove_all)  # and whatever is left when the interpreter ends
        remove_temporaries_on_signals._at_exit = True
    for signum in signals:
        if getattr(signal.getsignal(signum), "_gaussmix", False):
            continue

        def handler(number, frame):
            _remove_all()
            if number == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + number)

        handler._gaussmix = True
        signal.signal(signum, handler)


@contextmanager
def protect_inputs(paths):
    """Inside the block, refuse (:class:`OutputError`) any atomic write to one of ``paths``
    (compared as files: links resolved)."""
    paths = [os.fspath(p) for p in paths]
    _PROTECTED.extend(paths)
    try:
        yield
    finally:
        for p in paths:
            _PROTECTED.remove(p)


@contextmanager
def all_or_nothing():
    """Defer the renames of every atomic write inside the block to its end: when the block
    raises, no destination has changed and every temporary file is removed."""
    pending = []
    _PENDING.append(pending)
    try:
        yield
    except BaseException:
        _PENDING.remove(pending)
        for tmp, _ in pending:
            _remove(tmp)
        raise
    _PENDING.remove(pending)
    if _PENDING:  # nested: the outer block commits
        _PENDING[-1].extend(pending)
        return
    _commit(pending)


@contextmanager
def _signals_held():
    """SIGINT and SIGTERM held back inside the block (main thread; delivered after it)."""
    block = hasattr(signal, "pthread_sigmask") and threading.current_thread() is \
        threading.main_thread()
    if block:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        if block:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _commit(pending):
    """Rename the temporaries into place with SIGINT and SIGTERM held back, so that a signal
    cannot leave the outputs half replaced."""
    with _signals_held():
        for i, (tmp, destination) in enumerate(pending):
            try:
                os.replace(tmp, destination)
            except OSError as exc:
                for rest, _ in pending[i:]:
                    _remove(rest)
                raise OSError(exc.errno, exc.strerror, destination) from None
            with _LOCK:
                _TEMPORARIES.discard(tmp)


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
    ``tmp_path`` ends in ``suffix`` (picture and animation writers choose the format by it).

    ``path`` must be absent or a regular file (:func:`check_output`); a symbolic link is
    followed. Errors name ``path``, never the temporary file.
    """
    path = os.fspath(path)
    destination = check_output(path)
    for protected in _PROTECTED:
        if same_file(destination, protected):
            raise OutputError(f"{path}: is the input {protected}; refusing to overwrite it.")
    directory = os.path.dirname(os.path.abspath(destination))
    with _signals_held():  # a signal between creating and recording it would leave it behind
        # ... and one reaching another thread (BLAS) runs the handler even here, maybe inside
        # mkstemp: the handler also removes the files of the prefixes being created
        prefix = f".gaussmix-{secrets.token_hex(4)}-"
        with _LOCK:
            _CREATING.add((directory, prefix))
        try:
            fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
        except OSError as exc:  # report the file asked for, not the temporary name
            with _LOCK:
                _CREATING.discard((directory, prefix))
            raise type(exc)(exc.errno, exc.strerror, path) from None
        with _LOCK:
            _TEMPORARIES.add(tmp)
            _CREATING.discard((directory, prefix))
    os.close(fd)
    try:
        try:
            write(tmp)
            os.chmod(tmp, _mode_for(destination))
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            raise _renamed(exc, tmp, path) from None
        if _PENDING:
            _PENDING[-1].append((tmp, destination))
            return
        _commit([(tmp, destination)])
    except BaseException:
        _remove(tmp)
        raise


def _mode_for(destination):
    """An existing file's permission bits, else ``0666 & ~umask`` (mkstemp makes 0600 files)."""
    try:
        return stat.S_IMODE(os.stat(destination).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _renamed(exc, tmp, path):
    """``exc`` with the temporary file's name replaced by the user's ``path``."""
    if isinstance(exc, OSError):
        filename = getattr(exc, "filename", None)
        if filename is None or os.fspath(filename) == tmp or tmp in str(exc):
            return type(exc)(exc.errno, exc.strerror or str(exc).replace(tmp, path), path)
        return exc
    text = str(exc)
    if tmp not in text:
        return exc
    try:
        return type(exc)(text.replace(tmp, path))
    except (TypeError, ValueError):
        return ValueError(text.replace(tmp, path))


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
