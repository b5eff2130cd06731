"""Validation shared by the estimators and the data paths: inputs, weights, hyper-parameters.

Every check raises ``ValueError`` (or ``TypeError`` for the wrong kind of object) with a message
that says what was wrong and what to do, never an error from deep inside NumPy.
"""

from __future__ import annotations

import numbers
import sys
import warnings

import numpy as np

FLOAT_DTYPES = (np.float64, np.float32)
#: Largest magnitude accepted in data and model parameters, per dtype: squares of values times
#: the largest sample weights (:data:`MAX_SAMPLE_WEIGHT`), summed over a chunk of rows, must stay
#: far from overflow (float64 near 1.8e308, float32 near 3.4e38), or densities and
#: probabilities could not be trusted. Larger data is refused with a message saying so.
MAX_ABS_VALUE = {np.dtype(np.float64): 1e100, np.dtype(np.float32): 1e12}


#: Largest sample_weight accepted (per dtype of the data), and the smallest total: weighted sums
#: of squares must stay finite, and tiny totals lose the statistics' precision.
MAX_SAMPLE_WEIGHT = {np.dtype(np.float64): 1e50, np.dtype(np.float32): 1e8}
MIN_TOTAL_SAMPLE_WEIGHT = 1e-8


def max_abs_value(dtype):
    """:data:`MAX_ABS_VALUE` for ``dtype`` (float64's for any other dtype)."""
    return MAX_ABS_VALUE.get(np.dtype(dtype), MAX_ABS_VALUE[np.dtype(np.float64)])


def check_magnitude(X, name="X"):
    """Refuse values beyond :func:`max_abs_value` (NaN is left to the other checks)."""
    if X.size == 0:
        return X
    limit = max_abs_value(X.dtype)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": NaN is checked apart
        high, low = np.nanmax(X), np.nanmin(X)
    if high <= limit and low >= -limit or np.isnan(high):
        return X
    row = int(np.flatnonzero((np.abs(np.nan_to_num(X)) > limit).any(axis=-1))[0]) \
        if X.ndim == 2 else 0
    raise ValueError(
        f"{name} holds values up to {max(abs(high), abs(low)):.3g} in magnitude (first in row "
        f"{row}); gaussmix works with |values| up to {limit:.0e} for {X.dtype.name} data. "
        "Rescale the data (e.g. divide it by a power of ten) or standardize it."
    )


# Rows per block when scanning an array that is not in memory for non-finite values.
SCAN_ROWS = 65_536


def is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_hyperparameters(estimator, rules):
    """Check ``estimator``'s parameters against ``rules``: ``name -> (predicate, what)``, where
    ``what`` (a string, or a function giving one) says what a valid value is."""
    for name, (is_valid, what) in rules.items():
        value = getattr(estimator, name)
        if not is_valid(value):
            what = what() if callable(what) else what
            raise ValueError(
                f"The {name!r} parameter of {type(estimator).__name__} must be {what}; "
                f"got {value!r}."
            )


def allows_missing(estimator):
    """Whether ``estimator`` scores rows with missing values (NaN) on their observed features
    (``GaussianMixture(missing='em')``)."""
    return bool(getattr(estimator, "_allows_missing", lambda: False)())


def check_array_api_dispatch(X):
    """Refuse arrays of other array-API namespaces (PyTorch, CuPy, array-api-strict, ...) under
    ``sklearn.set_config(array_api_dispatch=True)``: gaussmix computes with NumPy, and those
    would otherwise fail deep inside validation. NumPy arrays (and lists) pass."""
    if "sklearn" not in sys.modules:  # then no one has set it
        return
    from sklearn import get_config

    if (get_config().get("array_api_dispatch") and not isinstance(X, np.ndarray)
            and hasattr(X, "__array_namespace__")
            and not type(X).__module__.startswith("dask")):
        raise NotImplementedError(
            f"gaussmix does not support scikit-learn's array API dispatch yet "
            f"(array_api_dispatch=True with a {type(X).__module__}.{type(X).__name__} input). "
            "Pass NumPy arrays, or set sklearn.set_config(array_api_dispatch=False)."
        )


