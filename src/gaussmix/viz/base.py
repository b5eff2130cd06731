"""Geometry and drawing helpers shared by the pictures in :mod:`gaussmix.viz`.

Pure functions (marginals, projections, ellipse geometry, colours) plus small drawing helpers that
take an ``Axes``. Nothing here decides a figure's layout.
"""

from __future__ import annotations

import os

import numpy as np

from ..engine import covariance
from ..io.writing import atomic_write_path

MEAN_COLOR = "red"
N_STD_DEFAULT = (1, 2, 3)

# Qualitative palette without red (red is reserved for the means).
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#7b4173", "#3182bd",
    "#31a354", "#756bb1", "#636363", "#e6550d", "#6baed6", "#74c476",
)  # fmt: skip


def component_colors(n_components):
    """``(K, 4)`` RGBA colours, one per component, none of them red."""
    from matplotlib.colors import to_rgba

    if n_components <= len(_PALETTE):
        return np.array([to_rgba(c) for c in _PALETTE[:n_components]])
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    return cmap(np.linspace(0.0, 0.95, n_components))


def matched_colors(model, reference):
    """Colours of ``model``'s components that match ``reference`` (another mixture, e.g. the
    truth, or ``None``): each component takes the colour of the reference component it is
    matched to (Hungarian matching of the means, ``scipy.optimize.linear_sum_assignment``), so
    the same group keeps one colour in every picture of either model. Components left over
    (more than the reference has) take the next colours."""
    n_components = len(model.weights_)
    if reference is None:
        return component_colors(n_components)
    from scipy.optimize import linear_sum_assignment

    ref_means = np.asarray(reference.means_, dtype=np.float64)
    means = np.asarray(model.means_, dtype=np.float64)
    palette = component_colors(max(n_components, len(ref_means)))
    cost = ((ref_means[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    colors = np.empty((n_components, 4))
    colors[cols] = palette[rows]
    rest = np.setdiff1d(np.arange(n_components), cols)
    colors[rest] = palette[len(ref_means):][: len(rest)]
    return colors


def check_model(model):
    """A fitted mixture (ours or scikit-learn's), or a clear error."""
    needed = ("weights_", "means_", "covariances_", "covariance_type")
    missing = [name for name in needed if not hasattr(model, name)]
    if missing:
        raise TypeError(
            "Expected a fitted Gaussian mixture (call .fit(X) first, or build one with "
            "GaussianMixture.from_parameters); it lacks " + ", ".join(missing) + "."
        )
    return model


def new_axes(ax, figsize=(7.5, 5.5)):
    """``ax``, or the axes of a new figure when it is ``None``."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def covariance_model(model):
    """The registered covariance model of a fitted mixture (ours or scikit-learn's)."""
    return covariance.get(model.covariance_type)


def full_covariances(model):
    """The model's covariances as a ``(K, D, D)`` float64 stack, whatever the covariance type."""
    means = np.asarray(model.means_, dtype=np.float64)
    return covariance_model(model).dense(model.covariances_, *means.shape)


def shown_components(model, min_weight):
    """Indices of the components a picture draws: weight at least ``min_weight`` (a number in
    ``[0, 1)``); the heaviest one always."""
    if not (isinstance(min_weight, (int, float, np.number)) and 0 <= min_weight < 1):
        raise ValueError(f"min_weight must be a number in [0, 1); got {min_weight!r}.")
    weights = np.asarray(model.weights_, dtype=np.float64)
    shown = np.flatnonzero(weights >= min_weight)
    return shown if shown.size else np.array([int(np.argmax(weights))])


def check_data(X, n_features, name="X"):
    """``X`` as a finite float64 2-D array with ``n_features`` columns (or ``None``)."""
    if X is None:
        return None
    if hasattr(X, "to_numpy"):
        X = X.to_numpy()
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a numeric array of shape (n_samples, n_features)."
        ) from None
    if X.ndim == 1 and n_features == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(
            f"{name} must have shape (n_samples, {n_features}) to match the model; got {X.shape}."
        )
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinite values; drop or impute them first.")
    return X


def check_n_std(n_std):
    values = np.atleast_1d(np.asarray(n_std, dtype=np.float64))
    if values.ndim != 1 or values.size == 0 or np.any(~np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"n_std must be positive numbers such as (1, 2, 3); got {n_std!r}.")
    return np.sort(values)


def feature_names(names, n_features):
    if names is None:
        return [f"feature {i}" for i in range(n_features)]
    names = [str(n) for n in names]
    if len(names) != n_features:
        raise ValueError(f"feature_names has {len(names)} entries but the model has {n_features}.")
    return names


def projection_matrix(model, X, features, projection, names):
    """``(P, (xlabel, ylabel))``: a ``(2, D)`` linear map to the plane shown and its axis labels.

    ``projection=None`` selects the pair ``features`` (exact marginals); ``'pca'`` projects onto
    the two leading principal axes of the mixture's total covariance (of ``X`` when given).
    """
    n_features = np.asarray(model.means_).shape[1]
    if projection is None:
        if n_features == 1:
            raise ValueError("A 2-D picture needs two features; this model has one (use plot_1d).")
        try:
            i, j = (int(f) for f in features)
        except (TypeError, ValueError):
            raise ValueError(
                f"features must be a pair of column indices; got {features!r}."
            ) from None
        for f in (i, j):
            if not 0 <= f < n_features:
                raise ValueError(f"feature index {f} is out of range for {n_features} features.")
        if i == j:
            raise ValueError(f"features must be two different columns; got ({i}, {j}).")
        P = np.zeros((2, n_features))
        P[0, i] = P[1, j] = 1.0
        if n_features == 2 and (i, j) == (0, 1):
            return P, (names[i], names[j])
        return P, (
            f"{names[i]} (marginal of {n_features} features)",
            f"{names[j]} (marginal of {n_features} features)",
        )
    if projection != "pca":
        raise ValueError(f"projection must be None (a feature pair) or 'pca'; got {projection!r}.")
    if X is not None and len(X) > 2:
        total = np.cov(X, rowvar=False)
        source = "data"
    else:
        total = mixture_total_covariance(model)
        source = "model"
    total = np.atleast_2d(total)
    values, vectors = np.linalg.eigh(total)
    order = np.argsort(values)[::-1][:2]
    P = vectors[:, order].T
    P *= np.where(P[np.arange(2), np.argmax(np.abs(P), axis=1)] < 0, -1.0, 1.0)[:, None]
    share = values[order] / values.sum()
    return P, tuple(
        f"principal axis {k + 1} ({100 * s:.0f}% of {source} variance)" for k, s in enumerate(share)
    )


def mixture_total_covariance(model):
    weights = np.asarray(model.weights_, dtype=np.float64)
    means = np.asarray(model.means_, dtype=np.float64)
    centre = weights @ means
    spread = np.einsum("k,ki,kj->ij", weights, means - centre, means - centre)
    return np.einsum("k,kij->ij", weights, full_covariances(model)) + spread


def projected_parameters(model, P):
    """Means ``(K, 2)`` and covariances ``(K, 2, 2)`` of the projected components (exact)."""
    means = np.asarray(model.means_, dtype=np.float64)
    covs = covariance_model(model).marginal(model.covariances_, P, *means.shape)
    return means @ P.T, covs


def ellipse_geometry(cov2, n_std):
    """``(width, height, angle_degrees)`` of the ``n_std`` Mahalanobis ellipse of a 2x2 cov."""
    values, vectors = np.linalg.eigh(cov2)
    values = np.clip(values, 0.0, None)
    major = vectors[:, 1]
    angle = np.degrees(np.arctan2(major[1], major[0]))
    return 2 * n_std * np.sqrt(values[1]), 2 * n_std * np.sqrt(values[0]), angle


def draw_ellipses(ax, means2, covs2, colors, n_std, *, alpha=0.16, zorder=2):
    """Translucent filled ellipses with solid outlines at each ``n_std`` for every component."""
    from matplotlib.patches import Ellipse

    patches = []
    for mean, cov2, color in zip(means2, covs2, colors):
        for level, n in enumerate(n_std[::-1]):  # largest first, so smaller ones sit on top
            width, height, angle = ellipse_geometry(cov2, n)
            face = (*color[:3], alpha * (0.55 + 0.45 * level / max(1, len(n_std) - 1)))
            patch = Ellipse(
                mean, width, height, angle=angle, facecolor=face,
                edgecolor=(*color[:3], 0.9), linewidth=1.2, zorder=zorder,
            )  # fmt: skip
            ax.add_patch(patch)
            patches.append(patch)
    return patches


def draw_means(ax, means2, *, size=110, zorder=6, label="component means"):
    return ax.scatter(
        means2[:, 0], means2[:, 1], marker="X", s=size, c=MEAN_COLOR, edgecolors="white",
        linewidths=1.2, zorder=zorder, label=label,
    )  # fmt: skip


#: The colour of points the noise component explains.
NOISE_COLOR = "#9a9a9a"


def to_rgba_array(values):
    from matplotlib.colors import to_rgba_array as convert

    return convert(values)


def soft_colors(resp, colors, min_alpha=0.15):
    """Per-point RGBA: responsibilities blend the component colours; uncertainty fades alpha.

    A point certain of its component gets that colour at alpha 0.85; a point split evenly between
    components gets the blended colour at ``min_alpha``. A last column beyond ``colors`` is a
    noise component's, drawn in :data:`NOISE_COLOR`.
    """
    resp = np.asarray(resp, dtype=np.float64)
    n_components = resp.shape[1]
    if n_components == len(colors) + 1:
        colors = np.vstack([colors[:, :4], to_rgba_array([NOISE_COLOR])])
    rgb = resp @ colors[:, :3]
    if n_components == 1:
        certainty = np.ones(len(resp))
    else:
        certainty = (resp.max(axis=1) - 1.0 / n_components) / (1.0 - 1.0 / n_components)
    alpha = min_alpha + (0.85 - min_alpha) * np.clip(certainty, 0.0, 1.0) ** 2
    return np.column_stack([rgb, alpha])


def default_point_size(n_samples):
    return float(np.clip(6000.0 / max(n_samples, 1), 2.0, 30.0))


def ellipse_bounds(means2, covs2, n_std):
    """``(lo, hi)``: the exact bounding box of every component's ``n_std`` ellipse (its half-width
    along an axis is ``n_std * sqrt`` of the variance along that axis)."""
    means2 = np.asarray(means2, dtype=np.float64).reshape(-1, 2)
    covs2 = np.asarray(covs2, dtype=np.float64).reshape(-1, 2, 2)
    spread = n_std * np.sqrt(np.clip(np.diagonal(covs2, axis1=1, axis2=2), 0.0, None))
    return (means2 - spread).min(axis=0), (means2 + spread).max(axis=0)


def limits(points2, means2, covs2, n_std=3.0, margin=0.06):
    """Axis limits ``[[x0, x1], [y0, y1]]`` that show the points and cover every drawn ellipse.

    ``n_std``: the largest ellipse drawn (a number or the sequence given to the picture);
    ``means2``/``covs2`` may stack several frames' components (an animation's limits cover
    them all). The points' 0.2-99.8 percentiles set the box, so one far point does not
    shrink the rest; the ellipses are always inside.
    """
    n_std = float(np.max(n_std)) if np.size(n_std) else 0.0
    lo, hi = ellipse_bounds(means2, covs2, n_std) if len(np.atleast_1d(means2)) else (
        np.full(2, np.inf), np.full(2, -np.inf))
    if points2 is not None and len(points2):
        lo = np.minimum(lo, np.percentile(points2, 0.2, axis=0))
        hi = np.maximum(hi, np.percentile(points2, 99.8, axis=0))
    pad = margin * np.maximum(hi - lo, 1e-9)
    return np.column_stack([lo - pad, hi + pad])


def atomic_write(path, write, suffix=None):
    """Call ``write(tmp_path)`` then move the result to ``path`` in one step (no half files)."""

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"Cannot write {path!r}: the folder {folder!r} does not exist.")
    suffix = suffix if suffix is not None else os.path.splitext(path)[1]
    atomic_write_path(path, write, suffix)
    return path
