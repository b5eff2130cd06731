"""Dask arrays: the E-step runs on the workers, block by block; only statistics travel.

``GaussianMixture.fit(X)`` with a ``dask.array.Array`` runs each EM iteration as one task per
row-block (:func:`gaussmix.engine.estep.em_statistics` on that block, returning
:class:`~gaussmix.engine.stats.SuffStats` of a few kilobytes), a tree reduction that adds the statistics,
and the M-step on the client. The rows never move to the client, apart from a random sample of at
most :data:`INIT_SAMPLE` rows used for the initialisation (none of it is needed when
``weights_init``, ``means_init`` and ``precisions_init`` are all given, but the sample is small).

Whatever scheduler Dask would use runs the tasks: the default threaded scheduler, or a
``dask.distributed`` cluster once a ``Client`` exists, local or remote::

    from dask.distributed import Client
    import dask.array as da
    import gaussmix as gm

    client = Client("tcp://scheduler-host:8786")   # or Client(LocalCluster(n_workers=4))
    X = da.from_zarr("s3://bucket/features.zarr")  # any 2-D Dask array, chunked along rows
    X = X.persist()                                # keep it in the workers' memory if it fits
    model = gm.GaussianMixture(8, random_state=0).fit(X)
    labels = model.predict(X)                      # lazy: a Dask array, computed on the workers

Workers must be able to import ``gaussmix`` (install it on every worker). Each iteration reads
every block once: persist ``X`` when the cluster has the memory, otherwise each iteration
recomputes (or re-reads) it. Blocks of 10^5 to 10^6 rows keep the per-task overhead small.
Column chunks are merged (``X.rechunk({1: -1})``), so a block holds whole rows.
"""

from __future__ import annotations

import copy
import uuid

import dask
import dask.array as da
import numpy as np

from ..engine.estep import em_statistics as _em_statistics
from ..engine.starts import sample_rows
from ..engine.stats import SuffStats
from ..engine.validation import (
    allows_missing,
    check_n_features,
    check_positive_rows,
    check_rows,
    check_sample_weight,
    check_weight_range,
    first_nonfinite_row,
    nonfinite_row_message,
)

name = "dask"

# Rows pulled to the client for the initialisation (k-means uses up to 100,000, Ward 2,000).
INIT_SAMPLE = 100_000
# Statistics added per reduction task.
_FAN_IN = 8


def _as_array(X, what="X"):
    """A 2-D float Dask array with known row-chunk sizes and one column chunk."""
    if not isinstance(X, da.Array):
        kind = type(X).__name__
        hint = " Use X.to_dask_array(lengths=True)." if hasattr(X, "to_dask_array") else ""
        raise TypeError(f"{what} is a Dask {kind}; gaussmix takes a 2-D dask.array.Array.{hint}")
    if X.dtype.kind not in "fiub":
        raise TypeError(f"{what} must hold real numbers; got a Dask array of dtype {X.dtype}.")
    if X.dtype.type not in (np.float32, np.float64):  # as scikit-learn: others become float64
        X = X.astype(np.float64)
    if X.ndim == 2 and any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            f"{what} has unknown chunk sizes (typical after filtering a Dask DataFrame). Call "
            f"{what}.compute_chunk_sizes(), or build it with df.to_dask_array(lengths=True)."
        )
    if X.ndim == 2 and len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X


def _sample_weight(sample_weight, X):
    """Sample weights as a Dask array aligned with the row blocks of ``X`` (or ``None``)."""
    if sample_weight is None:
        return None
    n_samples = X.shape[0]
    if isinstance(sample_weight, da.Array):
        w = sample_weight
        if w.ndim != 1 or w.shape[0] != n_samples:
            raise ValueError(
                f"sample_weight must be 1-D with one entry per row of X ({n_samples}); got "
                f"shape {w.shape}."
            )
        if w.dtype.kind not in "fiub":
            raise ValueError(f"sample_weight must hold numbers; got dtype {w.dtype}.")
        return w.astype(np.float64).rechunk((X.chunks[0],))
    w = check_sample_weight(sample_weight, n_samples, dtype=X.dtype)  # X's limits, as in memory
    # Sent to the workers once, not with every iteration's graph.
    return da.from_array(w, chunks=(X.chunks[0],)).persist()


def _first_bad_row(block, missing=False):
    return np.array([first_nonfinite_row(block, missing=missing)], dtype=np.int64)


