"""Memory-mapped arrays: the in-memory E-step over slices, with validation chunk by chunk.

The start works on the memmap itself (the initialisers read only their subsample, or stream chunk
by chunk), so a memmap fit equals the in-memory fit of the same data.
"""

from __future__ import annotations

from ..engine.estep import em_statistics
from ..engine.validation import (
    FLOAT_DTYPES,
    allows_missing,
    check_n_features,
    check_rows,
    check_sample_weight,
    first_nonfinite_row,
    nonfinite_row_message,
)
from .memory import DataPath


def _prepare(estimator, X, sample_weight, reset, random_state=None):
    if X.dtype.type not in FLOAT_DTYPES:
        raise TypeError(
            f"X is a memory-mapped array of dtype {X.dtype}; gaussmix streams float32 or float64 "
            "files without copying them, but any other dtype would have to be converted whole in "
            "memory. Convert the file once, block by block, e.g. out = np.lib.format.open_memmap("
            "'x32.npy', mode='w+', dtype=np.float32, shape=X.shape); out[a:b] = X[a:b] for each "
            "block, or pass np.asarray(X, dtype=np.float32) if it fits in memory."
        )
    check_rows(estimator, X)
    check_n_features(estimator, X.shape[1], reset)
    bad = first_nonfinite_row(X, missing=allows_missing(estimator))
    if bad >= 0:
        raise ValueError(nonfinite_row_message(estimator, bad, "memory-mapped", X[bad]))
    sample_weight = check_sample_weight(sample_weight, X.shape[0], estimator.n_components,
                                        X.dtype)
    return X, sample_weight, (X, sample_weight)


#: ``np.memmap`` input (e.g. ``np.load(path, mmap_mode="r")``).
MEMMAP = DataPath("memmap", _prepare, em_statistics)
