"""Data for the explorer: two numeric columns of a CSV file, checked, with errors people can read.

Examples
--------
>>> from gaussmix.apps.explore.data import read_csv_columns
>>> text = b"name,height,weight\\na,1.5,50\\nb,1.7,65\\nc,1.8,80\\n"
>>> table = read_csv_columns(text)
>>> table.columns, table.X.shape
(['height', 'weight'], (3, 2))
>>> read_csv_columns(text, "weight", "height").names
('weight', 'height')
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass

import numpy as np

#: At most this many points are explored (a larger file is subsampled, with a note).
MAX_POINTS = 5000


@dataclass(frozen=True)
class CsvColumns:
    """Two chosen columns of a CSV file.

    Attributes
    ----------
    X : ndarray of shape (n_samples, 2)
        The rows whose two values are both numbers (at most :data:`MAX_POINTS`).
    names : (str, str)
        The chosen columns.
    columns : list of str
        Every numeric column of the file (the choices offered).
    note : str
        What was left out (rows with a missing or non-numeric value, a subsample), or ``""``.
    """

    X: np.ndarray
    names: tuple
    columns: list
    note: str


def _frame(source, label):
    import pandas as pd

    if isinstance(source, (bytes, bytearray)):
        if not bytes(source).strip():
            raise ValueError(f"{label} is empty.")
        handle = io.BytesIO(bytes(source))
    else:
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise ValueError(f"{label}: no such file.")
        handle = path
    try:
        frame = pd.read_csv(handle, sep=None, engine="python")
    except UnicodeDecodeError:
        raise ValueError(f"{label} is not a text CSV file (it does not decode as UTF-8).") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, TypeError,
            csv.Error) as exc:  # csv.Error: e.g. a field over the csv module's size limit
        raise ValueError(f"{label} is not a readable CSV file ({' '.join(str(exc).split())}).") \
            from None
    if frame.shape[0] == 0:
        raise ValueError(f"{label} has a header but no rows.")
    return frame


def _numeric_columns(frame):
    import pandas as pd

    numeric = {}
    for name in frame.columns:
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, copy=True)
        values[~np.isfinite(values)] = np.nan
        if np.isfinite(values).sum() >= max(1, len(values) // 2):
            numeric[str(name)] = values
    return numeric


def _pick(choice, columns, frame_columns, label, which):
    if choice is None:
        return None
    names = [str(c) for c in frame_columns]
    if isinstance(choice, (int, np.integer)) and not isinstance(choice, bool):
        if not 0 <= choice < len(names):
            raise ValueError(f"{label}: there is no column {choice} (the file has {len(names)}).")
        choice = names[choice]
    choice = str(choice)
    if choice not in names:
        raise ValueError(
            f"{label}: no column named {choice!r} for {which}; the columns are "
            + ", ".join(repr(n) for n in names) + "."
        )
    if choice not in columns:
        raise ValueError(f"{label}: column {choice!r} is not numeric, so it cannot be {which}.")
    return choice


def read_csv_columns(source, x_column=None, y_column=None, *, label="the CSV file",
                     max_points=MAX_POINTS, seed=0):
    """Read two numeric columns of a CSV file (bytes of an upload, or a path).

    Parameters
    ----------
    source : bytes or str or os.PathLike
        The file's content or its path. The separator (comma, semicolon, tab...) is detected.
    x_column, y_column : str or int, default=None
        Column names or 0-based positions; ``None`` takes the first numeric columns not chosen.
    label : str, default='the CSV file'
        How errors name the file.
    max_points : int, default=MAX_POINTS
        A larger file is subsampled (at random, seeded by ``seed``) to this many rows.
    seed : int, default=0

    Returns
    -------
    CsvColumns

    Raises
    ------
    ValueError
        An empty, unreadable or non-CSV file; fewer than two numeric columns; an unknown or
        non-numeric column; the same column twice; fewer than two complete rows.
    """
    frame = _frame(source, label)
    columns = _numeric_columns(frame)
    if len(columns) < 2:
        found = ", ".join(repr(str(c)) for c in frame.columns)
        raise ValueError(
            f"{label} needs at least two numeric columns to draw; it has {len(columns)} "
            f"(columns: {found})."
        )
    x = _pick(x_column, columns, frame.columns, label, "the horizontal axis")
    y = _pick(y_column, columns, frame.columns, label, "the vertical axis")
    free = [name for name in columns if name not in (x, y)]
    x = x if x is not None else free.pop(0)
    y = y if y is not None else free.pop(0)
    if x == y:
        raise ValueError(f"{label}: choose two different columns (both are {x!r}).")
    X = np.column_stack([columns[x], columns[y]])
    complete = np.isfinite(X).all(axis=1)
    notes = []
    if not complete.all():
        notes.append(f"{int((~complete).sum())} row(s) without two numbers left out")
    X = X[complete]
    if len(X) < 2:
        raise ValueError(f"{label}: fewer than two rows have numbers in both {x!r} and {y!r}.")
    if len(X) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(X), max_points, replace=False))
        notes.append(f"a random {max_points} of {len(X)} rows shown")
        X = X[keep]
    return CsvColumns(np.ascontiguousarray(X), (x, y), list(columns), "; ".join(notes))
