"""Reading real tables from the command line: ``--id``, ``--sep``, ``--decimal``, and what was
assumed, said on stderr.

Every verb that reads a data file reads it here, so that all of them skip text columns, keep
an ID column for their per-row outputs and understand European CSVs the same way.
"""

from __future__ import annotations

import click

from .options import cli_terms, one_line

__all__ = ["cli_terms", "read_data", "say_how_read", "table_options", "with_ids"]


def _id_value(ctx, param, value):
    if value is not None and value.strip().lower() == "none":
        return False
    return value


def table_options(func):
    """``--id``, ``--sep`` and ``--decimal`` for a verb that reads a data file."""
    options = [
        click.option("--id", "id_column", metavar="COLUMN", callback=_id_value,
                     help="Column that identifies rows (name or 0-based position), carried into "
                     "per-row outputs and never fitted. Default: a unique column named like an "
                     "ID (id, key, customer_id, ...), else a unique text column; 'none': no ID."),
        click.option("--sep", metavar="CHAR",
                     help="CSV field separator (default: detected among , ; tab |; 'tab' or "
                     "'\\t' for a tab)."),
        click.option("--decimal", type=click.Choice([".", ","]),
                     help="CSV decimal mark (default: detected; ',' for 1,5 = 1.5)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def say_how_read(table, quiet):
    """The table's notes (skipped text columns, ID column, CSV dialect), one line each."""
    if quiet:
        return
    for line in table.messages():
        click.echo(f"gaussmix: note: {one_line(line)}", err=True)


def read_data(path, columns, quiet, *, allow_missing=False, id_column=None, sep=None,
              decimal=None):
    """:func:`gaussmix.io.tables.read_table` with the verb's options; notes on stderr."""
    from ..io.formats import parse_columns
    from ..io.tables import read_table

    table = read_table(path, parse_columns(columns) if isinstance(columns, str) else columns,
                       allow_missing=allow_missing, id_column=id_column, sep=sep,
                       decimal=decimal)
    say_how_read(table, quiet)
    return table


def with_ids(table, result, output, rows=slice(None)):
    """``result`` (a dict of per-row columns) with the table's ID column first.

    A ``.npy`` output holds numbers only, so it gets no text IDs (rows stay in input order).
    """
    if table.ids is None:
        return result
    ids = table.ids[rows]
    if str(output).lower().endswith(".npy") and ids.dtype.kind not in "iuf":
        return result
    name = table.id_name
    while name in result:
        name = f"{name}_"
    return {name: ids, **result}
