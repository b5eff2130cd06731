"""Pure functions of the outlier detector: thresholds, trimming and the scoring rule.

They take and return plain arrays, so the command line (``gaussmix score --contamination``)
shares them with :class:`~gaussmix.apps.anomaly.MixtureOutlierDetector`.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_contamination", "column_scales", "contamination_offset", "kept_rows",
           "major_log_density", "minor_weight"]

#: ``contamination="auto"``: rows outside the model's highest-density region of this mass are
#: flagged (about 1% of rows drawn from the model itself).
AUTO_MASS = 0.99
#: Draws from a fitted model that find its highest-density region (``contamination="auto"``,
#: and the scaling's calibration distance).
AUTO_DRAWS = 10_000


def check_contamination(contamination, *, allow_auto=True):
    """``contamination`` as a float in ``(0, 0.5]``, or ``"auto"``; a ``ValueError`` otherwise.

    Examples
    --------
    >>> from gaussmix.apps.anomaly import check_contamination
    >>> check_contamination(0.05)
    0.05
    """
    if allow_auto and isinstance(contamination, str) and contamination == "auto":
        return contamination
    if (isinstance(contamination, (bool, np.bool_))
            or not isinstance(contamination, numbers.Real)
            or not 0.0 < float(contamination) <= 0.5):
        auto = " or 'auto'" if allow_auto else ""
        raise ValueError(
            f"contamination must be a fraction of rows in (0, 0.5]{auto}, got {contamination!r}."
        )
    return float(contamination)


def contamination_offset(scores, contamination):
    """The threshold below which a fraction ``contamination`` of ``scores`` lies.

    With ``n_flag = round(contamination * n)``, the offset lies halfway between the
    ``n_flag``-th and the ``(n_flag + 1)``-th lowest score, so exactly ``n_flag`` distinct scores
    are strictly below it (tied scores at the boundary are all kept). With ``n_flag = 0`` it is
    the lowest score: nothing is strictly below it. Rows are outliers when ``score < offset``.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Scores, higher = more normal (e.g. log-densities); finite or ``-inf``.
    contamination : float in (0, 0.5]
        Fraction of rows to flag.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.apps.anomaly import contamination_offset
    >>> scores = np.array([-9.0, -1.0, -2.0, -3.0, -8.0, -1.5, -2.5, -1.2, -0.5, -0.7])
    >>> offset = contamination_offset(scores, 0.2)
    >>> float(offset), int((scores < offset).sum())
    (-5.5, 2)
    """
    contamination = check_contamination(contamination, allow_auto=False)
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if scores.size == 0:
        raise ValueError("contamination_offset needs at least one score.")
    if np.isnan(scores).any() or np.isposinf(scores).any():
        raise ValueError("scores must be finite or -inf (no NaN or +inf).")
    n_flag = int(np.floor(contamination * scores.size + 0.5))
    ordered = np.sort(scores, kind="stable")
    if n_flag == 0:
        return float(ordered[0])
    low, high = ordered[n_flag - 1], ordered[min(n_flag, scores.size - 1)]
    if np.isneginf(low):  # a score that underflowed: flag it, and keep the next one
        return float(np.nextafter(high, -np.inf)) if np.isfinite(high) else float(high)
    return float(0.5 * (low + high))


def kept_rows(scores, trim):
    """Indices of the ``ceil((1 - trim) * n)`` highest ``scores`` (ties: earlier rows first),
    sorted: the rows a trimmed refit uses.

    Examples
    --------
    >>> from gaussmix.apps.anomaly import kept_rows
    >>> kept_rows([0.0, -5.0, 1.0, -1.0], 0.25).tolist()
    [0, 2, 3]
    """
    scores = np.asarray(scores, dtype=np.float64)
    n_keep = int(np.ceil((1.0 - trim) * scores.size - 1e-9))
    return np.sort(np.argsort(-scores, kind="stable")[:n_keep])


def major_log_density(log_density, resp, weights, min_weight):
    """Log-density summed over the components of weight at least ``min_weight`` only.

    ``log sum_{k: w_k >= min_weight} w_k N(x; mu_k, Sigma_k)`` equals the full log-density
    plus ``log sum_{k major} resp_k(x)``: a small component is a cluster of outliers, not a
    part of the normal data, and rows it explains get a low score. When every component (or
    none) is major this is ``log_density`` itself.

    Parameters
    ----------
    log_density : ndarray of shape (n_samples,)
        The mixture's log-density at each row.
    resp : ndarray of shape (n_samples, n_components)
        Posterior probabilities of the components.
    weights : ndarray of shape (n_components,)
    min_weight : float

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.apps.anomaly import major_log_density
    >>> out = major_log_density(np.array([0.0, 0.0]), np.array([[1.0, 0.0], [0.5, 0.5]]),
    ...                         np.array([0.95, 0.05]), 0.1)
    >>> np.round(out, 4).tolist()
    [0.0, -0.6931]
    """
    major = np.asarray(weights) >= min_weight
    if major.all() or not major.any():
        return log_density
    tiny = np.finfo(np.float64).tiny
    return log_density + np.log(np.maximum(resp[:, major].sum(axis=1), tiny))


def column_scales(X, standardize):
    """The scale of each column: its standard deviation (``standardize``), or one scale for
    all, the root mean variance of the columns (the data's own unit, up to a factor that keeps
    ``reg_covar`` relative to the data's spread); 1 where it is 0 (a constant column)."""
    spread = np.nanstd(X, axis=0)
    if not standardize:
        spread = np.full_like(spread, np.sqrt(np.mean(spread**2)))
    return np.where(spread > 0, spread, 1.0)


def minor_weight(min_component_weight, n_components):
    """The weight below which a component of a mixture of ``n_components`` is minor (a cluster
    of outliers, left out of the density): ``min_component_weight``, but at most half of an equal
    share ``1 / n_components``, so that a mixture of many components (one per class of data
    with many classes) is not all minor. Up to ``0.5 / min_component_weight`` components (5 at
    the default 0.1) the threshold is ``min_component_weight`` itself."""
    return min(float(min_component_weight), 0.5 / max(int(n_components), 1))
