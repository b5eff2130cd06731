"""Reading model files: every member checked before a model is built (see :mod:`gaussmix.io`)."""

from __future__ import annotations

import json
import math
import os
import zipfile
from tokenize import TokenError
from typing import TYPE_CHECKING

import numpy as np

from .._version import __version__
from ..engine import covariance
from ..engine.validation import max_abs_value
from ..estimators import BayesianGaussianMixture, GaussianMixture, StudentMixture
from . import bayesian_file, family_file, structured_file
from .model_file import (
    _INIT_ARRAYS,
    _MAX_METADATA_BYTES,
    _NPY_HEADER_ALLOWANCE,
    _OPTIONAL,
    _REQUIRED,
    FORMAT_NAME,
    FORMAT_VERSION,
    ModelFile,
)

if TYPE_CHECKING:
    from .._typing import PathLike

__all__ = ["load", "read_model"]

#: A compressed member may declare at most this many times its compressed size (gaussmix
#: writes members uncompressed; numbers compress far less than this). Reading a model file
#: therefore takes at most about twice the declared member sizes, which are checked against
#: the shapes the metadata implies before anything is inflated.
MAX_INFLATION = 64
#: Largest number of components or features a model file may declare.
MAX_DIMENSION = 2**31 - 1
_KNOWN = (_REQUIRED + _OPTIONAL + bayesian_file.REQUIRED + bayesian_file.OPTIONAL
          + structured_file.OPTIONAL)
_ESTIMATORS = {"GaussianMixture": GaussianMixture,
               bayesian_file.ESTIMATOR: BayesianGaussianMixture,
               family_file.ESTIMATOR: StudentMixture,
               **{name: entry[0] for name, entry in structured_file.ESTIMATORS.items()}}


def load(path: PathLike) -> GaussianMixture | BayesianGaussianMixture:
    """Read a model written by :func:`save`; returns the mixture saved (a
    :class:`GaussianMixture`, :class:`BayesianGaussianMixture`, :class:`StudentMixture`,
    :class:`HighDimensionalMixture` or :class:`FactorMixture`).

    Nothing in the file can run code: members are read with ``allow_pickle=False`` and checked
    before the model is built. Use :func:`read_model` to also get the stored column names and
    standardisation.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a valid gaussmix model file; the message names the file and the problem.
    """
    return read_model(path).model


def read_model(path):
    """Read and validate a model file; returns a :class:`ModelFile`.

    See :func:`load` for the guarantees and the errors raised.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such model file.")
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a directory, not a model file.")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path}: the model file is empty.")
    try:
        return _read(path)
    except _Invalid as exc:
        raise ValueError(f"{path}: {exc}") from None


class _Invalid(Exception):
    """A problem with the file's content (turned into a ValueError naming the file)."""


def _read(path):
    with open(path, "rb") as f:  # one handle for the whole archive
        if not zipfile.is_zipfile(f):
            raise _Invalid(
                "not a gaussmix model file (not a ZIP/.npz archive; truncated or a different "
                "format)."
            )
        f.seek(0)
        try:
            with zipfile.ZipFile(f) as archive:
                members = _check_members(archive)
                metadata = _parse_metadata(_read_member(archive, members["metadata"], np.uint8))
                _check_estimator_members(members, metadata)
                shapes = _expected_shapes(metadata)
                _check_sizes(members, shapes, metadata["dtype"])
                arrays = {}
                for name in members:
                    if name == "metadata":
                        continue
                    dtype = metadata["dtype"] if name in _REQUIRED[1:5] else "float64"
                    arrays[name] = _read_member(archive, members[name], dtype, shapes[name])
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, KeyError,
                NotImplementedError, RuntimeError, ValueError, OverflowError, SyntaxError,
                TokenError, UnicodeDecodeError, TypeError) as exc:
            # zipfile raises NotImplementedError for unknown compression, RuntimeError for an
            # encrypted member, ValueError/OverflowError for impossible header fields; NumPy
            # a SyntaxError (or worse) for a damaged .npy header
            raise _Invalid(f"the archive is damaged ({one_line(exc)}).") from None
    return _build(metadata, arrays)


