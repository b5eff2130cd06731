"""Reading data files: CSV/TSV (header detected), Parquet and ``.npy`` (memory-mapped).

Every cell is checked: a problem raises :class:`~gaussmix.io.formats.DataError` naming the file
and where (line numbers for CSV, row indices otherwise).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from tokenize import TokenError

import numpy as np

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


def peek_columns(path):
    """``(names, has_header)`` of a data file without reading its data."""
    path, fmt = _check_file(path)
    if fmt == "csv":
        layout = _csv_layout(path)
        return layout.names, layout.has_header
    if fmt == "parquet":
        schema = _parquet_file(path).schema_arrow
        return list(schema.names), True
    arr = _open_npy(path)
    return _default_names(1 if arr.ndim == 1 else arr.shape[1]), False


def read_table(path, columns=None, allow_missing=False):
    """Read the numeric columns of a data file, checking every cell.

    Parameters
    ----------
    path : str
        A ``.csv``/``.tsv``/``.txt`` (header detected), ``.parquet`` or ``.npy`` file.
    columns : list of str, optional
        Column names or 0-based positions to keep, in this order; default all. Columns left out
        are never parsed, so they may hold text.
    allow_missing : bool, default=False
        Keep empty and NaN cells as NaN (missing values) instead of refusing them; infinite
        values and rows with every chosen cell missing are still refused.

    Raises
    ------
    DataError
        Missing, empty or unreadable file; ragged CSV rows (with the line number); a non-numeric
        column (named); empty, NaN or infinite cells (with the first few lines/rows).
    """
    path, fmt = _check_file(path)
    reader = {"csv": _read_csv, "parquet": _read_parquet, "npy": _read_npy}[fmt]
    table, where = reader(path, columns)
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


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_layout(path):
    """Delimiter, header detection and column names from the first lines of a CSV file."""
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
    if path.lower().endswith(".tsv"):
        delimiter = "\t"
    else:
        try:
            delimiter = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    rows = list(csv.reader(lines[:2], delimiter=delimiter))
    first = [cell.strip() for cell in rows[0]]
    second = [cell.strip() for cell in rows[1]] if len(rows) > 1 else []
    text_cells = [bool(c) and not _is_number(c) for c in first]
    has_header = all(text_cells) or any(
        is_text and i < len(second) and _is_number(second[i])
        for i, is_text in enumerate(text_cells)
    )
    if has_header:
        names = [name or f"x{i}" for i, name in enumerate(first)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise DataError(f"{path}: duplicate column name(s) in the header: {', '.join(dupes)}.")
    else:
        names = _default_names(len(first))
    return _CsvLayout(names, has_header, delimiter)


def _read_csv(path, columns):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    layout = _csv_layout(path)
    chosen = _select(layout.names, columns, path)
    names = [layout.names[i] for i in chosen]
    # Read the header ourselves (names may be blank or repeated in other columns).
    read_options = pacsv.ReadOptions(
        column_names=[f"c{i}" for i in range(len(layout.names))],
        skip_rows=1 if layout.has_header else 0,
        encoding="utf8",
    )
    keep = [f"c{i}" for i in chosen]
    parse_options = pacsv.ParseOptions(delimiter=layout.delimiter)
    try:
        table = pacsv.read_csv(
            path,
            read_options=read_options,
            parse_options=parse_options,
            convert_options=pacsv.ConvertOptions(
                include_columns=keep, column_types={c: pa.float64() for c in keep}
            ),
        )
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "Expected" in message and "columns, got" in message:
            raise DataError(_ragged_message(path, layout)) from None
        if "conversion error" in message or "invalid value" in message:
            raise DataError(_not_numeric_message(path, layout, chosen)) from None
        raise DataError(f"{path}: cannot parse as CSV ({message.splitlines()[0]}).") from None
    X = np.empty((table.num_rows, len(keep)), dtype=np.float64)
    for j, name in enumerate(keep):
        X[:, j] = table.column(name).to_numpy(zero_copy_only=False)
    return Table(X, names, path, layout.has_header), ("csv", layout)


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
            if cell and not _is_number(cell):
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


def _read_parquet(path, columns):
    import pyarrow as pa

    pf = _parquet_file(path)
    schema = pf.schema_arrow
    names = list(schema.names)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:  # as for a CSV header: a name must say which column it is
        raise DataError(f"{path}: duplicate column name(s): {', '.join(map(repr, dupes))}.")
    chosen = _select(names, columns, path)
    for i in chosen:
        kind = schema.field(i).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
            raise DataError(
                f"{path}: column {names[i]!r} is not numeric (type {kind}); leave it out with "
                "--columns."
            )
    try:
        table = pf.read(columns=[names[i] for i in chosen])
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the Parquet data ({str(exc).splitlines()[0]}).") from None
    all_f32 = all(pa.types.is_float32(schema.field(i).type) for i in chosen)
    dtype = np.float32 if all_f32 else np.float64
    X = np.empty((table.num_rows, len(chosen)), dtype=dtype)
    for j in range(len(chosen)):
        column = table.column(j)
        if pa.types.is_decimal(column.type):
            column = column.cast(pa.float64())
        X[:, j] = column.to_numpy(zero_copy_only=False)
    return Table(X, [names[i] for i in chosen], path, True), ("rows", None)


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
        if allow_missing:  # NaN cells are missing values, unless a whole row is
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
