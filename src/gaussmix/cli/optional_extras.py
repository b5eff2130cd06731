"""Verbs that need an optional extra: a missing one is one line naming what to install."""

from __future__ import annotations

import functools

from .options import CliError, one_line


def needs_extra(func):
    """Turn the ``ImportError`` of :func:`gaussmix._optional.require` (which names the extra,
    e.g. ``pip install "gaussmix[explore]"``) into the one-line error of exit status 1, instead
    of an "internal error". Put it inside ``fail_cleanly``."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ImportError as exc:
            if "pip install" not in str(exc):  # not a missing extra: a real bug
                raise
            raise CliError(one_line(exc)) from None

    return wrapper
