"""Reading data files: CSV/TSV (header detected), Parquet and ``.npy`` (memory-mapped).

Every cell is checked: a problem raises :class:`~gaussmix.io.formats.DataError` naming the file
and where (line numbers for CSV, row indices otherwise).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from tokenize import TokenError

import numpy as np

from . import columns as _columns
from .dialect import detect, is_number
from .formats import DataError, Table, _default_names, data_format
from .writing import no_scratch_space, scratch_array

__all__ = ["peek_columns", "read_table"]

_SHOW_ROWS = 5
_FINITE_CHUNK = 1 << 16
_SNIFF_BYTES = 1 << 16
_MAX_HEADER_BYTES = 64 << 20  # the header and first row of a wide table may be this long


def _select(names, columns, path):
    """Indices of ``columns`` (names, else 0-based positions) in ``names``."""
    if columns is None:
        return list(range(len(names)))
    index = {name: i for i, name in enumerate(names)}
    chosen = []
    for item in columns:
        if item in index:
            chosen.append(index[item])
        elif item.lstrip("-").isdigit() and 0 <= int(item) < len(names):
            chosen.append(int(item))
        else:
            shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
            raise DataError(f"{path}: no column {item!r} (columns: {shown}).")
    if len(set(chosen)) != len(chosen):
        raise DataError(f"{path}: a column is selected twice in {','.join(columns)!r}.")
    return chosen


# ---------------------------------------------------------------------- reading
def _check_file(path):
    path = os.fspath(path)
    fmt = data_format(path)
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file.")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, not a data file.")
    if os.path.getsize(path) == 0:
        raise DataError(f"{path}: the file is empty.")
    return path, fmt


def peek_columns(path, sep=None, decimal=None):
    """``(names, has_header)`` of a data file without reading its data."""
    path, fmt = _check_file(path)
    if fmt == "csv":
        layout = _csv_layout(path, sep, decimal)
        return layout.names, layout.has_header
    if fmt == "parquet":
        schema = _parquet_file(path).schema_arrow
        return list(schema.names), True
    arr = _open_npy(path)
    return _default_names(1 if arr.ndim == 1 else arr.shape[1]), False


def read_table(path, columns=None, allow_missing=False, id_column=None, sep=None, decimal=None):
    """Read the numeric columns of a data file, checking every cell.

    Text columns are skipped (``Table.skipped``) unless named in ``columns``; an ID column is
    kept aside (``Table.ids``) for per-row outputs: see :mod:`gaussmix.io.columns`.

    Parameters
    ----------
    path : str
        A ``.csv``/``.tsv``/``.txt`` (header detected), ``.parquet`` or ``.npy`` file.
    columns : list of str, optional
        Column names or 0-based positions to keep, in this order; default every numeric column
        but the ID.
    allow_missing : bool or "rows", default=False
        Keep empty and NaN cells as NaN (missing values) instead of refusing them; infinite
        values and rows with every chosen cell missing are still refused. ``"rows"`` keeps those
        rows too (a per-row output marks them instead).
    id_column : str, None or False
        The column that identifies rows (name or position); ``None`` detects one (a unique
        column named like an ID, else a unique text column); ``False``: none.
    sep, decimal : str, optional
        CSV field separator and decimal mark; detected when not given (``Table.notes`` says
        what was assumed).

    Raises
    ------
    DataError
        Missing, empty or unreadable file; ragged CSV rows (with the line number); a chosen
        column that is not numeric, or a numeric one with text cells (named, with the first
        line); empty, NaN or infinite cells (with the first few lines/rows).
    """
    path, fmt = _check_file(path)
    if fmt == "csv":
        table, where = _read_csv(path, columns, id_column, sep, decimal)
    elif fmt == "parquet":
        table, where = _read_parquet(path, columns, id_column)
    else:
        table, where = _read_npy(path, columns)
    if table.X.shape[0] == 0:
        raise DataError(f"{path}: no data rows.")
    _check_finite(table, where, allow_missing)
    return table


# CSV ---------------------------------------------------------------------------------------
@dataclass
class _CsvLayout:
    names: list
    has_header: bool
    delimiter: str
    decimal: str = "."
    notes: list = field(default_factory=list)


def _csv_layout(path, sep=None, decimal=None):
    """Dialect, header detection and column names from the first lines of a CSV file."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            sample = f.read(_SNIFF_BYTES)
            cut = len(sample) == _SNIFF_BYTES
            # a wide table's header (and first row) may be longer than the sample: read on
            while cut and sample.count("\n") < 3 and len(sample) < _MAX_HEADER_BYTES:
                more = f.read(len(sample))
                cut = bool(more)
                sample += more
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file (it is not valid UTF-8).") from None
    if "\x00" in sample:
        raise DataError(f"{path}: not a text file (it contains NUL bytes).")
    lines = sample.splitlines()
    if cut and len(lines) < 2:
        raise DataError(f"{path}: the first line is longer than {_MAX_HEADER_BYTES >> 20} MiB; "
                        "not a table gaussmix reads.")
    if cut and lines:
        lines = lines[:-1] or lines  # the last line may be cut
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise DataError(f"{path}: the file is empty (no data rows).")
    dialect = detect(lines, os.path.splitext(path)[1].lower(), sep, decimal)
    delimiter = dialect.delimiter
    rows = list(csv.reader(lines[:2], delimiter=delimiter))
    first = [cell.strip() for cell in rows[0]]
    second = [cell.strip() for cell in rows[1]] if len(rows) > 1 else []
    text_cells = [bool(c) and not is_number(c, dialect.decimal) for c in first]
    has_header = all(text_cells) or any(
        is_text and i < len(second) and is_number(second[i], dialect.decimal)
        for i, is_text in enumerate(text_cells)
    )
    if has_header:
        names = [name or f"x{i}" for i, name in enumerate(first)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise DataError(f"{path}: duplicate column name(s) in the header: {', '.join(dupes)}.")
    else:
        names = _default_names(len(first))
    notes = [dialect.note] if dialect.note else []
    return _CsvLayout(names, has_header, delimiter, dialect.decimal, notes)


def _is_numeric_type(kind):
    import pyarrow as pa

    return (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
            or pa.types.is_null(kind))


def _unique(column):
    import pyarrow.compute as pc

    return column.null_count == 0 and pc.count_distinct(column).as_py() == len(column)


def _mostly_numbers(column, decimal):
    cells = [str(v).strip() for v in column.to_pylist() if v is not None and str(v).strip()]
    return bool(cells) and 2 * sum(is_number(c, decimal) for c in cells) >= len(cells)


def _id_values(column):
    import pyarrow as pa

    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return np.array(column.to_pylist(), dtype=object)  # to_numpy would import pandas
    values = column.to_numpy(zero_copy_only=False)
    return values.astype(object) if values.dtype.kind in "OUS" else values


def _numeric_matrix(table, chosen, dtype=np.float64):
    import pyarrow as pa

    X = np.empty((table.num_rows, len(chosen)), dtype=dtype)
    for j, i in enumerate(chosen):
        column = table.column(i)
        if column.type != pa.float64():
            column = column.cast(pa.float64())
        X[:, j] = _float64_values(column)
    return X


def _float64_values(column):
    """A float64 Arrow column as NumPy values, nulls as NaN, read from its buffers: pyarrow's
    ``to_numpy`` imports pandas (half a second) on first use."""
    parts = []
    for chunk in column.chunks:
        validity, data = chunk.buffers()[:2]
        start, stop = chunk.offset, chunk.offset + len(chunk)
        values = np.frombuffer(data, dtype=np.float64)[start:stop] if len(chunk) else \
            np.empty(0)
        if chunk.null_count:
            valid = np.unpackbits(np.frombuffer(validity, dtype=np.uint8),
                                  bitorder="little")[start:stop].astype(bool)
            values = np.where(valid, values, np.nan)
        parts.append(values)
    return np.concatenate(parts) if parts else np.empty(0)


def _read_csv(path, columns, id_column=None, sep=None, decimal=None):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    layout = _csv_layout(path, sep, decimal)
    # Read the header ourselves (names may be blank or repeated in other columns); every column
    # is read with its type inferred, so text columns can be skipped and an ID kept.
    read_options = pacsv.ReadOptions(
        column_names=[f"c{i}" for i in range(len(layout.names))],
        skip_rows=1 if layout.has_header else 0,
        encoding="utf8",
    )
    parse_options = pacsv.ParseOptions(delimiter=layout.delimiter)
    try:
        table = pacsv.read_csv(
            path, read_options=read_options, parse_options=parse_options,
            convert_options=pacsv.ConvertOptions(decimal_point=layout.decimal),
        )
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "Expected" in message and "columns, got" in message:
            raise DataError(_ragged_message(path, layout)) from None
        raise DataError(f"{path}: cannot parse as CSV ({message.splitlines()[0]}).") from None
    numeric = [_is_numeric_type(table.column(i).type) for i in range(table.num_columns)]
    choice = _columns.choose(
        layout.names, numeric, columns, id_column, lambda i: _unique(table.column(i)),
        lambda i: _mostly_numbers(table.column(i), layout.decimal), path, _select,
    )
    text = [i for i in choice.features if not numeric[i]]
    if text:
        raise DataError(_not_numeric_message(path, layout, text))
    return Table(
        _numeric_matrix(table, choice.features), [layout.names[i] for i in choice.features],
        path, layout.has_header,
        ids=None if choice.id is None else _id_values(table.column(choice.id)),
        id_name=None if choice.id is None else layout.names[choice.id],
        skipped=[layout.names[i] for i in choice.skipped], notes=list(layout.notes),
    ), ("csv", layout)


def _csv_records(path, layout):
    """Yield ``(line_number, cells)`` for every non-blank data record."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=layout.delimiter)
        skipped = not layout.has_header
        for cells in reader:
            if not cells:
                continue
            if not skipped:
                skipped = True
                continue
            yield reader.line_num, cells


def _ragged_message(path, layout):
    expected = len(layout.names)
    for line, cells in _csv_records(path, layout):
        if len(cells) != expected:
            return (
                f"{path}: line {line} has {len(cells)} field{'s' if len(cells) != 1 else ''} but the "
                f"{'header' if layout.has_header else 'first row'} has {expected} (ragged rows)."
            )
    return f"{path}: rows have different numbers of fields (ragged rows)."


def _not_numeric_message(path, layout, chosen):
    for line, cells in _csv_records(path, layout):
        for i in chosen:
            cell = cells[i].strip() if i < len(cells) else ""
            if cell and not is_number(cell, layout.decimal):
                shown = cell if len(cell) <= 30 else cell[:27] + "..."
                return (
                    f"{path}: column {layout.names[i]!r} is not numeric (line {line}: "
                    f"{shown!r}); leave it out with --columns."
                )
    return f"{path}: some selected columns are not numeric; choose numeric ones with --columns."


# Parquet -----------------------------------------------------------------------------------
def _parquet_file(path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:  # a damaged schema's names
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: not a readable Parquet file ({first}).") from None


def _read_parquet(path, columns, id_column=None):
    import pyarrow as pa

    pf = _parquet_file(path)
    schema = pf.schema_arrow
    names = list(schema.names)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:  # as for a CSV header: a name must say which column it is
        raise DataError(f"{path}: duplicate column name(s): {', '.join(map(repr, dupes))}.")
    numeric = [_is_numeric_type(schema.field(i).type) for i in range(len(names))]
    cache = {}

    def column(i):  # read a column's data only when its uniqueness is asked
        if i not in cache:
            cache[i] = _read_parquet_columns(pf, path, [names[i]]).column(0)
        return cache[i]

    choice = _columns.choose(names, numeric, columns, id_column, lambda i: _unique(column(i)),
                             lambda i: False, path, _select)
    for i in choice.features:
        if not numeric[i]:
            raise DataError(
                f"{path}: column {names[i]!r} is not numeric (type {schema.field(i).type}); leave "
                "it out with --columns."
            )
    table = _read_parquet_columns(pf, path, [names[i] for i in choice.features])
    all_f32 = all(pa.types.is_float32(schema.field(i).type) for i in choice.features)
    X = _numeric_matrix(table, range(len(choice.features)),
                        np.float32 if all_f32 else np.float64)
    return Table(
        X, [names[i] for i in choice.features], path, True,
        ids=None if choice.id is None else _id_values(column(choice.id)),
        id_name=None if choice.id is None else names[choice.id],
        skipped=[names[i] for i in choice.skipped],
    ), ("rows", None)


def _read_parquet_columns(pf, path, wanted):
    import pyarrow as pa

    try:
        return pf.read(columns=wanted)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the Parquet data ({str(exc).splitlines()[0]}).") from None


# NPY ---------------------------------------------------------------------------------------
def _open_npy(path):
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic != b"\x93NUMPY" and not magic.startswith(b"PK\x03\x04"):
        shown = magic.decode("latin-1").encode("unicode_escape").decode("ascii")
        raise DataError(f"{path}: not a .npy file (it starts with '{shown}', not the .npy magic "
                        "string '\\x93NUMPY'; truncated, damaged or another format).")
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (SyntaxError, TokenError, UnicodeDecodeError, TypeError) as exc:  # damaged header
        raise DataError(f"{path}: not a valid .npy array (its header is damaged: "
                        f"{type(exc).__name__}).") from None
    except ValueError as exc:
        text = str(exc)
        if "pickle" in text or "Python objects" in text:
            raise DataError(f"{path}: holds Python objects, not numbers; refusing to load it.") from None
        raise DataError(f"{path}: not a valid .npy array ({text.splitlines()[0]}).") from None
    except (EOFError, OSError) as exc:
        raise DataError(f"{path}: not a valid .npy array ({exc}).") from None
    if not isinstance(arr, np.ndarray):  # an .npz archive under a .npy name
        raise DataError(f"{path}: is an .npz archive, not a single .npy array.")
    if arr.dtype.names is not None or arr.dtype.kind not in "fiub":
        raise DataError(f"{path}: has dtype {arr.dtype}; a real numeric array is needed.")
    if arr.ndim not in (1, 2):
        raise DataError(f"{path}: has shape {arr.shape}; a 1-D or 2-D array is needed.")
    return arr


def _read_npy(path, columns):
    arr = _open_npy(path)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    names = _default_names(arr.shape[1])
    chosen = _select(names, columns, path)
    dtype = arr.dtype
    if dtype.kind != "f" or dtype.itemsize < 4:
        dtype = np.dtype(np.float64)
    elif not dtype.isnative:
        dtype = dtype.newbyteorder("=")
    if chosen != list(range(arr.shape[1])) or dtype != arr.dtype:
        arr = _converted_npy(arr, chosen, dtype, path)
    return Table(arr, [names[i] for i in chosen], path, False), ("rows", None)


# A converted copy (column subset, other dtype) of a .npy larger than this goes to a scratch file.
_IN_MEMORY_COPY_BYTES = 256 * 2**20
_COPY_ROWS = 1 << 16


def _converted_npy(arr, chosen, dtype, path):
    """``arr[:, chosen]`` as ``dtype``: in memory when small, else memory-mapped on an anonymous
    scratch file beside ``path`` (or in the temporary folder), filled block by block."""
    shape = (arr.shape[0], len(chosen))
    if shape[0] * shape[1] * dtype.itemsize <= _IN_MEMORY_COPY_BYTES:
        return np.asarray(arr[:, chosen], dtype=dtype)
    out = scratch_array(shape, dtype, path, [os.path.dirname(os.path.abspath(path))],
                        what="a converted copy")
    try:
        for start in range(0, shape[0], _COPY_ROWS):
            out[start : start + _COPY_ROWS] = arr[start : start + _COPY_ROWS][:, chosen]
    except OSError as exc:
        raise DataError(no_scratch_space(path, out.nbytes, exc, "a converted copy")) from None
    return out


# Checks ------------------------------------------------------------------------------------
def _check_finite(table, where, allow_missing=False):
    """Refuse non-finite cells (with ``allow_missing``: infinite cells and rows of NaN only)."""
    X = table.X
    bad_rows, bad_cols, n_bad, n_nan, n_inf = [], np.zeros(X.shape[1], dtype=bool), 0, 0, 0
    observed = np.zeros(X.shape[1], dtype=bool)
    for start in range(0, X.shape[0], _FINITE_CHUNK):
        block = np.asarray(X[start : start + _FINITE_CHUNK])
        if allow_missing:
            observed |= ~np.isnan(block).all(axis=0)
        finite = np.isfinite(block)
        if finite.all():
            continue
        if allow_missing == "rows":  # NaN cells are missing values, whole rows too
            finite |= np.isnan(block)
        elif allow_missing:  # NaN cells are missing values, unless a whole row is
            finite |= np.isnan(block) & ~np.isnan(block).all(axis=1, keepdims=True)
            if finite.all():
                continue
        rows = np.flatnonzero(~finite.all(axis=1))
        n_bad += rows.size
        n_nan += int(np.isnan(block).sum())
        n_inf += int(np.isinf(block).sum())
        bad_cols |= ~finite.all(axis=0)
        bad_rows.extend((start + rows[: _SHOW_ROWS - len(bad_rows)]).tolist())
    if allow_missing and not observed.all():  # EM would invent such a column from nothing
        empty = [repr(table.names[j]) for j in np.flatnonzero(~observed)]
        raise DataError(f"{table.path}: column{'s' if len(empty) > 1 else ''} "
                        f"{', '.join(empty[:5])} {'have' if len(empty) > 1 else 'has'} no value "
                        "at all (every cell empty or NaN); leave it out with --columns.")
    if not n_bad:
        return
    kind, layout = where
    if allow_missing and not n_inf:
        what = "rows with every value empty or NaN"
    elif not n_inf:
        what = "empty or NaN cells"
    elif not n_nan:
        what = "infinite values"
    else:
        what = "empty, NaN or infinite cells"
    names = [repr(table.names[j]) for j in np.flatnonzero(bad_cols)]
    columns = "column" + ("s " if len(names) > 1 else " ") + ", ".join(names[:5])
    if kind == "csv":
        lines = _csv_lines(table.path, layout, bad_rows)
        place = "line" + ("s" if len(lines) > 1 else "") + " " + ", ".join(map(str, lines))
    else:
        place = "row" + ("s" if len(bad_rows) > 1 else "") + " " + ", ".join(map(str, bad_rows))
        place += " (counting from 0)"
    more = f" ({n_bad} rows in all)" if n_bad > len(bad_rows) else ""
    advice = "remove or fill those rows"
    if n_nan and not allow_missing:
        advice += " (gaussmix fit --missing em fits with missing values)"
    raise DataError(f"{table.path}: {what} in {columns} at {place}{more}; {advice}.")


def _csv_lines(path, layout, rows):
    """File line numbers of the given 0-based data rows."""
    wanted = set(rows)
    found = {}
    for index, (line, _) in enumerate(_csv_records(path, layout)):
        if index in wanted:
            found[index] = line
            if len(found) == len(wanted):
                break
    return [found.get(r, r + 1 + layout.has_header) for r in rows]
