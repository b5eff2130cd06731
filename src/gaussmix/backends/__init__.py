"""Data paths: where the rows live, and how their statistics are computed and reduced.

A data path validates ``X`` for ``fit`` without reading it whole where it cannot be held, draws the
data the start works on, and computes summed E-step statistics for a kernel. The E-step and the
M-step are always the engine's; estimators pick a path with :func:`data_path_for`, so every
estimator gets every path:

* :data:`~gaussmix.backends.memory.MEMORY`: in-memory arrays (validated by scikit-learn);
* :data:`~gaussmix.backends.memmap.MEMMAP`: ``np.memmap`` (validation chunk by chunk, nothing
  copied whole);
* :mod:`gaussmix.backends.dask`: ``dask.array.Array`` (E-step on the workers, statistics
  tree-reduced; ``pip install gaussmix[dask]``), imported only when such data is passed;
* :mod:`gaussmix.backends.stream`: mini-batches for stepwise EM (``partial_fit``).

A data path offers ``prepare(estimator, X, sample_weight, reset, random_state)`` returning
``(X, sample_weight, (X_start, sample_weight_start))`` and ``em_statistics(X, sample_weight,
kernel, chunk, n_threads)`` returning summed :class:`~gaussmix.engine.stats.SuffStats`.
"""

from __future__ import annotations

import numpy as np

from .memmap import MEMMAP
from .memory import MEMORY


def is_dask_collection(X):
    """True for Dask objects, detected without importing Dask."""
    module = type(X).__module__ or ""
    return module == "dask" or module.startswith("dask.")


def data_path_for(X):
    """The data path that ``fit`` takes for ``X``."""
    if isinstance(X, np.memmap):
        return MEMMAP
    if is_dask_collection(X):
        from . import dask as dask_path

        return dask_path
    return MEMORY
