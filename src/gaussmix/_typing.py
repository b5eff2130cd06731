"""Type aliases of the public API's hints, for type checkers only.

Every module that uses them imports them under ``typing.TYPE_CHECKING`` (and has
``from __future__ import annotations``), so nothing here runs, and ``import gaussmix`` stays
free of NumPy. Like ``_optional.py``, this module sits outside the layers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import os
    from typing import Any, TypeAlias

    import numpy as np
    from numpy.typing import ArrayLike, NDArray

    #: ``random_state``, as scikit-learn takes it.
    RandomState: TypeAlias = int | np.random.RandomState | np.random.Generator | None
    #: A file name.
    PathLike: TypeAlias = str | "os.PathLike[str]"
    #: A float64 array (what most results are).
    FloatArray: TypeAlias = NDArray[np.float64]
    #: An array of labels or counts.
    IntArray: TypeAlias = NDArray[np.intp]
    #: A fitted mixture, taken by duck typing: gaussmix's estimators, scikit-learn's, or anything
    #: with ``weights_``, ``means_``, ``covariances_`` and ``covariance_type``.
    Mixture: TypeAlias = Any
    #: A mixture given by its parameters: ``(weights, means, covariances)``.
    MixtureParams: TypeAlias = "tuple[ArrayLike, ArrayLike, ArrayLike]"