def validate_numeric(estimator, X, **kwargs):
    """``validate_data`` to float32/float64, with messages that say X must hold real numbers.

    NaN is accepted where the estimator allows missing values (:func:`allows_missing`), except
    in a row with every value missing; otherwise its error says how to allow them.
    """
    if X is None:
        raise TypeError("X must be an array-like of shape (n_samples, n_features), got None.")
    if hasattr(X, "tocsr") and hasattr(X, "nnz"):  # scipy.sparse, without importing it
        raise TypeError(
            "X is a sparse matrix; Gaussian mixtures need dense data: pass X.toarray() (every "
            "entry, zeros included, is a coordinate of the row)."
        )
    check_array_api_dispatch(X)
    X_given = X
    missing = allows_missing(estimator)
    if missing:
        kwargs["ensure_all_finite"] = "allow-nan"
    try:
        X = _validate_plain(estimator, X, **kwargs)
        if X is None:
            from sklearn.utils.validation import validate_data

            X = validate_data(estimator, X_given, dtype=list(FLOAT_DTYPES), **kwargs)
    except (TypeError, ValueError) as err:
        # numpy's bare "could not convert string to float: 'a'" does not say which input failed
        if "convert" in str(err) or "argument must be" in str(err):
            raise type(err)(
                f"X must contain only real numbers (no strings or other objects): {err}"
            ) from None
        if "contains NaN" in str(err) and "missing" in estimator.get_params():
            first = str(err).splitlines()[0]
            raise ValueError(
                f"{first} Pass missing='em' to fit and score rows on their observed values "
                "(EM for data missing at random), or drop or impute the missing values first."
            ) from None
        raise
    if missing:
        check_no_empty_rows(X)
        if kwargs.get("reset", True):  # fitting: a feature never observed cannot be learned
            check_no_empty_columns(X)
    check_magnitude(X)
    return X


def check_float_array(X, ensure_min_samples=1, allow_nan=False):
    """scikit-learn's ``check_array(X, dtype=[float64, float32], ...)``: a plain array of real
    numbers is checked here (:func:`_plain_float_array`), anything else by ``check_array``
    itself, with its messages (importing it costs a second)."""
    finite = "allow-nan" if allow_nan else True
    array = _plain_float_array(X, ensure_min_samples, finite)
    if array is not None:
        return array
    from sklearn.utils.validation import check_array

    return check_array(X, dtype=list(FLOAT_DTYPES), ensure_min_samples=ensure_min_samples,
                       input_name="X", ensure_all_finite=finite)


def _validate_plain(estimator, X, reset=True, ensure_min_samples=1, ensure_all_finite=True,
                    **others):
    """What ``validate_data(estimator, X, dtype=[float64, float32], ...)`` returns, for the
    everyday input that it would accept (see :func:`_plain_float_array`) and, when predicting,
    the fitted number of features and no feature names to compare. None for any other input,
    which scikit-learn's ``validate_data`` then takes with its own messages (the tests match
    them), its feature names (pandas) and its settings; importing it costs a second.
    """
    if others:
        return None
    array = _plain_float_array(X, ensure_min_samples, ensure_all_finite)
    if array is None:
        return None
    n_features = array.shape[1]
    if not reset and (hasattr(estimator, "feature_names_in_")
                      or getattr(estimator, "n_features_in_", n_features) != n_features):
        return None
    if reset:
        estimator.n_features_in_ = n_features
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    return array


def _plain_float_array(X, ensure_min_samples=1, ensure_all_finite=True):
    """``X`` as float64 (float32 kept) when it is a NumPy array (or nested list) of real
    numbers, 2-D, finite (or NaN only, with ``ensure_all_finite='allow-nan'``), with enough
    rows; None for anything else (and while scikit-learn's array API dispatch is on)."""
    if type(X) is not np.ndarray and type(X) not in (list, tuple):
        return None
    if "sklearn" in sys.modules:
        from sklearn import get_config

        if get_config().get("array_api_dispatch"):
            return None
    if type(X) is np.ndarray:
        array = X
        dtype = X.dtype if X.dtype in FLOAT_DTYPES else np.float64
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                array = np.asarray(X)
        except (TypeError, ValueError):  # ragged: scikit-learn says so
            return None
        dtype = np.float64  # as scikit-learn: a list holds no dtype to keep
    if array.dtype.kind not in "fiub" or array.ndim != 2:
        return None
    n_samples, n_features = array.shape
    if n_samples < max(1, ensure_min_samples) or n_features < 1:
        return None
    array = np.asarray(array, dtype=dtype)
    if array.dtype.kind == "f":
        total = np.sum(array, dtype=np.float64)
        if not np.isfinite(total):  # the common case costs one sum, as in scikit-learn
            nan_only = ensure_all_finite == "allow-nan" and not np.isinf(array).any()
            if not (nan_only or ensure_all_finite is False):
                return None
    return array


