"""Tables for people on any terminal width: numbers are never cut, text columns wrap.

Rich shrinks every column of a table that is wider than the terminal, cutting ``-9.97839`` to
``-9.978…``. Here each column of numbers (and short words) is given the width of its longest cell,
its header may fold onto two lines, and only the columns of free text (``wrap``) give way, by
wrapping. For programs, the verbs also print CSV or JSON (``--format``).
"""

from __future__ import annotations

__all__ = ["readable_table"]


def readable_table(keys, rows, *, wrap=(), left=(), styles=None):
    """A ``rich.table.Table`` of ``rows`` (lists of strings, one per key).

    Parameters
    ----------
    keys : list of str
        Column headers.
    rows : list of list of str
    wrap : iterable of str
        Columns of free text, which wrap when the terminal is narrow.
    left : iterable of str
        Columns aligned left (the others are numbers, aligned right).
    styles : list of str or None, optional
        A style per row (e.g. ``"bold"`` for the best).
    """
    from rich.table import Table

    view = Table()
    for j, key in enumerate(keys):
        if key in wrap:
            view.add_column(key, justify="left", overflow="fold", ratio=1)
            continue
        widest = max([len(row[j]) for row in rows], default=0)
        view.add_column(key, justify="left" if key in left else "right", no_wrap=True,
                        min_width=max(widest, 1), overflow="fold")
    for i, row in enumerate(rows):
        view.add_row(*row, style=None if styles is None else styles[i])
    return view
