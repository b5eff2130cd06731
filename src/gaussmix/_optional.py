"""Optional dependencies: imported where they are needed, with an error naming the extra.

Outside the layers (like ``_version.py``): any layer may use it.
"""

from __future__ import annotations

from importlib import import_module


def require(module, extra, purpose):
    """Import and return ``module``, or raise an ``ImportError`` that names the extra to install.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"skimage.color"``.
    extra : str
        The ``gaussmix`` extra that installs it, e.g. ``"image"``.
    purpose : str
        What needs it, for the message, e.g. ``"segment_image's colour spaces"``.

    Examples
    --------
    >>> from gaussmix._optional import require
    >>> require("math", "none", "this example").sqrt(4.0)
    2.0
    """
    try:
        return import_module(module)
    except ImportError as err:
        top = module.split(".")[0]
        raise ImportError(
            f"{purpose} needs the optional package {top!r}, which is not installed "
            f"({err}). Install it with: pip install \"gaussmix[{extra}]\""
        ) from err
