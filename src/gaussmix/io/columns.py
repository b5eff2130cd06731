"""Which columns of a real table are features, which one identifies the rows, which are skipped.

A table from a spreadsheet or a database holds more than numbers: a name, a date, a category, a
customer ID. :func:`choose` decides, from each column's name and kind, what a fit uses:

* the **ID column** is the one given (``--id``), else the first column whose name says it is an
  ID (``id``, ``key``, ``customer_id``, ``userId``, ...) or, failing that, the first text column,
  provided its values are unique and never empty. It is never a feature; its values go into
  every per-row output so that results join back to the input.
* **features** are the columns given (``--columns``), else every numeric column but the ID.
* **text columns** are skipped (and named), unless most of their cells are numbers: then a few
  cells are typos, and the caller reports the first one instead of dropping the column.
"""

from __future__ import annotations

from dataclasses import dataclass

from .formats import DataError

__all__ = ["Choice", "choose", "looks_like_id"]

_ID_NAMES = {"id", "key", "index", "uuid", "guid", "rowid", "row_id", "record", "record_id"}


def looks_like_id(name):
    """Whether a column name says that it identifies rows.

    >>> [looks_like_id(n) for n in ("id", "customer_id", "userId", "ID", "acid", "valid")]
    [True, True, True, True, False, False]
    """
    lower = name.strip().lower()
    if lower in _ID_NAMES or lower.endswith(("_id", " id", "-id", ".id")):
        return True
    return len(name) > 2 and name.endswith(("ID", "Id")) and name[-3].islower()


@dataclass
class Choice:
    """Indices of the ``features`` and of the ``id`` column (or ``None``), and the ``skipped``
    text columns' indices."""

    features: list
    id: int | None
    skipped: list


def choose(names, numeric, columns, id_column, unique, mostly_numbers, path, select):
    """Decide features, ID and skipped columns.

    Parameters
    ----------
    names : list of str
    numeric : list of bool
        Whether each column holds numbers (empty cells allowed).
    columns : list of str or None
        ``--columns``: names or positions; ``None`` for every numeric column.
    id_column : str, None or False
        ``--id``: a name or position; ``None`` detects one; ``False`` (``--id none``) for none.
    unique : callable
        ``unique(i)``: column ``i`` has no empty cell and no value twice.
    mostly_numbers : callable
        ``mostly_numbers(i)``: most of text column ``i``'s non-empty cells are numbers.
    path : str
        For messages.
    select : callable
        ``select(names, items, path)``: positions of named or numbered columns (errors named).
    """
    chosen = None if columns is None else select(names, columns, path)
    id_index = None
    if id_column not in (None, False):
        id_index = select(names, [str(id_column)], path)[0]
        if not unique(id_index):
            raise DataError(f"{path}: the ID column {names[id_index]!r} has empty or repeated "
                            "values; IDs must tell every row apart.")
    elif id_column is None:
        taken = set(chosen or ())
        named = [i for i, name in enumerate(names) if looks_like_id(name)]
        text = [i for i in range(len(names)) if not numeric[i]]
        for i in dict.fromkeys(named + text):
            if i not in taken and (i in named or not mostly_numbers(i)) and unique(i):
                id_index = i
                break
    if chosen is not None:
        if id_index in chosen:
            raise DataError(f"{path}: column {names[id_index]!r} is both the ID and a feature; "
                            "leave it out of --columns or choose another --id.")
        return Choice(chosen, id_index, [])
    features, skipped = [], []
    for i in range(len(names)):
        if i == id_index:
            continue
        if numeric[i]:
            features.append(i)
        elif mostly_numbers(i):
            features.append(i)  # the caller names the first cell that is not a number
        else:
            skipped.append(i)
    if not features:
        raise DataError(
            f"{path}: no numeric column to fit (text columns: "
            f"{', '.join(repr(names[i]) for i in skipped) or 'none'})."
        )
    return Choice(features, id_index, skipped)
