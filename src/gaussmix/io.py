"""Save and load fitted mixtures in a documented, versioned file format that cannot run code.

The gaussmix model file (format version 1)
------------------------------------------
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

The JSON metadata holds ``format`` (``"gaussmix-model"``), ``format_version``, ``gaussmix_version``,
``estimator``, ``covariance_type``, ``n_components``, ``n_features``, ``dtype`` (``"float64"`` or
``"float32"``: the dtype of the parameter arrays), ``params`` (the JSON-representable
hyper-parameters, as :meth:`GaussianMixture.get_params` gives them), ``fit`` (``converged``,
``n_iter``, ``lower_bound``; ``null`` for a model built with
:meth:`GaussianMixture.from_parameters`), ``feature_names`` (column names or ``null``) and
``model_feature_names`` (whether the estimator itself had ``feature_names_in_``).

Loading reads members with ``allow_pickle=False`` and validates everything before a model is built:
the archive itself, the metadata, the member list and sizes, dtypes, shapes against each other,
finiteness, weights in ``[0, 1]`` summing to one, symmetric positive-definite covariances and
precision factors consistent with them. Any problem raises ``ValueError`` naming the file. The
loaded model carries the saved arrays unchanged, so it predicts bit for bit like the saved one.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field

import numpy as np

from . import _covariance as cov
from ._version import __version__
from .mixture import GaussianMixture

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "ModelFile", "load", "read_model", "save"]

FORMAT_NAME = "gaussmix-model"
FORMAT_VERSION = 1

_REQUIRED = ("metadata", "weights", "means", "covariances", "precisions_cholesky", "lower_bounds")
_OPTIONAL = ("center", "scale", "weights_init", "means_init", "precisions_init")
_INIT_ARRAYS = ("weights_init", "means_init", "precisions_init")
_MAX_METADATA_BYTES = 16 * 2**20
_NPY_HEADER_ALLOWANCE = 2**16


@dataclass
class ModelFile:
    """Everything a model file holds: the model plus how its input columns were prepared.

    Attributes
    ----------
    model : GaussianMixture
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

    def log_jacobian(self):
        """``-sum(log(scale))``: add to a log-density of transformed rows to get raw-unit density."""
        if self.scale is None:
            return 0.0
        return -float(np.sum(np.log(self.scale)))

    def raw_model(self):
        """The same mixture expressed in the raw (unstandardised) feature units.

        Standardisation is affine, so the mixture of ``x`` is again Gaussian: means become
        ``mean * scale + center`` and covariances ``diag(scale) @ C @ diag(scale)``. A spherical
        model with unequal scales becomes a diagonal one. Without standardisation this is
        :attr:`model` itself.
        """
        if self.center is None:
            return self.model
        m, s = self.model, self.scale
        ctype = m.covariance_type
        covariances = m.covariances_.astype(np.float64)
        if ctype in ("full", "tied"):
            covariances = covariances * np.outer(s, s)
        elif ctype == "diag":
            covariances = covariances * s**2
        elif np.allclose(s, s[0], rtol=1e-12, atol=0):
            covariances = covariances * s[0] ** 2
        else:
            ctype, covariances = "diag", covariances[:, None] * s**2
        params = m.get_params()
        for name in ("n_components", "covariance_type", *_INIT_ARRAYS):
            params.pop(name)
        raw = GaussianMixture.from_parameters(
            m.weights_.astype(np.float64),
            m.means_.astype(np.float64) * s + self.center,
            covariances,
            covariance_type=ctype,
            **params,
        )
        if hasattr(m, "feature_names_in_"):
            raw.feature_names_in_ = m.feature_names_in_
        return raw


