"""The checks and covariances of :meth:`HighDimensionalMixture.from_parameters`.

Given HDDC parameters (orthonormal bases ``Q_k`` of the subspaces, variances ``a_kj`` inside,
``b_k`` outside), each is checked on its own (shape, finite, positive, orthonormal) and then
against the submodel's constraints (:data:`~gaussmix.engine.covariance.subspace.SUBSPACE_MODELS`:
which parts are shared across components), with a ``ValueError`` naming the parameter.
"""

from __future__ import annotations

import numpy as np

from ..engine.covariance.subspace import SUBSPACE_MODELS, canonical_name
from ..engine.validation import as_float_array
from .structured import tolerance, unequal


def _per_component(values, name, n_components):
    """``values`` as a list of ``n_components`` items, or a clear error."""
    try:
        if isinstance(values, (str, bytes)):
            raise TypeError
        items = list(values)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of n_components={n_components} arrays, "
                         f"got {type(values).__name__}.") from None
    if len(items) != n_components:
        raise ValueError(f"{name} must hold one entry per component "
                         f"(n_components={n_components}), got {len(items)}.")
    return items


def _bases(subspaces, n_components, n_features, tol):
    """The checked ``(D, d_k)`` bases (float64)."""
    bases = []
    for k, basis in enumerate(_per_component(subspaces, "subspaces", n_components)):
        name = f"subspaces[{k}]"
        basis = as_float_array(basis, name)
        if basis.ndim != 2 or basis.shape[0] != n_features or not 1 <= basis.shape[1] \
                < n_features:
            raise ValueError(f"{name} must have shape (n_features, d_k) = ({n_features}, d_k) "
                             f"with 1 <= d_k < {n_features}, got {basis.shape}.")
        if not np.all(np.isfinite(basis)):
            raise ValueError(f"{name} must be finite (no NaN or infinity).")
        basis = basis.astype(np.float64)
        gram = basis.T @ basis
        error = np.max(np.abs(gram - np.eye(len(gram))))
        if error > tol:
            raise ValueError(f"{name} must have orthonormal columns (Q^T Q = I within {tol:.1e}); "
                             f"it is off by {error:.2e}. Orthonormalise it, e.g. with "
                             "numpy.linalg.qr(basis)[0].")
        bases.append(basis)
    return bases


def _signal(signal_variances, dims, noise):
    """The checked ``(d_k,)`` signal variances (float64)."""
    out = []
    items = _per_component(signal_variances, "signal_variances", len(dims))
    for k, (values, d) in enumerate(zip(items, dims)):
        name = f"signal_variances[{k}]"
        values = as_float_array(values, name)
        if values.ndim > 1 or values.ndim == 1 and len(values) != d:
            raise ValueError(f"{name} must hold d_k = {d} values (the width of subspaces[{k}]) "
                             f"or one, got shape {values.shape}.")
        values = np.broadcast_to(values.astype(np.float64), (d,))
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name} must be finite (no NaN or infinity).")
        if not np.all(values > noise[k]):
            raise ValueError(f"{name} must be above noise_variances[{k}] = {noise[k]!r} (the "
                             "subspace holds a component's largest variances); the smallest "
                             f"given is {values.min()!r}.")
        out.append(values)
    return out


def subspace_covariances(model, shape, subspaces, signal_variances, noise_variances,
                         dimensions, dtype):
    """``(covariances (K, D, D) float64, dimensions (K,) int)`` of checked HDDC parameters
    of ``model`` (a :class:`~gaussmix.HighDimensionalMixture`) for means of ``shape``."""
    n_components, n_features = shape
    tol = tolerance(dtype)
    bases = _bases(subspaces, n_components, n_features, tol)
    dims = np.array([b.shape[1] for b in bases])
    name = canonical_name(model.model)
    signal_kind, noise_kind, orientation, rule = SUBSPACE_MODELS[name]
    if dimensions is not None:
        given = as_float_array(dimensions, "dimensions")
        if given.shape != dims.shape or np.any(given != dims):
            raise ValueError(f"dimensions must be the widths of subspaces, {dims.tolist()}; "
                             f"got {given.tolist()}. Leave dimensions out, or make them agree.")
    if (rule == "d" or orientation == "q") and np.any(dims != dims[0]):
        raise ValueError(f"model {name!r} has one dimension for every component; subspaces "
                         f"have widths {dims.tolist()}.")
    if model.dimension != "cattell" and np.any(dims != min(model.dimension, n_features - 1)):
        raise ValueError(f"dimension={model.dimension!r} makes every subspace of width "
                         f"{min(model.dimension, n_features - 1)}; subspaces have widths "
                         f"{dims.tolist()}. Give dimension='cattell' or bases of that width.")
    if orientation == "q" and unequal(np.stack(bases), 0, dtype):
        raise ValueError(f"model {name!r} has one orientation: give the same matrix in "
                         "subspaces for every component.")
    noise = as_float_array(noise_variances, "noise_variances")
    if noise.shape != (n_components,):
        raise ValueError(f"noise_variances must have shape (n_components,) = "
                         f"({n_components},), got {noise.shape}.")
    noise = noise.astype(np.float64)
    if not np.all(np.isfinite(noise) & (noise > 0)):
        raise ValueError(f"noise_variances must be positive and finite, got {noise.tolist()}.")
    if noise_kind == "b" and unequal(noise, 0, dtype):
        raise ValueError(f"model {name!r} has one noise variance: give the same "
                         "noise_variances for every component.")
    signal = _signal(signal_variances, dims, noise)
    shared = {"ak": "within each component", "a": "everywhere",
              "aj": "across components"}.get(signal_kind)
    if signal_kind == "ak" and any(unequal(values, 0, dtype) for values in signal) \
            or signal_kind == "a" and unequal(np.concatenate(signal), 0, dtype) \
            or signal_kind == "aj" and unequal(np.stack(signal), 0, dtype):
        raise ValueError(f"model {name!r} needs signal_variances equal {shared}.")
    covariances = np.empty((n_components, n_features, n_features))
    for k, (basis, values) in enumerate(zip(bases, signal)):
        covariances[k] = (basis * (values - noise[k])) @ basis.T
        covariances[k] = 0.5 * (covariances[k] + covariances[k].T)
        covariances[k][np.diag_indices(n_features)] += noise[k]
    return covariances, dims
