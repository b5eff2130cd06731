"""gaussmix: Gaussian Mixture Models you can generate, learn, see and scale.

Public names are imported lazily, so ``import gaussmix`` costs milliseconds: the estimators
(and with them scikit-learn and SciPy), matplotlib, pandas and dask are imported when a name that
needs them is first used (``tests/test_imports.py`` checks it).

The package is layered; each layer imports only the ones below it (``docs/design.md``):
``engine`` (EM arithmetic), ``backends`` (where the rows live), ``estimators``, then
``selection`` and ``datasets``, then the edges ``io``, ``viz`` and ``cli``.
"""

from importlib import import_module
from typing import TYPE_CHECKING

from ._version import __version__

if TYPE_CHECKING:  # what a type checker sees of the lazy names below ("x as x": re-exported)
    from . import datasets as datasets
    from .apps.anomaly import MixtureOutlierDetector as MixtureOutlierDetector
    from .apps.finance import mixture_quantile as mixture_quantile
    from .apps.segmentation import ImageSegmentation as ImageSegmentation
    from .apps.segmentation import segment_image as segment_image
    from .datasets.generate import make_mixture as make_mixture
    from .datasets.overlap import pairwise_overlap as pairwise_overlap
    from .estimators import BayesianGaussianMixture as BayesianGaussianMixture
    from .estimators import FactorMixture as FactorMixture
    from .estimators import GaussianMixture as GaussianMixture
    from .estimators import HighDimensionalMixture as HighDimensionalMixture
    from .estimators import StudentMixture as StudentMixture
    from .estimators.adapt import map_adapt as map_adapt
    from .io import load as load
    from .io import save as save
    from .selection import ModelSelection as ModelSelection
    from .selection import polished_log_likelihood as polished_log_likelihood
    from .selection import select_model as select_model
    from .selection import select_parameters as select_parameters
    from .viz import animate_em as animate_em
    from .viz import plot_1d as plot_1d
    from .viz import plot_density as plot_density
    from .viz import plot_lower_bound as plot_lower_bound
    from .viz import plot_mixture as plot_mixture
    from .viz import plot_pairs as plot_pairs
    from .viz import plot_weights as plot_weights

# public name -> module that defines it
_LAZY = {
    "GaussianMixture": "estimators",
    "StudentMixture": "estimators",
    "BayesianGaussianMixture": "estimators",
    "HighDimensionalMixture": "estimators",
    "FactorMixture": "estimators",
    "make_mixture": "datasets.generate",
    "pairwise_overlap": "datasets.overlap",
    "plot_mixture": "viz",
    "plot_pairs": "viz",
    "plot_1d": "viz",
    "plot_density": "viz",
    "plot_lower_bound": "viz",
    "plot_weights": "viz",
    "animate_em": "viz",
    "select_model": "selection",
    "ModelSelection": "selection",
    "select_parameters": "selection",
    "polished_log_likelihood": "selection",
    "map_adapt": "estimators.adapt",
    "save": "io",
    "load": "io",
    "datasets": "datasets",
    "segment_image": "apps.segmentation",
    "ImageSegmentation": "apps.segmentation",
    "mixture_quantile": "apps.finance",
    "MixtureOutlierDetector": "apps.anomaly",
}

__all__ = ["__version__"] + list(_LAZY)


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