# ---------------------------------------------------------------------- saving
def save(model, path, *, feature_names=None, center=None, scale=None):
    """Write a fitted :class:`GaussianMixture` to ``path`` (format documented in :mod:`gaussmix.io`).

    The file is written to a temporary file in the same directory and renamed into place, so an
    interrupted save never leaves a half-written file and never destroys an existing one.

    Parameters
    ----------
    model : GaussianMixture
        A fitted model (or one built with :meth:`GaussianMixture.from_parameters`).
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
    lower_bound = getattr(model, "lower_bound_", None)
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "gaussmix_version": __version__,
        "estimator": "GaussianMixture",
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
    text = json.dumps(metadata, allow_nan=False, sort_keys=True)
    arrays["metadata"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def atomic_write(path, write):
    """Call ``write(file)`` on a temporary file next to ``path``, then rename it into place.

    On any error the temporary file is removed and ``path`` is left as it was.
    """

    def to_file(tmp):
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())

    atomic_write_path(path, to_file)


def atomic_write_path(path, write, suffix=".tmp"):
    """:func:`atomic_write` for writers that take a file name: ``write(tmp_path)``, where
    ``tmp_path`` ends in ``suffix`` (picture and animation writers choose the format by it)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".gaussmix-", suffix=suffix, dir=directory)
    except OSError as exc:  # report the file asked for, not the temporary name
        raise type(exc)(exc.errno, exc.strerror, path) from None
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _model_arrays(model):
    if not isinstance(model, GaussianMixture):
        raise TypeError(
            f"save() expects a gaussmix.GaussianMixture, got {type(model).__name__}."
        )
    missing = [
        name
        for name in ("weights_", "means_", "covariances_", "precisions_cholesky_")
        if not hasattr(model, name)
    ]
    if missing:
        raise ValueError(
            "This GaussianMixture is not fitted yet (no " + ", ".join(missing) + "); call fit() "
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
    """JSON-representable hyper-parameters, and the array-valued starting values."""
    params, arrays = {}, {}
    for name, value in model.get_params(deep=False).items():
        if name in ("n_components", "covariance_type"):
            continue
        if name in _INIT_ARRAYS:
            if value is not None:
                arrays[name] = np.asarray(value, dtype=np.float64)
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


# ---------------------------------------------------------------------- loading
def load(path):
    """Read a model written by :func:`save`; returns a :class:`GaussianMixture`.

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
    if not zipfile.is_zipfile(path):
        raise _Invalid(
            "not a gaussmix model file (not a ZIP/.npz archive; truncated or a different format)."
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = _check_members(archive)
            metadata = _parse_metadata(_read_member(archive, members["metadata"], np.uint8))
            shapes = _expected_shapes(metadata)
            _check_sizes(members, shapes, metadata["dtype"])
            arrays = {}
            for name in members:
                if name == "metadata":
                    continue
                dtype = metadata["dtype"] if name in _REQUIRED[1:5] else "float64"
                arrays[name] = _read_member(archive, members[name], dtype, shapes[name])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, KeyError) as exc:
        raise _Invalid(f"the archive is damaged ({exc}).") from None
    return _build(metadata, arrays)


def _check_members(archive):
    members = {}
    for info in archive.infolist():
        name = info.filename
        if not name.endswith(".npy") or name[:-4] not in _REQUIRED + _OPTIONAL:
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
    return members


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
    if int(np.prod(header_shape, dtype=np.int64)) * header_dtype.itemsize > info.file_size:
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
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Invalid(f"metadata.npy is not valid UTF-8 JSON ({exc}).") from None
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
    if metadata.get("estimator") != "GaussianMixture":
        raise _Invalid(f"unknown estimator {metadata.get('estimator')!r}.")
    ctype = metadata.get("covariance_type")
    if ctype not in cov.COVARIANCE_TYPES:
        raise _Invalid(
            f"unknown covariance_type {ctype!r}; expected one of {', '.join(cov.COVARIANCE_TYPES)}."
        )
    for key in ("n_components", "n_features"):
        if not _is_int(metadata.get(key)) or metadata[key] < 1:
            raise _Invalid(f"metadata {key} must be an integer >= 1, got {metadata.get(key)!r}.")
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
    cshape = cov.covariance_shape(ctype, k, d)
    return {
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
            limit = int(np.prod(shapes[name], dtype=np.int64)) * size + _NPY_HEADER_ALLOWANCE
        if info.file_size > limit:
            raise _Invalid(f"{info.filename} is larger than its shape allows ({info.file_size} bytes).")


def _build(metadata, arrays):
    ctype = metadata["covariance_type"]
    for name, arr in arrays.items():
        if not np.all(np.isfinite(arr)):
            raise _Invalid(f"{name}.npy contains NaN or infinite values.")
    weights, means = arrays["weights"], arrays["means"]
    covariances, prec_chol = arrays["covariances"], arrays["precisions_cholesky"]
    if np.any(weights < 0) or np.any(weights > 1):
        raise _Invalid("weights must lie in [0, 1].")
    total = float(np.sum(weights, dtype=np.float64))
    if abs(total - 1.0) > 1e-6:
        raise _Invalid(f"weights must sum to one, but they sum to {total:.10g}.")
    _check_covariances(covariances, ctype)
    _check_precision_factors(prec_chol, covariances, ctype, metadata["dtype"])
    if "scale" in arrays and np.any(arrays["scale"] <= 0):
        raise _Invalid("scale.npy must be positive.")

    params = dict(metadata.get("params", {}))
    known = set(GaussianMixture().get_params()) - {"n_components", "covariance_type"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise _Invalid("unknown hyper-parameters " + ", ".join(map(repr, unknown)) + ".")
    for name in _INIT_ARRAYS:
        params[name] = arrays.get(name)
    try:
        model = GaussianMixture.from_parameters(
            weights, means, covariances, covariance_type=ctype, **params
        )
    except (TypeError, ValueError) as exc:
        raise _Invalid(str(exc)) from None
    # Keep the saved factors, not recomputed ones, so predictions are bit-identical.
    dtype = means.dtype
    model.weights_ = weights
    model.means_ = means
    model.covariances_ = covariances
    model.precisions_cholesky_ = prec_chol
    model.precisions_ = cov.precisions_from_cholesky(
        prec_chol.astype(np.float64), ctype
    ).astype(dtype)
    fit = metadata.get("fit", {})
    model.converged_ = bool(fit.get("converged", True))
    n_iter = fit.get("n_iter", 0)
    model.n_iter_ = n_iter if _is_int(n_iter) and n_iter >= 0 else 0
    lower_bound = fit.get("lower_bound")
    model.lower_bound_ = float(lower_bound) if isinstance(lower_bound, (int, float)) else -np.inf
    model.lower_bounds_ = [float(v) for v in arrays["lower_bounds"]]
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


def _check_covariances(covariances, ctype):
    """Symmetric and positive definite (or positive variances), naming the bad component."""
    c = covariances.astype(np.float64)
    if ctype in ("diag", "spherical"):
        bad = np.flatnonzero(~(c > 0).reshape(c.shape[0], -1).all(axis=1))
        if bad.size:
            raise _Invalid(f"the {ctype} covariance of component {int(bad[0])} is not positive.")
        return
    matrices = c[None] if ctype == "tied" else c
    for k, matrix in enumerate(matrices):
        what = "the tied covariance" if ctype == "tied" else f"the covariance of component {k}"
        diag = np.sqrt(np.abs(np.diag(matrix)))
        if np.any(np.abs(matrix - matrix.T) > 1e-6 * np.outer(diag, diag)):
            raise _Invalid(f"{what} is not symmetric.")
        try:
            np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError:
            raise _Invalid(f"{what} is not positive definite.") from None


def _check_precision_factors(prec_chol, covariances, ctype, dtype):
    """The stored factors ``L`` must be triangular and satisfy ``L.T @ C @ L = I`` up to rounding."""
    L = prec_chol.astype(np.float64)
    c = covariances.astype(np.float64)
    eps = np.finfo(np.dtype(dtype)).eps
    if ctype in ("diag", "spherical"):
        if np.any(L <= 0):
            raise _Invalid("precisions_cholesky.npy must be positive.")
        if np.any(np.abs(L * L * c - 1.0) > 1e3 * eps):
            raise _Invalid("precisions_cholesky.npy does not match covariances.npy.")
        return
    factors, matrices = (L[None], c[None]) if ctype == "tied" else (L, c)
    n_features = c.shape[-1]
    for k, (factor, matrix) in enumerate(zip(factors, matrices)):
        triangular = not np.any(np.triu(factor, 1)) or not np.any(np.tril(factor, -1))
        if not triangular or np.any(np.diag(factor) <= 0):
            raise _Invalid(
                f"precisions_cholesky.npy[{k}] is not triangular with a positive diagonal."
            )
        eigenvalues = np.linalg.eigvalsh(matrix)
        condition = eigenvalues[-1] / eigenvalues[0]
        tolerance = 1e-6 + 100.0 * n_features * eps * condition
        if np.max(np.abs(factor.T @ matrix @ factor - np.eye(n_features))) > tolerance:
            raise _Invalid(f"precisions_cholesky.npy[{k}] does not match covariances.npy.")
