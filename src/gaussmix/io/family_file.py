"""What a model file holds beyond a Gaussian mixture's parameters: a Student-t mixture's degrees
of freedom (``dofs.npy``) and a noise component (metadata ``"noise"``: its weight and the
log-volume of its region; ``noise_bounds.npy``: the box it spans, when known). Files holding
either state format version 3, so that an older gaussmix refuses them instead of misreading
them as a Gaussian mixture."""

from __future__ import annotations

import math

import numpy as np

from ..estimators import StudentMixture

FORMAT_VERSION = 3
ESTIMATOR = "StudentMixture"
OPTIONAL = ("dofs", "noise_bounds")


def family_parts(model):
    """``(arrays, metadata)`` of the family and noise parts of a fitted ``model`` (both empty
    for a plain Gaussian mixture)."""
    arrays, metadata = {}, {}
    if isinstance(model, StudentMixture):
        arrays["dofs"] = np.asarray(model.dofs_, dtype=np.float64)
    noise_on = getattr(model, "_noise_on", None)
    if noise_on is not None and noise_on():
        metadata["noise"] = {"weight": float(model.noise_weight_),
                             "log_volume": float(model.noise_log_volume_)}
        if getattr(model, "noise_bounds_", None) is not None:
            arrays["noise_bounds"] = np.asarray(model.noise_bounds_, dtype=np.float64)
    return arrays, metadata


def shapes(metadata):
    """The shapes of this module's members in a file of ``metadata``."""
    return {"dofs": (metadata["n_components"],), "noise_bounds": (2, metadata["n_features"])}


def check(metadata, arrays, members):
    """Refuse inconsistent family parts; returns the keyword arguments of ``from_parameters``
    that restore them. ``ValueError`` with a lower-case message."""
    student = metadata["estimator"] == ESTIMATOR
    if student != ("dofs" in members):
        raise ValueError("dofs.npy belongs to a StudentMixture file, and only there.")
    noise = metadata.get("noise")
    if noise is None:
        if "noise_bounds" in members:
            raise ValueError("noise_bounds.npy without a noise component in the metadata.")
        return {}
    if not isinstance(noise, dict) or not all(
            isinstance(noise.get(key), (int, float)) and not isinstance(noise.get(key), bool)
            and math.isfinite(noise[key]) for key in ("weight", "log_volume")):
        raise ValueError("metadata noise must hold a finite 'weight' and 'log_volume'.")
    if not 0 <= noise["weight"] <= 1:
        raise ValueError("the noise weight must lie in [0, 1].")
    kwargs = {"noise_weight": float(noise["weight"])}
    if "noise_bounds" in arrays:
        kwargs["noise_bounds"] = arrays["noise_bounds"]
    return kwargs


def restore(model, metadata, arrays):
    """Set the stored degrees of freedom and the noise region's log-volume on a built model."""
    if "dofs" in arrays:
        model.dofs_ = arrays["dofs"].astype(model.means_.dtype)
    noise = metadata.get("noise")
    if noise is not None:
        model.noise_log_volume_ = float(noise["log_volume"])
        with np.errstate(over="ignore"):
            model.noise_volume_ = float(np.exp(model.noise_log_volume_))
