"""A :class:`~gaussmix.BayesianGaussianMixture` in a model file (format version 2).

The file holds everything a :class:`~gaussmix.GaussianMixture` file holds (the expected weights,
means, covariances and precision factors the model predicts with) plus the variational
posterior and the priors it was fitted under, so the loaded model predicts bit for bit like the
saved one and ``warm_start`` continues it:

============================  ==========================================================
member                        content (all float64)
============================  ==========================================================
``weight_concentration.npy``  ``(2, K)`` Beta parameters of the stick-breaking posterior
                              (``'dirichlet_process'``) or ``(K,)`` Dirichlet parameters
``mean_precision.npy``        ``(K,)``
``degrees_of_freedom.npy``    ``(K,)``, or ``()`` for ``'tied'``
``mean_prior.npy``            ``(D,)`` the prior mean used (``mean_prior_``)
``covariance_prior.npy``      one component's covariance shape: the prior used
``param_mean_prior.npy``,     optional: the hyper-parameters ``mean_prior`` and
``param_covariance_prior.npy``  ``covariance_prior`` when they were given as arrays
============================  ==========================================================

The metadata's ``posterior`` object holds the scalar priors used: ``weight_concentration_prior_``,
``mean_precision_prior_`` and ``degrees_of_freedom_prior_``.
"""

from __future__ import annotations

import numpy as np

from ..engine import covariance
from ..engine import variational as vb
from ..estimators import BayesianGaussianMixture

ESTIMATOR = "BayesianGaussianMixture"
FORMAT_VERSION = 2
REQUIRED = ("weight_concentration", "mean_precision", "degrees_of_freedom", "mean_prior",
            "covariance_prior")
#: Hyper-parameters that may be arrays, stored as ``param_<name>.npy``.
ARRAY_PARAMS = ("mean_prior", "covariance_prior")
OPTIONAL = tuple(f"param_{name}" for name in ARRAY_PARAMS)
SCALAR_PRIORS = ("weight_concentration_prior_", "mean_precision_prior_",
                 "degrees_of_freedom_prior_")


class InvalidPosterior(ValueError):
    """A problem with the stored posterior (the reader names the file)."""


def is_bayesian(model):
    return isinstance(model, BayesianGaussianMixture)


def posterior_arrays(model):
    """The posterior members of ``model``'s file, and the metadata's ``posterior`` object."""
    concentration = model.weight_concentration_
    if isinstance(concentration, tuple):
        concentration = np.stack(concentration)
    arrays = {
        "weight_concentration": np.asarray(concentration, dtype=np.float64),
        "mean_precision": np.asarray(model.mean_precision_, dtype=np.float64),
        "degrees_of_freedom": np.asarray(model.degrees_of_freedom_, dtype=np.float64),
        "mean_prior": np.asarray(model.mean_prior_, dtype=np.float64),
        "covariance_prior": np.asarray(model.covariance_prior_, dtype=np.float64),
    }
    return arrays, {name: float(getattr(model, name)) for name in SCALAR_PRIORS}


def split_array_param(value):
    """``(json_value, array or None)`` for a hyper-parameter that may be an array."""
    if value is None or np.ndim(value) == 0 and isinstance(value, (int, float, np.number)):
        return (None if value is None else float(value)), None
    return None, np.asarray(value, dtype=np.float64)


def shapes(metadata):
    """Expected shapes of the posterior members (those of the optional ones included)."""
    k, d = metadata["n_components"], metadata["n_features"]
    model = covariance.get(metadata["covariance_type"])
    component = model.component_shape(d)
    prior_type = metadata.get("params", {}).get("weight_concentration_prior_type")
    return {
        "weight_concentration": (2, k) if prior_type == "dirichlet_process" else (k,),
        "mean_precision": (k,),
        "degrees_of_freedom": () if model.shared else (k,),
        "mean_prior": (d,),
        "covariance_prior": component,
        "param_mean_prior": (d,),
        "param_covariance_prior": component,
    }


def build(metadata, arrays, params):
    """The fitted :class:`BayesianGaussianMixture` of a file's checked arrays; raises
    :class:`InvalidPosterior` for a posterior no fit could have given."""
    prior_type = params.get("weight_concentration_prior_type", "dirichlet_process")
    if prior_type not in ("dirichlet_process", "dirichlet_distribution"):
        raise InvalidPosterior(f"unknown weight_concentration_prior_type {prior_type!r}.")
    for name in ARRAY_PARAMS:
        if f"param_{name}" in arrays:
            params[name] = arrays[f"param_{name}"]
    k, d = metadata["n_components"], metadata["n_features"]
    ctype = metadata["covariance_type"]
    model_of = covariance.get(ctype)
    if not model_of.conjugate:
        raise InvalidPosterior(f"a Bayesian mixture has no covariance_type {ctype!r}.")
    posterior = metadata.get("posterior")
    if not isinstance(posterior, dict) or not all(
            isinstance(posterior.get(name), (int, float)) and not isinstance(posterior[name], bool)
            and np.isfinite(posterior[name]) and posterior[name] > 0 for name in SCALAR_PRIORS):
        raise InvalidPosterior("metadata posterior must give the positive priors "
                               + ", ".join(SCALAR_PRIORS) + ".")
    concentration = arrays["weight_concentration"]
    if np.any(concentration <= 0):
        raise InvalidPosterior("weight_concentration.npy must be positive.")
    if np.any(arrays["mean_precision"] <= 0):
        raise InvalidPosterior("mean_precision.npy must be positive.")
    if np.any(arrays["degrees_of_freedom"] <= d - 1):
        raise InvalidPosterior(f"degrees_of_freedom.npy must exceed n_features - 1 = {d - 1}.")
    if posterior["degrees_of_freedom_prior_"] <= d - 1:
        raise InvalidPosterior(f"degrees_of_freedom_prior_ must exceed n_features - 1 = {d - 1}.")
    try:
        model_of.precision_cholesky(np.broadcast_to(arrays["covariance_prior"],
                                                    model_of.shape(1, d)))
    except ValueError:
        raise InvalidPosterior("covariance_prior.npy is not positive definite.") from None
    if prior_type == "dirichlet_process":
        concentration = (concentration[0], concentration[1])
    expected = vb.mixture_weights(concentration, prior_type)
    if not np.allclose(arrays["weights"], expected, rtol=1e-5, atol=1e-7):
        raise InvalidPosterior("weights.npy does not match weight_concentration.npy.")
    try:
        model = BayesianGaussianMixture(k, covariance_type=ctype, **params)
        model._check_hyperparameters()
    except (TypeError, ValueError) as exc:
        raise InvalidPosterior(str(exc)) from None
    model.weight_concentration_ = concentration
    model.mean_precision_ = arrays["mean_precision"]
    model.degrees_of_freedom_ = arrays["degrees_of_freedom"]
    model.mean_prior_ = arrays["mean_prior"]
    model.covariance_prior_ = arrays["covariance_prior"]
    for name in SCALAR_PRIORS:
        setattr(model, name, float(posterior[name]))
    return model
