"""Data that does not sit in memory: memory-mapped files, mini-batch streams and Dask arrays.

The EM driver in :mod:`gaussmix.mixture` never needs all rows at once: an iteration is a sum of
per-chunk :class:`~gaussmix._stats.SuffStats` followed by one M-step. This module supplies the
pieces that differ by where the rows live:

* :func:`backend_for` picks how ``fit`` validates ``X``, draws its initialisation data and computes
  the statistics: ``None`` (the in-memory path, untouched), :data:`MEMMAP` for ``np.memmap``
  (validation chunk by chunk, so nothing is copied whole), or :mod:`gaussmix.backends.dask`.
* :func:`partial_fit` is stepwise (online) EM over mini-batches (Cappé & Moulines 2009; Liang &
  Klein 2009): per-sample statistics of each batch are blended into running statistics with a
  decaying step size ``rho_t = (t + learning_offset) ** -learning_decay``, then one M-step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _covariance as cov
from ._stats import (
    Kernel,
    SuffStats,
    em_statistics,
    m_step,
    resolution_floor,
    single_threaded_blas,
)

_FLOAT_DTYPES = (np.float64, np.float32)
# Rows per block when scanning a memory-mapped file for non-finite values.
_SCAN_ROWS = 65_536


# ---------------------------------------------------------------------- dispatch
def is_dask_collection(X):
    """True for Dask objects, detected without importing Dask."""
    module = type(X).__module__ or ""
    return module == "dask" or module.startswith("dask.")


def backend_for(X):
    """How ``fit`` handles ``X``: ``None`` for ordinary in-memory data, else a backend.

    A backend offers ``prepare(estimator, X, sample_weight, reset, random_state)`` returning
    ``(X, sample_weight, (X_init, sample_weight_init))`` and
    ``em_statistics(X, sample_weight, kernel, chunk)`` returning summed :class:`SuffStats`.
    """
    if isinstance(X, np.memmap):
        return MEMMAP
    if is_dask_collection(X):
        from .backends import dask as dask_backend

        return dask_backend
    return None


# ---------------------------------------------------------------------- sampling
# ---------------------------------------------------------------------- memory-mapped arrays
def first_nonfinite_row(X, start=0, stop=None, block=_SCAN_ROWS):
    """Index of the first row of ``X[start:stop]`` holding NaN or inf, or ``-1``; reads in blocks."""
    stop = X.shape[0] if stop is None else stop
    for a in range(start, stop, block):
        b = min(a + block, stop)
        part = X[a:b]
        if np.isfinite(np.sum(part, dtype=np.float64)):
            continue  # the common case: one pass, no temporary array
        bad = np.flatnonzero(~np.isfinite(part).all(axis=1))
        if len(bad):
            return a + int(bad[0])
    return -1


def check_n_features(estimator, n_features, reset):
    """Set (``reset``) or check ``n_features_in_`` for data that bypasses ``validate_data``."""
    name = type(estimator).__name__
    if reset:
        estimator.n_features_in_ = n_features
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )


def check_rows(estimator, X, what="X"):
    """Shape and dtype checks shared by the memmap and Dask paths (no data is read)."""
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D {what} of shape (n_samples, n_features), got {X.ndim}-D with shape "
            f"{X.shape}. Reshape your data, e.g. X.reshape(-1, 1) for a single feature."
        )
    n_samples, n_features = X.shape
    if n_features < 1:
        raise ValueError(f"{what} has 0 features; at least 1 is required.")
    if n_samples < max(2, estimator.n_components):
        raise ValueError(
            f"Expected n_samples >= max(2, n_components) but got n_components = "
            f"{estimator.n_components}, n_samples = {n_samples}. Use fewer components or more data."
        )


def _prepare_memmap(estimator, X, sample_weight, reset, random_state):
    from .mixture import _check_sample_weight

    if X.dtype.type not in _FLOAT_DTYPES:
        raise TypeError(
            f"X is a memory-mapped array of dtype {X.dtype}; gaussmix streams float32 or float64 "
            "files without copying them, but any other dtype would have to be converted whole in "
            "memory. Convert the file once, block by block, e.g. out = np.lib.format.open_memmap("
            "'x32.npy', mode='w+', dtype=np.float32, shape=X.shape); out[a:b] = X[a:b] for each "
            "block, or pass np.asarray(X, dtype=np.float32) if it fits in memory."
        )
    check_rows(estimator, X)
    check_n_features(estimator, X.shape[1], reset)
    bad = first_nonfinite_row(X)
    if bad >= 0:
        raise ValueError(
            f"X contains NaN or infinity in row {bad}; remove or impute such rows before fitting."
        )
    sample_weight = _check_sample_weight(sample_weight, X.shape[0], estimator.n_components)
    return X, sample_weight, (X, sample_weight)


class _MemmapBackend:
    """``np.memmap`` input: the in-memory E-step over slices, with validation chunk by chunk.

    Initialisation works on the memmap itself (the initialisers read only their subsample, or
    stream chunk by chunk), so a memmap fit equals the in-memory fit of the same data.
    """

    name = "memmap"
    prepare = staticmethod(_prepare_memmap)
    em_statistics = staticmethod(em_statistics)


MEMMAP = _MemmapBackend()


# ---------------------------------------------------------------------- stepwise EM
def step_size(step, learning_decay, learning_offset):
    """Weight ``rho`` of the ``step``-th batch (0-based) in the running statistics.

    ``rho_0 = 1`` (the first batch has nothing to blend with); afterwards
    ``rho_t = (t + learning_offset) ** -learning_decay``, which sums to infinity while its squares
    converge for ``learning_decay`` in (0.5, 1], the Robbins-Monro conditions.
    """
    if step == 0:
        return 1.0
    return float(min(1.0, (step + learning_offset) ** -learning_decay))


def stats_from_parameters(weights, means, covariances, covariance_type, shift, reg_covar):
    """Per-sample statistics whose M-step returns the given parameters (an inverse M-step).

    Lets ``partial_fit`` continue from a model fitted by ``fit`` (or loaded from a file): its
    parameters become the running statistics, worth one batch.
    """
    weights = np.asarray(weights, dtype=np.float64)
    weights = weights / weights.sum()
    means = np.asarray(means, dtype=np.float64)
    covariances = np.asarray(covariances, dtype=np.float64)
    n_components, n_features = means.shape
    stats = SuffStats(n_components, n_features, covariance_type, shift)
    mc = means - stats.shift
    stats.nk = weights.copy()
    stats.s1 = weights[:, None] * mc
    eye = np.eye(n_features)
    if covariance_type == "full":
        inner = covariances - reg_covar * eye + mc[:, :, None] * mc[:, None, :]
        stats.s2 = weights[:, None, None] * inner
    elif covariance_type == "tied":
        stats.s2 = covariances - reg_covar * eye + (weights * mc.T) @ mc
    elif covariance_type == "diag":
        stats.s2 = weights[:, None] * (covariances - reg_covar + mc**2)
    else:
        stats.s2 = weights[:, None] * ((covariances - reg_covar)[:, None] + mc**2)
    stats.weight = 1.0
    return stats


def blend(running, batch, rho):
    """``(1 - rho) * running + rho * batch / batch.weight``: the stepwise EM update, around the
    batch's centres (the running statistics are moved there first)."""
    per_sample = batch.scale(1.0 / batch.weight)
    if running is None or rho >= 1.0:
        return per_sample
    return running.recentred(per_sample.shift).scale(1.0 - rho) + per_sample.scale(rho)


