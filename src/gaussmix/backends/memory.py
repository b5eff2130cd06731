"""In-memory arrays: scikit-learn's validation, then the chunked E-step over the array.

Also :class:`DataPath`, the record every data path is (the Dask path is a module with the same
names).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..engine.estep import em_statistics
from ..engine.validation import check_sample_weight, validate_numeric


def _prepare(estimator, X, sample_weight, reset, random_state=None):
    X = validate_numeric(estimator, X, ensure_min_samples=2, reset=reset)
    n_samples = X.shape[0]
    if n_samples < estimator.n_components:
        raise ValueError(
            f"Expected n_samples >= n_components but got n_components = "
            f"{estimator.n_components}, n_samples = {n_samples}. Use fewer components or more data."
        )
    sample_weight = check_sample_weight(sample_weight, n_samples, estimator.n_components,
                                        X.dtype)
    return X, sample_weight, (X, sample_weight)


@dataclass(frozen=True)
class DataPath:
    """How ``fit`` validates one kind of ``X`` and computes its statistics (see
    :mod:`gaussmix.backends`)."""

    name: str
    prepare: Callable
    em_statistics: Callable


#: Arrays (or anything ``check_array`` accepts) held in this process's memory.
MEMORY = DataPath("memory", _prepare, em_statistics)
