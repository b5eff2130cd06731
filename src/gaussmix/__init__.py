"""gaussmix: Gaussian Mixture Models you can generate, learn, see and scale.

Public names are imported lazily, so ``import gaussmix`` does not pull in matplotlib, pandas or
dask until a function that needs them is used.
"""

from importlib import import_module

from ._version import __version__
from .mixture import GaussianMixture

# public name -> module that defines it
_LAZY = {
    "make_mixture": "generate",
    "pairwise_overlap": "generate",
    "plot_mixture": "plot",
    "plot_pairs": "plot",
    "plot_1d": "plot",
    "plot_density": "plot",
    "plot_lower_bound": "plot",
    "animate_em": "plot",
    "select_model": "select",
    "ModelSelection": "select",
    "polished_log_likelihood": "select",
    "save": "io",
    "load": "io",
    "datasets": "datasets",
}

__all__ = ["GaussianMixture", "__version__"] + list(_LAZY)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gaussmix' has no attribute {name!r}")
    mod = import_module(f".{module}", __name__)
    value = mod if name == module else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
