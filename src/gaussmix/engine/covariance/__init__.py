"""Covariance models by name: the registry every part of gaussmix asks.

``get("full")`` returns the model object behind ``covariance_type="full"``; nothing outside the
models branches on a type's name. A new model is one module (a subclass of a representation in
:mod:`.matrices` or :mod:`.diagonals`; the interface is :mod:`.base`) plus one entry in
``BUILTIN`` below, or, outside the package (a plug-in, a test),
one call to :func:`register`. See ``docs/design.md``, "Add a covariance model".
"""

from __future__ import annotations

from . import diag, eei, eev, eii, eve, evi, evv, full, spherical, tied, vee, vei, vev, vve
from .base import COLLAPSE_ADVICE, CovarianceModel, cholesky_lower, random_rotation
from .diagonals import Diagonals, Variances
from .matrices import Matrices, Shared

__all__ = [
    "ALIASES", "COLLAPSE_ADVICE", "MCLUST", "ONE_DIMENSIONAL", "CovarianceModel", "Diagonals",
    "Matrices", "Shared", "Variances", "check_dimensions", "cholesky_lower", "expand", "get", "names",
    "one_dimensional", "random_rotation", "register", "unregister",
]

# The models gaussmix ships: scikit-learn's four, then mclust's other ten.
BUILTIN = (
    full.FULL, tied.TIED, diag.DIAG, spherical.SPHERICAL,
    eii.MODEL, eei.MODEL, vei.MODEL, evi.MODEL,
    vee.MODEL, eve.MODEL, vve.MODEL, eev.MODEL, vev.MODEL, evv.MODEL,
)
# mclust's names of scikit-learn's four models.
ALIASES = {"VVV": "full", "EEE": "tied", "VVI": "diag", "VII": "spherical"}
# mclust's fourteen models, in mclust's order (covariance_types="all" in select_model).
MCLUST = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV", "VEV",
          "EVV", "VVV")
# mclust's two models of one-dimensional data, by the model each is: in one dimension there is
# only a variance per component, equal ("E") or variable ("V"), so every model is one of the two.
ONE_DIMENSIONAL = {"E": "EII", "V": "spherical"}

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
    if model.name in _REGISTRY or model.name == "all":
        raise ValueError(f"A covariance model named {model.name!r} is already registered.")
    _REGISTRY[model.name] = model
    return model


def unregister(name):
    """Remove a registered model (the built-in ones cannot be removed)."""
    if any(model.name == name for model in BUILTIN) or name in {**ALIASES, **ONE_DIMENSIONAL}:
        raise ValueError(f"The built-in covariance model {name!r} cannot be removed.")
    _REGISTRY.pop(name, None)


def names():
    """Every accepted ``covariance_type``: scikit-learn's four names, mclust's fourteen codes
    (four of them other names of the first four), mclust's two one-dimensional names ``E`` and
    ``V``, then registered plug-ins."""
    first = ("full", "tied", "diag", "spherical") + MCLUST + tuple(ONE_DIMENSIONAL)
    return first + tuple(name for name in _REGISTRY if name not in first)


def expand(name, n_features=None):
    """``"all"``: mclust's fourteen codes (``E`` and ``V`` for one-dimensional data, as mclust
    fits them); any other name: itself."""
    if name != "all":
        return (name,)
    return tuple(ONE_DIMENSIONAL) if n_features == 1 else MCLUST


def one_dimensional(name):
    """The name in one dimension of model ``name``: ``"E"`` for an equal variance, ``"V"`` for
    a variable one (every model is one of these there)."""
    return "V" if get(name).variable_volume else "E"


def check_dimensions(name, n_features):
    """``ValueError`` for mclust's one-dimensional names ``E`` and ``V`` on data of several
    features."""
    if name in ONE_DIMENSIONAL and n_features != 1:
        raise ValueError(
            f"covariance_type={name!r} is mclust's name for one-dimensional data, and X has "
            f"{n_features} features; use {ONE_DIMENSIONAL[name]!r} (the same model in any "
            "dimension) or one of mclust's three-letter names."
        )


def get(name):
    """The model registered as ``name``; ``ValueError`` listing the valid names otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown covariance_type {name!r}; use one of "
            + ", ".join(repr(n) for n in names()) + "."
        ) from None


for _model in BUILTIN:
    register(_model)
for _alias, _name in (*ALIASES.items(), *ONE_DIMENSIONAL.items()):
    _REGISTRY[_alias] = _REGISTRY[_name]
del _model, _alias, _name