def one_line(exc):
    return " ".join(str(exc).split())[:200]


def _check_members(archive):
    members = {}
    for info in archive.infolist():
        name = info.filename
        if not name.endswith(".npy") or name[:-4] not in _KNOWN:
            raise _Invalid(f"unexpected member {name!r} in the archive.")
        if name[:-4] in members:
            raise _Invalid(f"member {name!r} appears twice in the archive.")
        members[name[:-4]] = info
    missing = [name + ".npy" for name in _REQUIRED if name not in members]
    if missing:
        raise _Invalid("not a gaussmix model file (missing " + ", ".join(missing) + ").")
    if ("center" in members) != ("scale" in members):
        raise _Invalid("center.npy and scale.npy must be stored together.")
    if members["metadata"].file_size > _MAX_METADATA_BYTES:
        raise _Invalid("metadata.npy is implausibly large.")
    for name, info in members.items():
        if info.flag_bits & 0x1:
            raise _Invalid(f"{name}.npy is encrypted; model files are never encrypted.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Invalid(f"{name}.npy uses an unsupported compression method "
                           f"({info.compress_type}); gaussmix writes stored or deflated members.")
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise _Invalid(f"{name}.npy: stored member whose sizes disagree (truncated?).")
    return members


def _check_estimator_members(members, metadata):
    """The posterior members a Bayesian mixture's file needs, the structure members a
    high-dimensional mixture's file needs, and no others elsewhere."""
    try:
        structured_file.check_metadata(metadata, members)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    posterior = bayesian_file.REQUIRED + bayesian_file.OPTIONAL
    if metadata["estimator"] == bayesian_file.ESTIMATOR:
        missing = [f"{name}.npy" for name in bayesian_file.REQUIRED if name not in members]
        if missing:
            raise _Invalid("a BayesianGaussianMixture file needs " + ", ".join(missing) + ".")
        return
    extra = [f"{name}.npy" for name in posterior if name in members]
    if extra:
        raise _Invalid(f"unexpected member {extra[0]!r} in a GaussianMixture file.")


def _read_member(archive, info, dtype, shape=None):
    """Read one ``.npy`` member, checking its header (dtype, shape, size) before any data."""
    name = info.filename
    expected = np.dtype(dtype)
    with archive.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                header_shape, _, header_dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                header_shape, _, header_dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except ValueError as exc:
            raise _Invalid(f"{name} is not a plain numeric array ({exc}).") from None
    if header_dtype.hasobject or header_dtype.names is not None:
        raise _Invalid(f"{name} is not a plain numeric array (it holds Python objects).")
    if header_dtype.kind != expected.kind or header_dtype.itemsize != expected.itemsize:
        raise _Invalid(f"{name} has dtype {header_dtype}, expected {expected.name}.")
    if shape is None or name == "lower_bounds.npy":
        if len(header_shape) != 1:
            raise _Invalid(f"{name} must be 1-D, got shape {header_shape}.")
    elif tuple(header_shape) != shape:
        raise _Invalid(f"{name} has shape {tuple(header_shape)}, expected {shape}.")
    if math.prod(header_shape) * header_dtype.itemsize > info.file_size:
        raise _Invalid(f"{name} is truncated (its header promises more data than it holds).")
    with archive.open(info) as f:
        try:
            arr = np.lib.format.read_array(f, allow_pickle=False)
        except ValueError as exc:
            raise _Invalid(f"{name} is not a plain numeric array ({exc}).") from None
    return arr.astype(expected, copy=False)


