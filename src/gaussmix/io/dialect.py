"""How a CSV file is written: its separator and decimal mark, detected or given.

European spreadsheets write ``1,5;2,25`` (``;`` between fields, a decimal comma); most others
write ``1.5,2.25``. :func:`detect` looks at the first lines and says what it assumed, so the
command line can print it and the user can override it (``--sep``, ``--decimal``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

__all__ = ["Dialect", "detect", "is_number"]

# Tried in this order: the first that splits every sampled line into the same number (>= 2)
# of fields wins. ';' comes before ',' because a file with decimal commas also splits
# consistently on ','.
_SEPARATORS = ("\t", ";", "|", ",")
_NAMES = {"\t": "tab", ";": "';'", "|": "'|'", ",": "','"}
_COMMA_NUMBER = re.compile(r"^[+-]?\d*,\d+(?:[eE][+-]?\d+)?$")
_POINT_NUMBER = re.compile(r"^[+-]?\d*\.\d+(?:[eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Dialect:
    """``delimiter`` between fields, ``decimal`` mark (``"."`` or ``","``), and ``note``: what was
    assumed, in words, when it is not the plain comma-separated, decimal-point CSV (else ``""``)."""

    delimiter: str = ","
    decimal: str = "."
    note: str = ""


def is_number(text, decimal="."):
    """Whether ``text`` reads as a number with the given decimal mark.

    >>> is_number("1,5", decimal=","), is_number("1,5"), is_number("-2e3")
    (True, False, True)
    """
    if decimal != ".":
        if "." in text:
            return False
        text = text.replace(decimal, ".")
    try:
        float(text)
    except ValueError:
        return False
    return True


def _consistent(lines, delimiter):
    counts = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
    return len(counts) == 1 and counts.pop() >= 2


def detect(lines, suffix="", sep=None, decimal=None):
    """The :class:`Dialect` of a file whose first non-blank lines are ``lines``.

    ``sep`` and ``decimal`` (``--sep``, ``--decimal``) win over detection; a ``.tsv`` file is
    tab-separated. Otherwise the separator is the first of tab, ``;``, ``|`` and ``,`` that
    splits every sampled line into the same number of fields, and the decimal mark is a comma
    when the separator is not one and the cells hold numbers like ``1,5`` but none like ``1.5``.

    >>> detect(["a;b", "1,5;2", "3,25;4"]).note
    "assumed ';' between fields and decimal commas (1,5 = 1.5); override with --sep and --decimal"
    >>> detect(["a,b", "1.5,2"])
    Dialect(delimiter=',', decimal='.', note='')
    """
    sample = lines[:20]
    if sep is not None:
        delimiter = "\t" if sep in ("\\t", "tab") else sep
    elif suffix == ".tsv":
        delimiter = "\t"
    else:
        delimiter = next((d for d in _SEPARATORS if _consistent(sample, d)), None)
        if delimiter is None:
            try:
                delimiter = csv.Sniffer().sniff("\n".join(sample), delimiters=",;\t|").delimiter
            except csv.Error:
                delimiter = ","
    given_decimal = decimal
    if decimal is None:
        decimal = "."
        if delimiter != ",":
            cells = [cell.strip() for row in csv.reader(sample[1:], delimiter=delimiter)
                     for cell in row]
            if any(_COMMA_NUMBER.match(c) for c in cells) and not any(
                _POINT_NUMBER.match(c) for c in cells
            ):
                decimal = ","
    assumed = []
    if sep is None and delimiter != "," and suffix != ".tsv":
        assumed.append(f"{_NAMES.get(delimiter, repr(delimiter))} between fields")
    if decimal == "," and given_decimal is None:
        assumed.append("decimal commas (1,5 = 1.5)")
    note = ""
    if assumed:
        note = f"assumed {' and '.join(assumed)}; override with --sep and --decimal"
    return Dialect(delimiter, decimal, note)
