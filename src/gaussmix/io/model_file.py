"""Writing model files (format documented in :mod:`gaussmix.io`), and what a file holds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .._version import __version__
from ..engine import covariance
from ..estimators import BayesianGaussianMixture, GaussianMixture
from ..estimators.structured import StructuredMixture
from . import bayesian_file, family_file, structured_file
from .writing import atomic_write

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._typing import ArrayLike, PathLike

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "ModelFile", "save"]

FORMAT_NAME = "gaussmix-model"
#: The newest format version this gaussmix reads and writes. A file states the lowest version
#: that describes it: 1 for a GaussianMixture (readable by every gaussmix), 2 for a
#: BayesianGaussianMixture (see :mod:`gaussmix.io.bayesian_file`), 3 for a StudentMixture or
#: a mixture with a noise component (:mod:`gaussmix.io.family_file`), a HighDimensionalMixture
#: or a FactorMixture (:mod:`gaussmix.io.structured_file`).
FORMAT_VERSION = 3
GAUSSIAN_FORMAT_VERSION = 1

_REQUIRED = ("metadata", "weights", "means", "covariances", "precisions_cholesky", "lower_bounds")
_OPTIONAL = ("center", "scale", "weights_init", "means_init", "precisions_init",
             *family_file.OPTIONAL)
_INIT_ARRAYS = ("weights_init", "means_init", "precisions_init")
#: What a structured mixture's raw-unit GaussianMixture keeps of its hyper-parameters.
_GAUSSIAN_PARAMS = ("tol", "reg_covar", "max_iter", "n_init", "init_params", "random_state",
                    "chunk_size", "n_threads")
_MAX_METADATA_BYTES = 16 * 2**20
_NPY_HEADER_ALLOWANCE = 2**16


@dataclass
class ModelFile:
    """Everything a model file holds: the model plus how its input columns were prepared.

    Attributes
    ----------
    model : GaussianMixture or BayesianGaussianMixture
        The fitted mixture, in the space of the (possibly standardised) features.
    feature_names : list of str or None
        Names of the input columns the model was fitted on, in order.
    center, scale : ndarray of shape (n_features,) or None
        Standardisation: the model describes ``(x - center) / scale``. ``None`` when absent.
    metadata : dict
        The file's JSON metadata (format version, gaussmix version, fit information, ...).
    """

    model: GaussianMixture
    feature_names: list | None = None
    center: np.ndarray | None = None
    scale: np.ndarray | None = None
    metadata: dict = field(default_factory=dict)

    @property
    def standardized(self):
        """Whether the model was fitted on standardised features."""
        return self.center is not None

    def transform(self, X):
        """Put raw feature rows into the model's space (apply the stored standardisation)."""
        X = np.asarray(X)
        if self.center is None:
            return X
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        return ((X - self.center) / self.scale).astype(dtype, copy=False)

    def log_jacobian(self, X=None):
        """``-sum(log(scale))``: add to a log-density of transformed rows to get raw-unit density.

        With raw rows ``X``, one value per row that sums over the row's *observed* columns only:
        a row with missing cells has the density of its observed marginal, whose Jacobian
        leaves the missing columns' scales out.
        """
        if self.scale is None:
            return 0.0 if X is None else np.zeros(len(X))
        log_scale = np.log(self.scale)
        if X is None:
            return -float(np.sum(log_scale))
        observed = ~np.isnan(np.asarray(X, dtype=np.float64))
        return -(observed @ log_scale)

    def raw_model(self):
        """The same mixture expressed in the raw (unstandardised) feature units.

        Standardisation is affine, so the mixture of ``x`` is again Gaussian: means become
        ``mean * scale + center`` and covariances ``diag(scale) @ C @ diag(scale)``. A spherical
        model with unequal scales becomes a diagonal one, and a HighDimensionalMixture or
        FactorMixture a GaussianMixture with full covariances (unequal scales break their
        structure). Without standardisation this is :attr:`model` itself.
        """
        if self.center is None:
            return self.model
        if not isinstance(self.model, GaussianMixture):
            raise TypeError(
                f"raw_model() re-expresses a GaussianMixture in raw units; this file holds a "
                f"{type(self.model).__name__}. Apply transform() to the rows instead."
            )
        m, s = self.model, self.scale
        if isinstance(m, StructuredMixture):
            m = GaussianMixture.from_parameters(
                m.weights_.astype(np.float64), m.means_.astype(np.float64),
                m.covariances_.astype(np.float64), covariance_type=m.covariance_type,
                **{name: value for name, value in m.get_params().items()
                   if name in _GAUSSIAN_PARAMS})
        ctype, covariances = covariance.get(m.covariance_type).rescaled(
            m.covariances_.astype(np.float64), s
        )
        params = m.get_params()
        for name in ("n_components", "covariance_type", *_INIT_ARRAYS):
            params.pop(name)
        family = {}
        if getattr(m, "dofs_", None) is not None:
            family["dofs"] = m.dofs_.astype(np.float64)
        if m._noise_on():  # the region stretches with the columns
            family["noise_weight"] = float(m.noise_weight_)
            if m.noise_bounds_ is not None:
                family["noise_bounds"] = m.noise_bounds_ * s + self.center
            if not isinstance(params["noise"], (bool, np.bool_)):
                params["noise"] = float(params["noise"]) * float(np.prod(s))
        raw = type(m).from_parameters(
            m.weights_.astype(np.float64),
            m.means_.astype(np.float64) * s + self.center,
            covariances,
            covariance_type=ctype,
            **family,
            **params,
        )
        if hasattr(self.model, "feature_names_in_"):
            raw.feature_names_in_ = self.model.feature_names_in_
        return raw


