"""Data for mixture modelling: classic small data sets shipped with the package, and generated
mixtures (nothing is downloaded).

* :func:`load_old_faithful`: 272 eruptions of the Old Faithful geyser (2-D).
* :func:`load_diabetes`: 145 non-obese adults of Reaven & Miller (1979) (3-D).
* :func:`load_iris`: Fisher's iris measurements (4-D), from scikit-learn's bundled copy.
* :func:`load_speakers`: a small synthetic speaker corpus (espeak-ng voices, 8 kHz FLAC files).
* :mod:`gaussmix.datasets.generate`: :func:`gaussmix.make_mixture`, mixtures whose pairwise
  overlap (:mod:`gaussmix.datasets.overlap`) is set exactly.

Each loader returns a float64 array of shape ``(n_samples, n_features)``, or a pandas DataFrame with
named columns when ``as_frame=True``.

Examples
--------
>>> from gaussmix import datasets
>>> datasets.load_old_faithful().shape
(272, 2)
>>> list(datasets.load_diabetes(as_frame=True).columns)
['glucose', 'insulin', 'sspg']
"""

from __future__ import annotations

import csv
import io
from importlib import resources
from typing import TYPE_CHECKING, Literal, overload

import numpy as np

from .speakers import load_speakers

if TYPE_CHECKING:
    import pandas as pd

    from .._typing import FloatArray

__all__ = ["load_diabetes", "load_iris", "load_old_faithful", "load_speakers"]


def _load_csv(filename, as_frame):
    if not isinstance(as_frame, (bool, np.bool_)):
        raise TypeError(f"as_frame must be True or False, got {as_frame!r}.")
    text = resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    columns = [name.strip() for name in rows[0]]
    values = np.array([[float(v) for v in row] for row in rows[1:] if row], dtype=np.float64)
    if not as_frame:
        return values
    import pandas as pd

    return pd.DataFrame(values, columns=columns)


@overload
def load_old_faithful(*, as_frame: Literal[False] = False) -> FloatArray: ...
@overload
def load_old_faithful(*, as_frame: Literal[True]) -> pd.DataFrame: ...
def load_old_faithful(*, as_frame: bool = False) -> FloatArray | pd.DataFrame:
    """Waiting times and durations of 272 eruptions of the Old Faithful geyser, Yellowstone.

    Columns: ``eruptions`` (duration, minutes) and ``waiting`` (minutes to the next eruption).
    The classic two-dimensional mixture example (Azzalini & Bowman 1990; Härdle 1991): short
    eruptions followed by short waits, long ones by long waits. Model-based clustering with BIC
    (e.g. R's mclust) prefers about three components with a common full covariance (``'tied'``)
    or two with separate full covariances.

    Parameters
    ----------
    as_frame : bool, default=False
        Return a pandas DataFrame with the column names instead of an array.

    Returns
    -------
    ndarray of shape (272, 2) or DataFrame
    """
    return _load_csv("old_faithful.csv", as_frame)


@overload
def load_diabetes(*, as_frame: Literal[False] = False) -> FloatArray: ...
@overload
def load_diabetes(*, as_frame: Literal[True]) -> pd.DataFrame: ...
def load_diabetes(*, as_frame: bool = False) -> FloatArray | pd.DataFrame:
    """Reaven & Miller's (1979) diabetes data: 145 non-obese adults, three measurements.

    Columns: ``glucose`` (plasma glucose response to oral glucose), ``insulin`` (plasma insulin
    response) and ``sspg`` (steady-state plasma glucose, a measure of insulin resistance). The
    subjects were classified clinically as normal, chemical and overt diabetics; the classes are
    not included. A classic three-dimensional model-based clustering example (elongated, unequal
    groups). Not scikit-learn's ``load_diabetes``, which is a different (regression) data set.

    Parameters
    ----------
    as_frame : bool, default=False
        Return a pandas DataFrame with the column names instead of an array.

    Returns
    -------
    ndarray of shape (145, 3) or DataFrame
    """
    return _load_csv("diabetes.csv", as_frame)


@overload
def load_iris(*, as_frame: Literal[False] = False) -> FloatArray: ...
@overload
def load_iris(*, as_frame: Literal[True]) -> pd.DataFrame: ...
def load_iris(*, as_frame: bool = False) -> FloatArray | pd.DataFrame:
    """Fisher's iris data (150 flowers, 4 measurements in cm), from scikit-learn's bundled copy.

    Parameters
    ----------
    as_frame : bool, default=False
        Return a pandas DataFrame with the column names instead of an array.

    Returns
    -------
    ndarray of shape (150, 4) or DataFrame
    """
    if not isinstance(as_frame, (bool, np.bool_)):
        raise TypeError(f"as_frame must be True or False, got {as_frame!r}.")
    from sklearn.datasets import load_iris as _sklearn_iris

    bunch = _sklearn_iris(as_frame=bool(as_frame))
    return bunch.data if as_frame else np.asarray(bunch.data, dtype=np.float64)