def _parse_metadata(raw):
    try:
        metadata = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError; too many digits
        raise _Invalid(f"metadata.npy is not valid UTF-8 JSON ({one_line(exc)}).") from None
    except RecursionError:
        raise _Invalid("metadata.npy is not valid gaussmix metadata (JSON nested too "
                       "deeply).") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise _Invalid("not a gaussmix model file (metadata has no 'format': 'gaussmix-model').")
    version = metadata.get("format_version")
    if not _is_int(version) or version < 1:
        raise _Invalid(f"invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise _Invalid(
            f"written by a newer gaussmix (format version {version}, gaussmix "
            f"{metadata.get('gaussmix_version', '?')}); this gaussmix {__version__} reads format "
            f"version {FORMAT_VERSION}. Upgrade gaussmix to load it."
        )
    estimator = metadata.get("estimator")
    if estimator not in _ESTIMATORS:
        raise _Invalid(f"unknown estimator {estimator!r}.")
    if estimator == bayesian_file.ESTIMATOR and version < bayesian_file.FORMAT_VERSION:
        raise _Invalid(f"a {estimator} needs format version {bayesian_file.FORMAT_VERSION}; "
                       f"the file says {version}.")
    ctype = metadata.get("covariance_type")
    if not isinstance(ctype, str) or ctype not in covariance.names():
        raise _Invalid(
            f"unknown covariance_type {ctype!r}; expected one of "
            f"{', '.join(covariance.names())}."
        )
    for key in ("n_components", "n_features"):
        if not _is_int(metadata.get(key)) or not 1 <= metadata[key] <= MAX_DIMENSION:
            shown = repr(metadata.get(key))
            raise _Invalid(f"metadata {key} must be an integer from 1 to {MAX_DIMENSION}, got "
                           f"{shown if len(shown) < 40 else shown[:37] + '...'}.")
    if metadata.get("dtype") not in ("float64", "float32"):
        raise _Invalid(f"metadata dtype must be 'float64' or 'float32', got {metadata.get('dtype')!r}.")
    if not isinstance(metadata.get("params", {}), dict):
        raise _Invalid("metadata params must be a JSON object.")
    fit = metadata.get("fit", {})
    if not isinstance(fit, dict):
        raise _Invalid("metadata fit must be a JSON object.")
    names = metadata.get("feature_names")
    if names is not None and (
        not isinstance(names, list)
        or len(names) != metadata["n_features"]
        or not all(isinstance(n, str) for n in names)
    ):
        raise _Invalid("metadata feature_names must be null or one string per feature.")
    return metadata


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _expected_shapes(metadata):
    k, d, ctype = metadata["n_components"], metadata["n_features"], metadata["covariance_type"]
    cshape = covariance.get(ctype).shape(k, d)
    posterior = (bayesian_file.shapes(metadata)
                 if metadata["estimator"] == bayesian_file.ESTIMATOR else {})
    return {
        **posterior,
        **family_file.shapes(metadata),
        **structured_file.shapes(metadata),
        "weights": (k,),
        "means": (k, d),
        "covariances": cshape,
        "precisions_cholesky": cshape,
        "lower_bounds": None,
        "center": (d,),
        "scale": (d,),
        "weights_init": (k,),
        "means_init": (k, d),
        "precisions_init": cshape,
    }


def _check_sizes(members, shapes, dtype):
    """Refuse members whose declared size cannot match their shape (before decompressing them)."""
    itemsize = np.dtype(dtype).itemsize
    for name, info in members.items():
        if name in ("metadata", "lower_bounds"):
            limit = _MAX_METADATA_BYTES
        else:
            size = itemsize if name in _REQUIRED[1:5] else 8
            limit = math.prod(shapes[name]) * size + _NPY_HEADER_ALLOWANCE
        if info.file_size > limit:
            raise _Invalid(f"{info.filename} is larger than its shape allows ({info.file_size} bytes).")
        if info.file_size > MAX_INFLATION * info.compress_size + _NPY_HEADER_ALLOWANCE:
            raise _Invalid(
                f"{info.filename} would inflate {info.compress_size} bytes to {info.file_size}, "
                f"more than {MAX_INFLATION} times; refusing a possible decompression bomb."
            )