# ---------------------------------------------------------------------- saving
def save(model: GaussianMixture | BayesianGaussianMixture, path: PathLike, *,
         feature_names: Sequence[str] | None = None, center: ArrayLike | None = None,
         scale: ArrayLike | None = None) -> None:
    """Write a fitted mixture to ``path`` (format documented in :mod:`gaussmix.io`): a
    :class:`GaussianMixture` or any of its subclasses (:class:`StudentMixture`,
    :class:`HighDimensionalMixture`, :class:`FactorMixture`) or a
    :class:`BayesianGaussianMixture`.

    The file is written to a temporary file in the same directory and renamed into place, so an
    interrupted save never leaves a half-written file and never destroys an existing one.

    Parameters
    ----------
    model : GaussianMixture or BayesianGaussianMixture
        A fitted model (or one built with :meth:`GaussianMixture.from_parameters`). A Bayesian
        mixture's file also holds its variational posterior and priors; a high-dimensional
        one's its dimensions, or its loadings and noise variances.
    path : str or os.PathLike
        Destination; written exactly as given (no extension is added).
    feature_names : sequence of str, optional
        Names of the input columns; defaults to the model's ``feature_names_in_`` if it has one.
    center, scale : array-like of shape (n_features,), optional
        Standardisation the model was fitted under (``(x - center) / scale``); give both or neither.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> import gaussmix as gm
    >>> X = np.random.default_rng(0).normal(size=(200, 2))
    >>> model = gm.GaussianMixture(2, random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> gm.save(model, path)
    >>> bool(np.array_equal(gm.load(path).predict_proba(X), model.predict_proba(X)))
    True
    """
    arrays = _model_arrays(model)
    n_components, n_features = arrays["means"].shape
    had_names = hasattr(model, "feature_names_in_")
    if feature_names is None and had_names:
        feature_names = [str(name) for name in model.feature_names_in_]
    if feature_names is not None:
        feature_names = [str(name) for name in feature_names]
        if len(feature_names) != n_features:
            raise ValueError(
                f"feature_names has {len(feature_names)} names but the model has "
                f"{n_features} features."
            )
    if (center is None) != (scale is None):
        raise ValueError("Give both center and scale, or neither.")
    if center is not None:
        arrays["center"] = _standardisation_array(center, "center", n_features)
        arrays["scale"] = _standardisation_array(scale, "scale", n_features)
        if np.any(arrays["scale"] <= 0):
            raise ValueError("scale must be positive.")

    params, init_arrays = _split_params(model)
    arrays.update(init_arrays)
    bayesian = bayesian_file.is_bayesian(model)
    family_arrays, family_metadata = family_file.family_parts(model)
    arrays.update(family_arrays)
    structure = structured_file.structure_arrays(model)
    arrays.update(structure)
    version = GAUSSIAN_FORMAT_VERSION
    if bayesian:
        version = bayesian_file.FORMAT_VERSION
    elif family_arrays or family_metadata:
        version = family_file.FORMAT_VERSION
    elif structure:
        version = structured_file.FORMAT_VERSION
    lower_bound = getattr(model, "lower_bound_", None)
    metadata = {
        **family_metadata,
        "format": FORMAT_NAME,
        "format_version": version,
        "gaussmix_version": __version__,
        "estimator": type(model).__name__,
        "covariance_type": model.covariance_type,
        "n_components": int(n_components),
        "n_features": int(n_features),
        "dtype": arrays["means"].dtype.name,
        "params": params,
        "fit": {
            "converged": bool(getattr(model, "converged_", True)),
            "n_iter": int(getattr(model, "n_iter_", 0)),
            "lower_bound": (
                float(lower_bound)
                if lower_bound is not None and np.isfinite(lower_bound)
                else None
            ),
        },
        "feature_names": feature_names,
        "model_feature_names": bool(had_names),
    }
    if bayesian:
        posterior_arrays, metadata["posterior"] = bayesian_file.posterior_arrays(model)
        arrays.update(posterior_arrays)
    text = json.dumps(metadata, allow_nan=False, sort_keys=True)
    arrays["metadata"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def _model_arrays(model):
    if not isinstance(model, (GaussianMixture, BayesianGaussianMixture)):
        raise TypeError(
            "save() expects a gaussmix.GaussianMixture or BayesianGaussianMixture, got "
            f"{type(model).__name__}."
        )
    missing = [
        name
        for name in ("weights_", "means_", "covariances_", "precisions_cholesky_")
        if not hasattr(model, name)
    ]
    if missing:
        raise ValueError(
            f"This {type(model).__name__} is not fitted yet (no " + ", ".join(missing) + "); call fit() "
            "or build it with GaussianMixture.from_parameters() before saving."
        )
    dtype = np.asarray(model.means_).dtype
    arrays = {
        "weights": np.asarray(model.weights_, dtype=dtype),
        "means": np.asarray(model.means_, dtype=dtype),
        "covariances": np.asarray(model.covariances_, dtype=dtype),
        "precisions_cholesky": np.asarray(model.precisions_cholesky_, dtype=dtype),
        "lower_bounds": np.asarray(getattr(model, "lower_bounds_", []), dtype=np.float64),
    }
    return arrays


def _standardisation_array(value, name, n_features):
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (n_features,):
        raise ValueError(f"{name} must have shape ({n_features},), got {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr


def _split_params(model):
    """JSON-representable hyper-parameters, and the array-valued ones (starting values, a
    Bayesian mixture's array priors)."""
    params, arrays = {}, {}
    array_params = bayesian_file.ARRAY_PARAMS if bayesian_file.is_bayesian(model) else ()
    for name, value in model.get_params(deep=False).items():
        if name in ("n_components", "covariance_type"):
            continue
        if name in array_params:
            params[name], array = bayesian_file.split_array_param(value)
            if array is not None:
                arrays[f"param_{name}"] = array
            continue
        if name in _INIT_ARRAYS:
            if value is not None:
                arrays[name] = np.asarray(value, dtype=np.float64)
            continue
        if name == "dof_init" and np.ndim(value):  # one starting value per component
            params[name] = [float(v) for v in np.asarray(value, dtype=np.float64)]
            continue
        if isinstance(value, (np.integer, np.floating, np.bool_)):
            value = value.item()
        if value is None or isinstance(value, (bool, int, str)):
            params[name] = value
        elif isinstance(value, float):
            params[name] = value if np.isfinite(value) else None
        else:  # e.g. a RandomState instance: not representable, not needed to predict
            params[name] = None
    return params, arrays
