"""gaussmix: Gaussian Mixture Models you can generate, learn, see and scale.

Public names are imported lazily, so ``import gaussmix`` costs milliseconds: the estimators
(and with them scikit-learn and SciPy), matplotlib, pandas and dask are imported when a name that
needs them is first used (``tests/test_imports.py`` checks it).

The package is layered; each layer imports only the ones below it (``docs/design.md``):
``engine`` (EM arithmetic), ``backends`` (where the rows live), ``estimators``, then
``selection`` and ``datasets``, then the edges ``io``, ``viz`` and ``cli``.
"""

from importlib import import_module

from ._version import __version__

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