@dataclass
class StreamState:
    """Running statistics of ``partial_fit`` and the ``means_`` array they produced.

    ``means`` identifies the parameters the statistics belong to: after ``fit``, ``set_params``
    or any other change of ``means_`` the state is stale and is rebuilt from the parameters.
    """

    stats: SuffStats
    step: int
    means: np.ndarray


def partial_fit(model, X, sample_weight=None):
    """One stepwise-EM update of ``model`` from the batch ``X`` (see ``GaussianMixture.partial_fit``)."""
    # Small matrices only (one batch, K factors): multi-threaded BLAS would only add latency.
    with single_threaded_blas():
        return _partial_fit(model, X, sample_weight)


def _partial_fit(model, X, sample_weight):
    from .mixture import _check_sample_weight, _validate_numeric

    model._check_hyperparameters()
    if is_dask_collection(X):
        raise TypeError(
            "partial_fit takes in-memory batches (NumPy arrays). For a Dask array call fit(X), "
            "which runs EM on the workers, or pass batches with X_batch.compute()."
        )
    state = getattr(model, "_stream_state", None)
    if not hasattr(model, "means_"):
        X, sample_weight = model._validate_fit_input(X, sample_weight, reset=True)
        model._check_initial_parameters(X.shape[1])
        dtype = X.dtype.type
        chunk = model._chunk_rows(X.shape[1], dtype)
        random_state = check_random_state(model.random_state)
        params = model._initial_parameters(X, sample_weight, random_state, chunk)
        running, step = None, 0
    else:
        check_is_fitted(model, "means_")
        fitted_shape = cov.covariance_shape(model.covariance_type, *model.means_.shape)
        if model.means_.shape[0] != model.n_components or model.covariances_.shape != fitted_shape:
            raise ValueError(
                f"partial_fit continues from the fitted {model.means_.shape[0]} components with "
                f"covariances of shape {model.covariances_.shape}, which do not fit "
                f"n_components={model.n_components}, covariance_type={model.covariance_type!r}. "
                "Start a new GaussianMixture for the new settings."
            )
        X = _validate_numeric(model, X, reset=False)
        sample_weight = _check_sample_weight(sample_weight, X.shape[0])
        dtype = model.means_.dtype.type
        params = model._current_parameters()
        if state is not None and state.means is model.means_:
            running, step = state.stats, state.step
        else:  # fitted by fit (or changed since): its parameters count as one batch
            weights, means, covariances = params[:3]
            running = stats_from_parameters(  # around each mean: nothing cancels
                weights, means, covariances, model.covariance_type, means, model.reg_covar,
            )
            running.loglik = float(getattr(model, "lower_bound_", 0.0))
            if not np.isfinite(running.loglik):
                running.loglik = 0.0
            step = 1
    weights, means, _, prec_chol = params
    shift = weights @ means
    kernel_dtype = np.result_type(X.dtype, dtype).type
    kernel = Kernel(weights, means, prec_chol, model.covariance_type, shift, kernel_dtype)
    chunk = model._chunk_rows(X.shape[1], kernel_dtype)
    batch = em_statistics(X, sample_weight, kernel, chunk)
    rho = step_size(step, model.learning_decay, model.learning_offset)
    running = blend(running, batch, rho)
    weights, means, covariances = m_step(running, model.reg_covar, 10 * np.finfo(dtype).eps)
    floor = resolution_floor(weights, means, covariances, model.covariance_type, dtype)
    prec_chol = cov.precision_cholesky(covariances, model.covariance_type, floor)
    model._set_parameters(weights, means, covariances, prec_chol, dtype)
    model._stream_state = StreamState(running, step + 1, model.means_)
    model.n_iter_ = step + 1
    model.converged_ = False
    model.lower_bound_ = float(running.loglik / running.weight)
    model.lower_bounds_ = []
    return model