def check_no_empty_columns(X):
    """Refuse features never observed (every value NaN): EM would invent them from nothing."""
    _check_none_empty(X, 0, "column(s)", "columns {}, counting from 0",
                      "nothing can be learned about them. Drop those columns.")


def nonfinite_row_message(estimator, row, kind, values=None):
    """The error for the bad row ``row`` (see :func:`first_nonfinite_row`) of a ``kind`` array
    (memory-mapped, Dask) that is validated without being read whole; ``values``, the row's
    values, lets it say when the row is bad for its magnitude."""
    if values is not None:
        values = np.asarray(values)
        limit = max_abs_value(values.dtype)
        finite = values[np.isfinite(values)]
        if np.all(np.isfinite(values) | np.isnan(values)) and finite.size and \
                np.max(np.abs(finite)) > limit:
            return (
                f"Row {row} of the {kind} X holds {np.max(np.abs(finite)):.3g}; gaussmix "
                f"works with |values| up to {limit:.0e} for {values.dtype.name} data. Rescale "
                "the data (e.g. divide it by a power of ten) or standardize it."
            )
    if allows_missing(estimator):
        return (
            f"Row {row} of the {kind} X holds infinity or has every value missing (or holds a "
            f"value beyond {max_abs_value(np.float64):.0e}); with missing='em' NaN marks a "
            "missing value, but each row needs at least one observed value and no infinity. "
            "Drop or fix that row."
        )
    return (
        f"X contains NaN or infinity in row {row}; remove or impute such rows before fitting, "
        "or pass missing='em' to fit on the observed values of rows with NaN (values beyond "
        f"{max_abs_value(np.float64):.0e} are refused too)."
    )


def check_no_empty_rows(X):
    """Refuse rows whose every value is missing: they carry no information for any component."""
    _check_none_empty(X, 1, "row(s)", "rows {}",
                      "a row needs at least one observed value. Drop those rows.")


def _check_none_empty(X, axis, what, which, advice):
    """``ValueError`` naming the slices of ``X`` along ``1 - axis`` whose every value is NaN."""
    empty = (np.flatnonzero(np.isnan(X).all(axis=axis)) if X.shape[axis]
             else np.zeros(0, dtype=int))
    if len(empty):
        shown = ", ".join(str(i) for i in empty[:5]) + (", ..." if len(empty) > 5 else "")
        raise ValueError(f"{len(empty)} {what} of X have every value missing "
                         f"({which.format(shown)}); {advice}")
