"""Files: fitted mixtures in a documented, versioned format that cannot run code, and data tables.

The gaussmix model file (format versions 1 to 3)
-----------------------------------------------
A model file is a ZIP archive in NumPy's ``.npz`` layout: every member is a plain ``.npy`` array of
numbers (no object arrays, so nothing is ever unpickled). Any file name works; ``.npz`` is usual.

==========================  ===============================================================
member                      content
==========================  ===============================================================
``metadata.npy``            ``uint8`` array holding a UTF-8 JSON object (below)
``weights.npy``             ``(K,)`` mixture weights, summing to one
``means.npy``               ``(K, D)`` component means
``covariances.npy``         ``(K, D, D)`` full, ``(D, D)`` tied, ``(K, D)`` diag, ``(K,)`` spherical
``precisions_cholesky.npy`` same shape: the precision factors the model predicts with
``lower_bounds.npy``        ``(n_iter,)`` float64 lower bound after each EM iteration
``center.npy``, ``scale.npy`` optional ``(D,)`` float64 standardisation: the model describes
                            ``(x - center) / scale`` (written by ``gaussmix fit --standardize``)
``weights_init.npy``, ...   optional starting values, when the estimator was given arrays
==========================  ===============================================================

A :class:`~gaussmix.BayesianGaussianMixture` file (``"estimator": "BayesianGaussianMixture"``,
format version 2) also holds the variational posterior and the priors it was fitted under (see
:mod:`~gaussmix.io.bayesian_file`); a :class:`~gaussmix.GaussianMixture` file is version 1, as
it has always been, so older gaussmix versions read it. Format version 3 adds a
:class:`~gaussmix.StudentMixture`'s degrees of freedom and a noise component
(:mod:`~gaussmix.io.family_file`), and the structure of a
:class:`~gaussmix.HighDimensionalMixture` (its intrinsic dimensions) or a
:class:`~gaussmix.FactorMixture` (its loadings and noise variances;
:mod:`~gaussmix.io.structured_file`).

The JSON metadata holds ``format`` (``"gaussmix-model"``), ``format_version``, ``gaussmix_version``,
``estimator`` (the class name: ``"GaussianMixture"``, ``"BayesianGaussianMixture"``, ...), ``covariance_type``, ``n_components``, ``n_features``, ``dtype`` (``"float64"`` or
``"float32"``: the dtype of the parameter arrays), ``params`` (the JSON-representable
hyper-parameters, as :meth:`GaussianMixture.get_params` gives them), ``fit`` (``converged``,
``n_iter``, ``lower_bound``; ``null`` for a model built with
:meth:`GaussianMixture.from_parameters`), ``feature_names`` (column names or ``null``) and
``model_feature_names`` (whether the estimator itself had ``feature_names_in_``).

Loading reads members with ``allow_pickle=False`` and validates everything before a model is built:
the archive itself, the metadata, the member list and sizes, dtypes, shapes against each other,
finiteness, weights in ``[0, 1]`` summing to one, symmetric positive-definite covariances and
precision factors consistent with them, means within the magnitude data may have
(:data:`gaussmix.engine.validation.MAX_ABS_VALUE`). Before anything is inflated, each member's
declared size is checked against the shape the metadata implies and against its compressed size
(at most 64 times it: no decompression bombs), and reading never inflates more than the declared
size, so loading takes at most about twice the file's declared member sizes in memory. Damaged
archives, unknown compression, encryption flags, JSON nested too deeply and absurd numbers are
all refused the same way: any problem raises ``ValueError`` naming the file (the command line
prints it as one line and exits with status 1). The loaded model carries the saved arrays
unchanged, so it predicts bit for bit like the saved one.

Modules: :mod:`~gaussmix.io.model_file` (writing), :mod:`~gaussmix.io.model_read` (reading and
validating), :mod:`~gaussmix.io.tables` (CSV/TSV, Parquet and ``.npy`` data) and
:mod:`~gaussmix.io.writing` (atomic writes, streamed tables, scratch space).
"""

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what a type checker sees of the lazy names below ("x as x": re-exported)
    from .model_file import FORMAT_NAME as FORMAT_NAME
    from .model_file import FORMAT_VERSION as FORMAT_VERSION
    from .model_file import ModelFile as ModelFile
    from .model_file import save as save
    from .model_read import load as load
    from .model_read import read_model as read_model
    from .writing import atomic_write as atomic_write
    from .writing import atomic_write_path as atomic_write_path

# public name -> module that defines it; imported when first used, so that reading a data table
# (``io.tables``) does not import the estimators (and scikit-learn) behind the model files
_LAZY = {
    "FORMAT_NAME": "model_file", "FORMAT_VERSION": "model_file", "ModelFile": "model_file",
    "save": "model_file", "load": "model_read", "read_model": "model_read",
    "atomic_write": "writing", "atomic_write_path": "writing",
}

__all__ = [
    "FORMAT_NAME", "FORMAT_VERSION", "ModelFile", "atomic_write", "atomic_write_path", "load",
    "read_model", "save",
]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gaussmix.io' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
