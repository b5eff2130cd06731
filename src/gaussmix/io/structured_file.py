"""A :class:`~gaussmix.HighDimensionalMixture` or :class:`~gaussmix.FactorMixture` in a model
file (format version 3).

Their covariances are full ``(K, D, D)`` matrices (``"covariance_type": "full"``, the
representation), stored and checked as a :class:`~gaussmix.GaussianMixture`'s are; the
estimator's own parameters (``model``, ``dimension``, ``threshold``; ``model``,
``n_factors``) are among the metadata's ``params``. What the covariances alone do not give
back, and the next M-step (``warm_start``) and the parameter count need, is stored as:

=========================  =========================================================
member                     content (float64)
=========================  =========================================================
``dimensions.npy``         ``(K,)`` HDDC: each component's intrinsic dimension
                           (``dimensions_``), integers from 1 to ``D - 1``
``noise_variances.npy``    ``(K, D)`` factor models: ``noise_variances_``
``loadings.npy``           ``(K, D, q)`` factor models: ``loadings_``, ``q`` =
                           ``min(n_factors, D - 1)``
=========================  =========================================================

Loading checks them against the model they claim to be: dimensions within range, equal where
the submodel shares them (a fixed ``dimension``, a common dimension or orientation), and each
covariance with an eigenvalue repeated ``D - d_k`` times (its noise); noise variances positive
and constrained as the model's code says (shared, isotropic), loadings shared where the code
says so, and ``loadings loadings^T + diag(noise)`` equal to the stored covariances up to the
dtype's rounding.
"""

from __future__ import annotations

import numpy as np

from ..engine.covariance.factors import pack
from ..engine.covariance.subspace import SUBSPACE_MODELS, canonical_name
from ..estimators import FactorMixture, HighDimensionalMixture
from ..estimators.structured import StructuredState

FORMAT_VERSION = 3
#: estimator name -> (class, the members of its file, the parameters its shapes depend on)
ESTIMATORS = {
    "HighDimensionalMixture": (HighDimensionalMixture, ("dimensions",),
                               ("model", "dimension", "threshold")),
    "FactorMixture": (FactorMixture, ("noise_variances", "loadings"), ("model", "n_factors")),
}
OPTIONAL = ("dimensions", "noise_variances", "loadings")
#: A stored covariance may depart from its model's structure by this many times its dtype's
#: rounding (relative to its largest eigenvalue or variance, per feature).
ROUNDING = 100.0


class InvalidStructure(ValueError):
    """A problem with the stored structure (the reader names the file)."""


def structure_arrays(model):
    """The members that restore ``model``'s structure (empty for other estimators)."""
    if isinstance(model, HighDimensionalMixture):
        return {"dimensions": np.asarray(model.dimensions_, dtype=np.float64)}
    if isinstance(model, FactorMixture):
        return {"noise_variances": np.asarray(model.noise_variances_, dtype=np.float64),
                "loadings": np.asarray(model.loadings_, dtype=np.float64)}
    return {}


def check_metadata(metadata, members):
    """Refuse a file whose structured members do not belong to its estimator, or whose
    estimator's own parameters are invalid (before any shape is derived from them)."""
    entry = ESTIMATORS.get(metadata["estimator"])
    wanted = entry[1] if entry is not None else ()
    for name in OPTIONAL:
        if (name in members) != (name in wanted):
            what = "needs" if name in wanted else "has no"
            raise InvalidStructure(f"a {metadata['estimator']} file {what} {name}.npy.")
    if entry is None:
        return
    if metadata["format_version"] < FORMAT_VERSION:
        raise InvalidStructure(f"a {metadata['estimator']} needs format version "
                               f"{FORMAT_VERSION}; the file says {metadata['format_version']}.")
    if metadata["n_features"] < 2:
        raise InvalidStructure(f"a {metadata['estimator']} needs at least 2 features.")
    params = metadata.get("params", {})
    own = {name: params[name] for name in entry[2] if name in params}
    try:
        entry[0](**own)._check_hyperparameters()
    except (TypeError, ValueError) as exc:
        raise InvalidStructure(str(exc)) from None