def as_float_array(value, name):
    """``value`` as a float32 (if it is float32) or float64 array, or a clear error."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array.") from None
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}.")
    return arr.astype(np.float32 if arr.dtype == np.float32 else np.float64)


def check_weights(weights, n_components, name):
    """Mixture weights: shape ``(n_components,)``, finite, in ``[0, 1]``, summing to one."""
    # scikit-learn's wording (its tests match it), with the name of the argument
    if weights.shape != (n_components,):
        raise ValueError(f"The parameter 'weights' should have the shape of ({n_components},), "
                         f"but got {weights.shape} ({name}: one weight per component).")
    if not np.all(np.isfinite(weights)):
        raise ValueError(f"{name} must be finite, got {weights}.")
    if np.any(weights < 0) or np.any(weights > 1):
        raise ValueError(f"The parameter 'weights' should be in the range [0, 1], but got min "
                         f"value {np.min(weights):.5f}, max value {np.max(weights):.5f} ({name}).")
    if not np.isclose(np.sum(weights, dtype=np.float64), 1.0, rtol=0, atol=1e-6):
        raise ValueError(f"The parameter 'weights' should be normalized, but got sum(weights) = "
                         f"{np.sum(weights):.5f} ({name} must sum to 1).")
    return weights


def check_positive_rows(n_positive, n_components):
    """As with repeated rows, fewer points than components cannot be fitted."""
    if n_positive < n_components:
        raise ValueError(
            f"Only {n_positive} rows have a positive sample_weight, fewer than "
            f"n_components = {n_components}. Use fewer components or give more rows a positive "
            "weight."
        )


def check_weight_range(largest, total, dtype):
    """The limits on finite, non-negative sample weights with maximum ``largest`` and sum
    ``total`` for data of ``dtype`` (:data:`MAX_SAMPLE_WEIGHT`, :data:`MIN_TOTAL_SAMPLE_WEIGHT`),
    shared by the in-memory check and the Dask path (which computes the two lazily)."""
    limit = MAX_SAMPLE_WEIGHT.get(np.dtype(dtype), MAX_SAMPLE_WEIGHT[np.dtype(np.float64)])
    if largest > limit:
        raise ValueError(
            f"sample_weight holds {largest:.3g}; weights up to {limit:.0e} are accepted for "
            f"{np.dtype(dtype).name} data (only their ratios matter to EM: divide them by their "
            "maximum)."
        )
    if not total > 0:
        raise ValueError("sample_weight sums to zero; at least one row must have positive weight.")
    if total < MIN_TOTAL_SAMPLE_WEIGHT:
        raise ValueError(
            f"sample_weight sums to {total:.3g}, too little to compute with (the statistics "
            f"lose precision); give weights summing to at least {MIN_TOTAL_SAMPLE_WEIGHT:.0e} "
            "(only their ratios matter to EM: divide them by their maximum)."
        )


def check_sample_weight(sample_weight, n_samples, n_components=None, dtype=np.float64):
    """Validated float64 weights (or None); with ``n_components``, enough positive rows too.
    ``dtype``: the data's, whose kernels the weights enter (:data:`MAX_SAMPLE_WEIGHT`)."""
    if sample_weight is None:
        return None
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("sample_weight must be a 1-D array of numbers.") from None
    if w.ndim == 0:
        w = np.full(n_samples, float(w))
    if w.ndim != 1:
        raise ValueError(f"sample_weight must be 1-D, got shape {w.shape}.")
    if w.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has {w.shape[0]} entries but X has {n_samples} rows; they must match."
        )
    if not np.all(np.isfinite(w)):
        raise ValueError("sample_weight contains NaN or infinite values.")
    if np.any(w < 0):
        raise ValueError("sample_weight must be non-negative.")
    check_weight_range(float(w.max()) if w.size else 0.0, float(w.sum()), dtype)
    if n_components is not None:
        check_positive_rows(int(np.count_nonzero(w)), n_components)
    return w


# ---------------------------------------------------------------------- arrays not in memory
def first_nonfinite_row(X, start=0, stop=None, block=SCAN_ROWS, missing=False):
    """Index of the first row of ``X[start:stop]`` holding NaN or inf, or ``-1``; reads in blocks.

    With ``missing`` (NaN marks a missing value), the first row holding an infinity or with
    every value missing.
    """
    stop = X.shape[0] if stop is None else stop
    limit = max_abs_value(X.dtype)
    for a in range(start, stop, block):
        b = min(a + block, stop)
        part = X[a:b]
        if part.size and np.isfinite(np.sum(part, dtype=np.float64)) and \
                -limit <= np.min(part) and np.max(part) <= limit:
            continue  # the common case: no temporary array
        with np.errstate(invalid="ignore"):
            huge = (np.abs(part) > limit) & np.isfinite(part)
        if missing:
            nan = np.isnan(part)
            bad = np.flatnonzero(np.isinf(part).any(axis=1) | nan.all(axis=1) | huge.any(axis=1))
        else:
            bad = np.flatnonzero(~np.isfinite(part).all(axis=1) | huge.any(axis=1))
        if len(bad):
            return a + int(bad[0])
    return -1


def check_n_features(estimator, n_features, reset):
    """Set (``reset``) or check ``n_features_in_`` for data that bypasses ``validate_data``."""
    name = type(estimator).__name__
    if reset:
        estimator.n_features_in_ = n_features
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )


def check_rows(estimator, X, what="X"):
    """Shape checks for arrays validated without being read whole (memory-mapped, Dask)."""
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D {what} of shape (n_samples, n_features), got {X.ndim}-D with shape "
            f"{X.shape}. Reshape your data, e.g. X.reshape(-1, 1) for a single feature."
        )
    n_samples, n_features = X.shape
    if n_features < 1:
        raise ValueError(f"{what} has 0 features; at least 1 is required.")
    if n_samples < max(2, estimator.n_components):
        raise ValueError(
            f"Expected n_samples >= max(2, n_components) but got n_components = "
            f"{estimator.n_components}, n_samples = {n_samples}. Use fewer components or more data."
        )
