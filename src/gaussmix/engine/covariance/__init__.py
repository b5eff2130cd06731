"""Covariance models by name: the registry every part of gaussmix asks.

``get("full")`` returns the model object behind ``covariance_type="full"``; nothing outside the
models branches on a type's name. A new model is one module (a subclass of a representation in
:mod:`.matrices` or :mod:`.diagonals`; the interface is :mod:`.base`) plus one entry in
``BUILTIN`` below, or, outside the package (a plug-in, a test),
one call to :func:`register`. See ``docs/design.md``, "Add a covariance model".
"""

from __future__ import annotations

from . import diag, full, spherical, tied
from .base import COLLAPSE_ADVICE, CovarianceModel, cholesky_lower, random_rotation
from .diagonals import Diagonals, Variances
from .matrices import Matrices, Shared

__all__ = [
    "COLLAPSE_ADVICE", "CovarianceModel", "Diagonals", "Matrices", "Shared", "Variances",
    "cholesky_lower", "get", "names", "random_rotation", "register", "unregister",
]

# The models gaussmix ships, in the order they are listed and tried.
BUILTIN = (full.FULL, tied.TIED, diag.DIAG, spherical.SPHERICAL)

_REGISTRY = {}


def register(model):
    """Make ``model`` (a :class:`CovarianceModel` instance) available as ``covariance_type``.

    Raises ``ValueError`` if its name is taken; :func:`unregister` frees a name.
    """
    if not isinstance(model, CovarianceModel):
        raise TypeError(f"register() takes a CovarianceModel instance, got {type(model).__name__}.")
    if not isinstance(model.name, str) or not model.name:
        raise ValueError("A covariance model needs a non-empty string name.")
    if model.family not in ("dense", "shared", "diagonal"):
        raise ValueError(
            f"Covariance model {model.name!r} has family {model.family!r}; subclass one of the "
            "representations Matrices, Shared, Diagonals or Variances."
        )
    if model.name in _REGISTRY:
        raise ValueError(f"A covariance model named {model.name!r} is already registered.")
    _REGISTRY[model.name] = model
    return model


def unregister(name):
    """Remove a registered model (the built-in ones cannot be removed)."""
    if any(model.name == name for model in BUILTIN):
        raise ValueError(f"The built-in covariance model {name!r} cannot be removed.")
    _REGISTRY.pop(name, None)


def names():
    """Names of every registered model, built-in ones first."""
    return tuple(_REGISTRY)


def get(name):
    """The model registered as ``name``; ``ValueError`` listing the valid names otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown covariance_type {name!r}; use one of "
            + ", ".join(repr(n) for n in _REGISTRY) + "."
        ) from None


for _model in BUILTIN:
    register(_model)
del _model