def prepare(estimator, X, sample_weight, reset, random_state):
    """Validate ``X`` lazily and pull the initialisation sample, in one pass over the data.

    Returns ``(X, sample_weight, (X_sample, sample_weight_sample))`` with ``X`` and
    ``sample_weight`` still Dask arrays and the sample in memory.
    """
    X = _as_array(X)
    check_rows(estimator, X)
    check_n_features(estimator, X.shape[1], reset)
    w = _sample_weight(sample_weight, X)
    rows = sample_rows(X.shape[0], INIT_SAMPLE, random_state)
    n_blocks = len(X.chunks[0])
    bad = X.map_blocks(
        _first_bad_row, drop_axis=1, chunks=((1,) * n_blocks,), dtype=np.int64,
        meta=np.empty(0, dtype=np.int64), missing=allows_missing(estimator),
    )
    todo = {"sample": X[rows], "bad": bad}
    if w is not None:
        todo.update(
            w_sample=w[rows], w_finite=da.isfinite(w).all(), w_min=w.min(), w_max=w.max(),
            w_sum=w.sum(), w_positive=da.count_nonzero(w),
        )
    done = dask.compute(todo)[0]
    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])
    bad_rows = offsets[done["bad"] >= 0] + done["bad"][done["bad"] >= 0]
    if len(bad_rows):
        raise ValueError(nonfinite_row_message(estimator, int(bad_rows[0]), "Dask",
                                               X[int(bad_rows[0])].compute()))
    w_sample = None
    if w is not None:
        if not done["w_finite"]:
            raise ValueError("sample_weight contains NaN or infinite values.")
        if done["w_min"] < 0:
            raise ValueError("sample_weight must be non-negative.")
        check_weight_range(float(done["w_max"]), float(done["w_sum"]), X.dtype)
        check_positive_rows(int(done["w_positive"]), estimator.n_components)
        w_sample = np.asarray(done["w_sample"], dtype=np.float64)
        if not w_sample.sum() > 0:  # a sample of rows that all have zero weight
            w_sample = None
    return X, w, (np.asarray(done["sample"]), w_sample)


def _block_statistics(block, weights, kernel, chunk):
    block = np.asarray(block)
    weights = None if weights is None else np.asarray(weights, dtype=np.float64)
    return _em_statistics(block, weights, kernel, chunk)


def _add(*parts):
    total = parts[0].copy()
    for part in parts[1:]:
        total += part
    return total


def em_statistics(X, sample_weight, kernel, chunk, n_threads=None):
    """Summed statistics of all blocks of ``X``: E-step per block on the workers, tree-reduced.

    ``n_threads`` is not used: the scheduler's workers (threads or processes) are the parallelism,
    and each block runs the single-threaded E-step.
    """
    shared = dask.delayed(kernel, name=f"gaussmix-kernel-{uuid.uuid4().hex}")
    blocks = X.to_delayed().ravel()
    if sample_weight is None:
        weights = [None] * len(blocks)
    else:
        weights = sample_weight.to_delayed().ravel()
    statistics = dask.delayed(_block_statistics, pure=True)
    add = dask.delayed(_add, pure=True)
    parts = [statistics(b, w, shared, chunk) for b, w in zip(blocks, weights)]
    while len(parts) > 1:
        parts = [add(*parts[i : i + _FAN_IN]) for i in range(0, len(parts), _FAN_IN)]
    if not parts:
        return SuffStats(kernel.n_components, X.shape[1], kernel.family, kernel.centres)
    return parts[0].compute()


def _apply(block, model, method, n_components):
    if block.shape[0] == 0:
        shape = (0, n_components) if method == "predict_proba" else (0,)
        dtype = np.intp if method == "predict" else model.means_.dtype
        return np.empty(shape, dtype=dtype)
    return getattr(model, method)(block)


def apply(model, X, method):
    """Lazy ``model.<method>(X)`` for a Dask array: one task per row block.

    The model is copied, so refitting it later does not change the result.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "means_")
    X = _as_array(X)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D X of shape (n_samples, n_features), got shape {X.shape}.")
    check_n_features(model, X.shape[1], reset=False)
    snapshot = copy.deepcopy(model)
    if method == "predict":
        dtype = np.dtype(np.intp)
    else:
        dtype = np.result_type(X.dtype, model.means_.dtype)
    k = model._n_columns()  # a noise component adds a column
    if method == "predict_proba":
        return X.map_blocks(
            _apply, snapshot, method, k, dtype=dtype, chunks=(X.chunks[0], (k,)),
            meta=np.empty((0, 0), dtype=dtype),
        )
    return X.map_blocks(
        _apply, snapshot, method, k, dtype=dtype, drop_axis=1, meta=np.empty(0, dtype=dtype)
    )