def shapes(metadata):
    """The shapes of this module's members in a file of (checked) ``metadata``."""
    k, d = metadata["n_components"], metadata["n_features"]
    n_factors = metadata.get("params", {}).get("n_factors", FactorMixture().n_factors)
    q = min(n_factors, d - 1) if metadata["estimator"] == "FactorMixture" else 0
    return {"dimensions": (k,), "noise_variances": (k, d), "loadings": (k, d, q)}


def build(metadata, arrays, params):
    """The model of a file's checked arrays, with its structure restored; raises
    :class:`InvalidStructure` for a structure its model could not have fitted."""
    estimator = ESTIMATORS[metadata["estimator"]][0]
    k, d = metadata["n_components"], metadata["n_features"]
    try:
        model = estimator(k, **params)
        model._check_hyperparameters()
    except (TypeError, ValueError) as exc:
        raise InvalidStructure(str(exc)) from None
    covariances = arrays["covariances"]
    eps = np.finfo(covariances.dtype).eps
    if estimator is HighDimensionalMixture:
        extra = _check_dimensions(model, arrays["dimensions"], covariances, d, eps)
    else:
        extra = _check_factors(model, arrays["noise_variances"], arrays["loadings"],
                               covariances, d, eps)
    model._store_state(StructuredState(arrays["weights"], arrays["means"], covariances,
                                       arrays["precisions_cholesky"], extra=extra),
                       arrays["means"].dtype)
    model.n_features_in_ = d
    return model


def _check_dimensions(model, dimensions, covariances, d, eps):
    if np.any(dimensions != np.rint(dimensions)) or np.any(dimensions < 1) \
            or np.any(dimensions > d - 1):
        raise InvalidStructure(f"dimensions.npy must hold integers from 1 to {d - 1}.")
    dims = dimensions.astype(int)
    _, _, orientation, rule = SUBSPACE_MODELS[canonical_name(model.model)]
    if model.dimension != "cattell" and np.any(dims != min(model.dimension, d - 1)):
        raise InvalidStructure(f"dimensions.npy must be {min(model.dimension, d - 1)} "
                               f"(dimension={model.dimension}).")
    if (rule == "d" or orientation == "q") and np.any(dims != dims[0]):
        raise InvalidStructure(f"model {model.model!r} has one dimension for every component; "
                               "dimensions.npy differ.")
    if model.dimension == "cattell" and rule == "d":  # chosen from the data before EM
        model._data_dimension = int(dims[0])
    values = np.linalg.eigvalsh(covariances.astype(np.float64))  # ascending
    for k, (vals, dim) in enumerate(zip(values, dims)):
        repeated = d - dim  # the noise: some value repeated D - d_k times
        spread = np.min(vals[repeated - 1:] - vals[:d - repeated + 1])
        if spread > ROUNDING * d * eps * vals[-1]:
            raise InvalidStructure(f"covariances[{k}] has no eigenvalue repeated {repeated} "
                                   f"times, as a subspace of dimension {dim} needs.")
    return dims.astype(np.float64)


def _check_factors(model, noise, loadings, covariances, d, eps):
    code = model.model
    if np.any(noise <= 0):
        raise InvalidStructure("noise_variances.npy must be positive.")
    if code[2] == "C" and np.any(noise != noise[:, :1]):
        raise InvalidStructure(f"model {code!r} has isotropic noise; noise_variances.npy "
                               "varies along a row.")
    if code[1] == "C" and np.any(noise != noise[:1]):
        raise InvalidStructure(f"model {code!r} shares its noise; noise_variances.npy differs "
                               "between components.")
    if code[0] == "C" and np.any(loadings != loadings[:1]):
        raise InvalidStructure(f"model {code!r} shares its loadings; loadings.npy differs "
                               "between components.")
    composed = np.einsum("kiq,kjq->kij", loadings, loadings)
    composed[:, np.arange(d), np.arange(d)] += noise
    stored = covariances.astype(np.float64)
    scale = np.einsum("kii->k", stored).max() if len(stored) else 0.0
    if np.max(np.abs(composed - stored)) > ROUNDING * d * eps * scale:
        raise InvalidStructure("loadings.npy and noise_variances.npy do not give covariances.npy.")
    return pack(noise, loadings)