def _build(metadata, arrays):
    ctype = metadata["covariance_type"]
    model_of = covariance.get(ctype)
    for name, arr in arrays.items():
        if not np.all(np.isfinite(arr)):
            raise _Invalid(f"{name}.npy contains NaN or infinite values.")
    weights, means = arrays["weights"], arrays["means"]
    covariances, prec_chol = arrays["covariances"], arrays["precisions_cholesky"]
    if np.any(weights < 0) or np.any(weights > 1):
        raise _Invalid("weights must lie in [0, 1].")
    try:
        family = family_file.check(metadata, arrays, arrays)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    total = float(np.sum(weights, dtype=np.float64)) + family.get("noise_weight", 0.0)
    if abs(total - 1.0) > 1e-6:
        raise _Invalid(f"weights must sum to one, but they sum to {total:.10g}.")
    try:
        model_of.check_stored(covariances, prec_chol, metadata["dtype"],
                              names=("covariances.npy", "precisions_cholesky.npy"))
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    if "scale" in arrays and np.any(arrays["scale"] <= 0):
        raise _Invalid("scale.npy must be positive.")
    for name in ("means", "center", "scale", "means_init"):  # the limits data have too
        limit = max_abs_value(arrays[name].dtype) if name in arrays else None
        if limit is not None and arrays[name].size and np.max(np.abs(arrays[name])) > limit:
            raise _Invalid(f"{name}.npy holds values beyond {limit:.0e} in magnitude, more "
                           "than gaussmix computes with.")

    params = dict(metadata.get("params", {}))
    estimator = _ESTIMATORS[metadata["estimator"]]
    known = set(estimator().get_params()) - {"n_components", "covariance_type"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise _Invalid("unknown hyper-parameters " + ", ".join(map(repr, unknown)) + ".")
    for name in _INIT_ARRAYS:
        params[name] = arrays.get(name)
    try:
        if metadata["estimator"] in structured_file.ESTIMATORS:
            model = structured_file.build(metadata, arrays, params)
        elif estimator is not BayesianGaussianMixture:
            if estimator is StudentMixture:
                family["dofs"] = arrays["dofs"]
            model = estimator.from_parameters(
                weights, means, covariances, covariance_type=ctype, **family, **params
            )
        else:
            model = bayesian_file.build(metadata, arrays, params)
            model.n_features_in_ = metadata["n_features"]
    except (TypeError, ValueError) as exc:
        raise _Invalid(str(exc)) from None
    # Keep the saved factors, not recomputed ones, so predictions are bit-identical.
    dtype = means.dtype
    model.weights_ = weights
    model.means_ = means
    model.covariances_ = covariances
    model.precisions_cholesky_ = prec_chol
    model.precisions_ = model_of.precisions(prec_chol.astype(np.float64)).astype(dtype)
    fit = metadata.get("fit", {})
    model.converged_ = bool(fit.get("converged", True))
    n_iter = fit.get("n_iter", 0)
    model.n_iter_ = n_iter if _is_int(n_iter) and n_iter >= 0 else 0
    lower_bound = fit.get("lower_bound")
    model.lower_bound_ = float(lower_bound) if isinstance(lower_bound, (int, float)) else -np.inf
    model.lower_bounds_ = [float(v) for v in arrays["lower_bounds"]]
    family_file.restore(model, metadata, arrays)
    names = metadata.get("feature_names")
    if names is not None and metadata.get("model_feature_names"):
        model.feature_names_in_ = np.asarray(names, dtype=object)
    return ModelFile(
        model=model,
        feature_names=names,
        center=arrays.get("center"),
        scale=arrays.get("scale"),
        metadata=metadata,
    )
