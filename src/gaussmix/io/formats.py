"""The vocabulary of data files shared by reading and writing: formats, tables, errors.

Every problem with a file raises :class:`DataError` (a ``ValueError``) whose message starts with the
file name and says what is wrong and where, so the command line can print it as one line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line reads this module for --help: no NumPy import at run time
    import numpy as np

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".npy": "npy",
}


class DataError(ValueError):
    """A data file that cannot be used; the message names the file and the problem."""


@dataclass
class Table:
    """Numeric columns read from a data file.

    Attributes
    ----------
    X : ndarray of shape (n_rows, n_columns)
        float64 or float32 (float32 files stay float32); may be a read-only memory map for ``.npy``.
    names : list of str
        Column names (``x0``, ``x1``, ... when the file has none).
    path : str
    has_header : bool
        Whether the names came from the file (a CSV header or Parquet schema).
    ids : ndarray of shape (n_rows,) or None
        The ID column's values (``--id``, or a detected ID column), to carry into every per-row
        output so that results join back to the input; ``None`` without one.
    id_name : str or None
        The ID column's name.
    skipped : list of str
        Text columns left out because they are not numbers (and are not the ID).
    notes : list of str
        What was assumed when reading (a CSV dialect), in words, for the user.
    """

    X: np.ndarray
    names: list
    path: str
    has_header: bool
    ids: np.ndarray | None = None
    id_name: str | None = None
    skipped: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def messages(self):
        """One line per thing the user should know about how the file was read."""
        lines = [f"{self.path}: {note}" for note in self.notes]
        if self.skipped:
            shown = ", ".join(map(repr, self.skipped[:8])) + (" ..." if len(self.skipped) > 8 else "")
            lines.append(f"{self.path}: skipped text column{'s' if len(self.skipped) > 1 else ''} "
                         f"{shown} (choose columns with --columns)")
        if self.id_name is not None:
            lines.append(f"{self.path}: rows are identified by column {self.id_name!r}, carried "
                         "into per-row outputs (choose another with --id)")
        return lines


def data_format(path):
    """``'csv'``, ``'parquet'`` or ``'npy'`` from the file extension; ``DataError`` otherwise."""
    if os.fspath(path) == "-":
        return "csv"
    ext = os.path.splitext(os.fspath(path))[1].lower()
    try:
        return FORMATS[ext]
    except KeyError:
        raise DataError(
            f"{path}: unsupported file type {ext or '(no extension)'!r}; use .csv, .tsv, "
            ".parquet or .npy."
        ) from None


def _default_names(n):
    return [f"x{i}" for i in range(n)]


# ---------------------------------------------------------------------- column selection
def parse_columns(spec):
    """Split a ``--columns`` value (``"a,b"`` or ``"0,2"``) into a list of names; ``None`` stays."""
    if spec is None:
        return None
    items = [item.strip() for item in spec.split(",")]
    if not items or any(item == "" for item in items):
        raise ValueError(f"invalid column list {spec!r}; give names or 0-based positions, e.g. 'x,y'.")
    return items
