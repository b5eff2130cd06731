"""Pictures that explain a Gaussian mixture.

* :func:`plot_mixture` - points coloured by their most probable component (uncertain points blended
  and faded), red markers on the means, translucent 1, 2 and 3 standard-deviation ellipses.
* :func:`plot_pairs` - a corner plot of every feature pair with marginal ellipses, and the 1-D
  marginal densities on the diagonal.
* :func:`plot_1d` - a histogram with each weighted component density and the mixture density.
* :func:`plot_density` - log-density heat map with contours.
* :func:`plot_lower_bound` - the lower bound after each EM iteration.
* :func:`animate_em` - a GIF of EM at work, one frame per iteration (see :mod:`gaussmix._plot_em`).

Every function takes a fitted mixture (``gaussmix.GaussianMixture``, scikit-learn's
``GaussianMixture`` or ``GaussianMixture.from_parameters(...)``) and works for every covariance
type. With more than two features a picture shows either a chosen pair of features (the exact
marginal of the mixture) or a projection onto the two leading principal axes; the axis labels say
which. matplotlib is imported only when a picture is drawn.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from . import _plot_base as base
from ._plot_em import animate_em, em_trajectory

__all__ = [
    "animate_em",
    "em_trajectory",
    "plot_1d",
    "plot_density",
    "plot_lower_bound",
    "plot_mixture",
    "plot_pairs",
]


def _axes(ax, figsize=(7.5, 5.5)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _legend_handles(colors, weights, n_std, *, max_components=20):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = []
    if len(colors) <= max_components:
        handles += [
            Patch(facecolor=(*c[:3], 0.45), edgecolor=c, label=f"component {k} (weight {w:.2f})")
            for k, (c, w) in enumerate(zip(colors, weights))
        ]
    handles.append(
        Line2D([], [], marker="X", color="none", markerfacecolor=base.MEAN_COLOR,
               markeredgecolor="white", markersize=10, label="means")
    )  # fmt: skip
    if n_std is not None and len(n_std):
        levels = ", ".join(f"{n:g}" for n in n_std)
        handles.append(
            Patch(facecolor=(0.5, 0.5, 0.5, 0.2), edgecolor="0.35", label=f"{levels} std. dev.")
        )
    return handles


def _place_legend(ax, handles, legend):
    if legend in (None, False):
        return None
    if legend == "outside":
        return ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
            fontsize="small", frameon=False,
        )  # fmt: skip
    if legend in ("inside", True):
        return ax.legend(handles=handles, loc="best", fontsize="small", framealpha=0.85)
    raise ValueError(f"legend must be 'outside', 'inside' or None; got {legend!r}.")


def plot_mixture(
    model,
    X=None,
    ax=None,
    *,
    features=(0, 1),
    projection=None,
    n_std=base.N_STD_DEFAULT,
    feature_names=None,
    point_size=None,
    legend="outside",
    title=None,
):
    """Scatter plot of the data with the mixture's components drawn on top.

    Points take the colour of their most probable component; their colour blends the component
    colours by the responsibilities and fades as the assignment gets uncertain. Each component gets
    translucent ellipses at ``n_std`` standard deviations (Mahalanobis distance) and a red marker
    on its mean.

    Parameters
    ----------
    model : fitted Gaussian mixture
        Any covariance type. A one-feature model is drawn by :func:`plot_1d`.
    X : array-like of shape (n_samples, n_features), default=None
        Points to draw (coloured by ``model.predict_proba``). ``None`` draws the components only.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure is made when ``None``.
    features : pair of int, default=(0, 1)
        Columns shown when ``projection`` is None; the ellipses are the exact marginals.
    projection : {None, 'pca'}, default=None
        ``'pca'``: project onto the two leading principal axes of ``X`` (of the mixture when ``X``
        is None); projected ellipses are exact too.
    n_std : sequence of float, default=(1, 2, 3)
        Ellipse sizes in standard deviations.
    feature_names : sequence of str, default=None
        Axis names (``'feature i'`` when None).
    point_size : float, default=None
        Marker area; chosen from the number of points when None.
    legend : {'outside', 'inside', None}, default='outside'
        Where the colour key goes.
    title : str, default=None
        Figure title (a description of the model when None).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import gaussmix as gm
    >>> X, y, truth = gm.make_mixture(300, 3, overlap=0.02, random_state=0)
    >>> model = gm.GaussianMixture(3, random_state=0).fit(X)
    >>> ax = gm.plot_mixture(model, X)
    >>> len(ax.patches)  # three translucent ellipses (1, 2, 3 sd) per component
    9
    """
    base.check_model(model)
    means = np.asarray(model.means_, dtype=np.float64)
    n_components, n_features = means.shape
    if n_features == 1:
        return plot_1d(model, X, ax=ax, feature_names=feature_names, legend=legend, title=title)
    X = base.check_data(X, n_features)
    n_std = base.check_n_std(n_std)
    names = base.feature_names(feature_names, n_features)
    P, (xlabel, ylabel) = base.projection_matrix(model, X, features, projection, names)
    means2, covs2 = base.projected_parameters(model, P)
    colors = base.component_colors(n_components)
    ax = _axes(ax)

    points2 = None
    if X is not None and len(X):
        points2 = X @ P.T
        rgba = base.soft_colors(model.predict_proba(X), colors)
        size = base.default_point_size(len(X)) if point_size is None else point_size
        ax.scatter(points2[:, 0], points2[:, 1], c=rgba, s=size, linewidths=0, zorder=3)
    base.draw_ellipses(ax, means2, covs2, colors, n_std)
    base.draw_means(ax, means2)
    lims = base.limits(points2, means2, covs2)
    ax.set_xlim(*lims[0])
    ax.set_ylim(*lims[1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title if title is not None else _describe(model, X))
    ax.grid(True, color="0.92", linewidth=0.8, zorder=0)
    ax.set_axisbelow(True)
    _place_legend(ax, _legend_handles(colors, model.weights_, n_std), legend)
    return ax


def _describe(model, X):
    n_components = len(model.weights_)
    text = f"{n_components}-component Gaussian mixture ({model.covariance_type} covariances)"
    if X is not None:
        text += f", {len(X)} points"
    return text


def _marginal_1d(model, feature):
    means = np.asarray(model.means_, dtype=np.float64)[:, feature]
    variances = base.full_covariances(model)[:, feature, feature]
    return np.asarray(model.weights_, dtype=np.float64), means, np.sqrt(variances)


def _normal_pdf(x, mean, std):
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2.0 * np.pi))


def _draw_1d(ax, model, X, feature, colors, bins, *, show_labels=True):
    weights, means, stds = _marginal_1d(model, feature)
    lo = (means - 4 * stds).min()
    hi = (means + 4 * stds).max()
    if X is not None and len(X):
        column = X[:, feature]
        lo, hi = min(lo, column.min()), max(hi, column.max())
        if bins is None:  # fine enough for narrow components, not noisy for small samples
            bins = int(np.clip(2.0 * np.sqrt(len(column)), 20, 150))
        ax.hist(column, bins=bins, density=True, color="0.82", edgecolor="white", linewidth=0.5,
                label="data (histogram)" if show_labels else None, zorder=1)  # fmt: skip
    grid = np.linspace(lo, hi, 600)
    parts = weights[:, None] * _normal_pdf(grid[None, :], means[:, None], stds[:, None])
    for k, (part, color) in enumerate(zip(parts, colors)):
        ax.fill_between(grid, part, color=(*color[:3], 0.18), linewidth=0, zorder=2)
        ax.plot(grid, part, color=color, linewidth=1.6, zorder=3,
                label=f"component {k} (weight {weights[k]:.2f})" if show_labels else None)  # fmt: skip
    ax.plot(grid, parts.sum(axis=0), color="black", linewidth=2.0, zorder=4,
            label="mixture density" if show_labels else None)  # fmt: skip
    peaks = weights * _normal_pdf(means, means, stds)
    ax.scatter(means, peaks, marker="X", s=70, c=base.MEAN_COLOR, edgecolors="white",
               linewidths=1.0, zorder=5, label="means" if show_labels else None)  # fmt: skip
    ax.set_xlim(lo, hi)
    ax.set_ylim(bottom=0)
    return ax


def plot_1d(
    model,
    X=None,
    ax=None,
    *,
    feature=0,
    bins=None,
    feature_names=None,
    legend="outside",
    title=None,
):
    """Histogram of one feature with each weighted component density and the mixture density.

    For a model with several features, the curves are the exact marginals of ``feature``.

    Parameters
    ----------
    model : fitted Gaussian mixture
    X : array-like of shape (n_samples, n_features) or (n_samples,), default=None
        Data for the histogram (density-normalised).
    ax : matplotlib Axes, default=None
    feature : int, default=0
        The column shown.
    bins : int, sequence or str, default=None
        Passed to :meth:`matplotlib.axes.Axes.hist`; ``None`` uses ``2 sqrt(n_samples)`` bins
        (between 20 and 150).
    feature_names : sequence of str, default=None
    legend : {'outside', 'inside', None}, default='outside'
    title : str, default=None

    Returns
    -------
    matplotlib.axes.Axes
    """
    base.check_model(model)
    n_features = np.asarray(model.means_).shape[1]
    if not isinstance(feature, (int, np.integer)) or not 0 <= feature < n_features:
        raise ValueError(f"feature must be a column index in [0, {n_features}); got {feature!r}.")
    X = base.check_data(X, n_features)
    names = base.feature_names(feature_names, n_features)
    colors = base.component_colors(len(model.weights_))
    ax = _axes(ax)
    _draw_1d(ax, model, X, feature, colors, bins)
    label = names[feature]
    if n_features > 1:
        label += f" (marginal of {n_features} features)"
    ax.set_xlabel(label)
    ax.set_ylabel("density")
    ax.set_title(title if title is not None else _describe(model, X))
    if legend not in (None, False):
        handles, labels = ax.get_legend_handles_labels()
        if legend == "outside":
            ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                      borderaxespad=0.0, fontsize="small", frameon=False)  # fmt: skip
        else:
            _place_legend(ax, handles, legend)
    return ax


def plot_pairs(
    model,
    X=None,
    *,
    features=None,
    n_std=(1, 2),
    feature_names=None,
    point_size=None,
    bins=None,
    figsize=None,
):
    """Corner plot: every feature pair with its marginal ellipses, 1-D marginals on the diagonal.

    Parameters
    ----------
    model : fitted Gaussian mixture
    X : array-like of shape (n_samples, n_features), default=None
    features : sequence of int, default=None
        Columns to show (all when None; at most 10).
    n_std : sequence of float, default=(1, 2)
        Ellipse sizes in standard deviations.
    feature_names : sequence of str, default=None
    point_size : float, default=None
    bins : int, sequence or str, default=None
        Histogram bins of the diagonal (see :func:`plot_1d`).
    figsize : (float, float), default=None

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes`` holds the grid row by row (upper-triangle axes are hidden).
    """
    import matplotlib.pyplot as plt

    base.check_model(model)
    means = np.asarray(model.means_, dtype=np.float64)
    n_components, n_features = means.shape
    X = base.check_data(X, n_features)
    n_std = base.check_n_std(n_std)
    names = base.feature_names(feature_names, n_features)
    columns = list(range(n_features)) if features is None else [int(f) for f in features]
    if (
        not columns
        or any(not 0 <= f < n_features for f in columns)
        or len(set(columns)) != len(columns)
    ):
        raise ValueError(
            f"features must be distinct column indices below {n_features}; got {features!r}."
        )
    if len(columns) > 10:
        raise ValueError(
            f"A corner plot of {len(columns)} features is unreadable; choose at most 10 with "
            "features=[...]."
        )
    n = len(columns)
    if bins is None and X is not None:  # small panels: fewer, steadier bins than plot_1d
        bins = int(np.clip(np.sqrt(len(X)), 15, 60))
    size = figsize or (max(4.0, 2.3 * n + 1.8), max(3.5, 2.3 * n))
    fig, axes = plt.subplots(n, n, figsize=size, squeeze=False, layout="constrained")
    colors = base.component_colors(n_components)
    rgba = base.soft_colors(model.predict_proba(X), colors) if X is not None else None
    psize = point_size or base.default_point_size(len(X) if X is not None else 1) * 0.5
    for r, fr in enumerate(columns):
        for c, fc in enumerate(columns):
            ax = axes[r, c]
            if c > r:
                ax.set_visible(False)
                continue
            if r == c:
                _draw_1d(ax, model, X, fr, colors, bins, show_labels=(r == 0))
                ax.set_yticks([])
            else:
                P = np.zeros((2, n_features))
                P[0, fc] = P[1, fr] = 1.0
                means2, covs2 = base.projected_parameters(model, P)
                pts = None
                if X is not None:
                    pts = X @ P.T
                    ax.scatter(pts[:, 0], pts[:, 1], c=rgba, s=psize, linewidths=0, zorder=3)
                base.draw_ellipses(ax, means2, covs2, colors, n_std)
                base.draw_means(ax, means2, size=50)
                lims = base.limits(pts, means2, covs2)
                ax.set_xlim(*lims[0])
                ax.set_ylim(*lims[1])
            if r == n - 1:
                ax.set_xlabel(names[fc])
            else:
                ax.tick_params(labelbottom=False)
            if c == 0 and r > 0:
                ax.set_ylabel(names[fr])
            elif c > 0:
                ax.tick_params(labelleft=False)
    # Share x-limits down each column so the diagonal lines up with the scatter plots below it.
    for c in range(n):
        if n > 1:
            axes[c, c].set_xlim(axes[n - 1, c].get_xlim() if c < n - 1 else axes[c, c].get_xlim())
    handles = _legend_handles(colors, model.weights_, n_std)
    from matplotlib.lines import Line2D

    handles.insert(-1, Line2D([], [], color="black", linewidth=2, label="mixture density"))
    if n > 1:
        anchor = axes[0, n - 1]
        anchor.set_visible(True)
        anchor.axis("off")
        anchor.legend(handles=handles, loc="upper right", fontsize="small", frameon=False)
    else:
        axes[0, 0].legend(handles=handles, loc="upper right", fontsize="small")
    fig.suptitle(_describe(model, X) + " - feature pairs (exact marginals)")
    return fig


def _log_density_2d(means2, covs2, weights, grid_points):
    """Log-density of the projected (2-D) mixture at ``grid_points`` (pure numpy)."""
    out = np.empty((len(weights), len(grid_points)))
    for k, (mean, cov2) in enumerate(zip(means2, covs2)):
        chol = np.linalg.cholesky(cov2)
        z = np.linalg.solve(chol, (grid_points - mean).T)
        out[k] = (
            np.log(weights[k]) - 0.5 * np.sum(z * z, axis=0) - np.log(np.diag(chol)).sum()
            - np.log(2.0 * np.pi)
        )  # fmt: skip
    return logsumexp(out, axis=0)


def plot_density(
    model,
    X=None,
    ax=None,
    *,
    features=(0, 1),
    projection=None,
    kind="both",
    resolution=200,
    levels=10,
    feature_names=None,
    show_points=True,
    title=None,
):
    """Log-density of the mixture as a heat map and/or contour lines.

    With more than two features the density shown is the exact marginal density of the chosen
    pair (or of the ``'pca'`` projection).

    Parameters
    ----------
    model : fitted Gaussian mixture
    X : array-like of shape (n_samples, n_features), default=None
        Drawn as small dots when ``show_points``; also sets the limits.
    ax : matplotlib Axes, default=None
    features : pair of int, default=(0, 1)
    projection : {None, 'pca'}, default=None
    kind : {'both', 'heatmap', 'contour'}, default='both'
    resolution : int, default=200
        Grid points per axis.
    levels : int, default=10
        Number of contour lines, evenly spaced in log-density.
    feature_names : sequence of str, default=None
    show_points : bool, default=True
    title : str, default=None

    Returns
    -------
    matplotlib.axes.Axes
    """
    base.check_model(model)
    means = np.asarray(model.means_, dtype=np.float64)
    n_features = means.shape[1]
    if kind not in ("both", "heatmap", "contour"):
        raise ValueError(f"kind must be 'both', 'heatmap' or 'contour'; got {kind!r}.")
    if not isinstance(resolution, (int, np.integer)) or not 10 <= resolution <= 2000:
        raise ValueError(f"resolution must be an integer in [10, 2000]; got {resolution!r}.")
    X = base.check_data(X, n_features)
    names = base.feature_names(feature_names, n_features)
    P, (xlabel, ylabel) = base.projection_matrix(model, X, features, projection, names)
    means2, covs2 = base.projected_parameters(model, P)
    points2 = X @ P.T if X is not None and len(X) else None
    lims = base.limits(points2, means2, covs2)
    gx = np.linspace(*lims[0], resolution)
    gy = np.linspace(*lims[1], resolution)
    xx, yy = np.meshgrid(gx, gy)
    weights = np.asarray(model.weights_, dtype=np.float64)
    log_density = _log_density_2d(means2, covs2, weights, np.column_stack([xx.ravel(), yy.ravel()]))
    log_density = log_density.reshape(xx.shape)
    top = log_density.max()
    floor = top - 12.0  # below this (a factor e^12 under the peak) the colour saturates
    ax = _axes(ax)
    if kind in ("both", "heatmap"):
        mesh = ax.pcolormesh(xx, yy, np.maximum(log_density, floor), cmap="viridis",
                             shading="auto", vmin=floor, vmax=top, zorder=0)  # fmt: skip
        ax.figure.colorbar(
            mesh, ax=ax, label="log density (marginal)" if n_features > 2 else "log density"
        )
    if kind in ("both", "contour"):
        contour_levels = np.linspace(floor, top, levels + 2)[1:-1]
        color = "white" if kind == "both" else "0.2"
        cs = ax.contour(xx, yy, log_density, levels=contour_levels, colors=color,
                        linewidths=0.7, linestyles="solid", alpha=0.8, zorder=2)  # fmt: skip
        if kind == "contour":
            ax.clabel(cs, fmt="%.1f", fontsize="x-small")
    if show_points and points2 is not None:
        dot = "white" if kind != "contour" else "black"
        ax.scatter(points2[:, 0], points2[:, 1], s=3, c=dot, alpha=0.35, linewidths=0, zorder=3)
    base.draw_means(ax, means2)
    ax.set_xlim(*lims[0])
    ax.set_ylim(*lims[1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title if title is not None else "log density of the mixture")
    return ax


def plot_lower_bound(model, ax=None, *, title=None):
    """The lower bound (mean log-likelihood per point) after each EM iteration.

    A second axis shows the change per iteration on a log scale with the model's ``tol``, the
    threshold under which EM stops.

    Parameters
    ----------
    model : fitted GaussianMixture
        Must have ``lower_bounds_`` (gaussmix models fitted by EM have it).
    ax : matplotlib Axes, default=None
    title : str, default=None

    Returns
    -------
    matplotlib.axes.Axes
        The main axes (the change axis is ``ax.right_ax``).
    """
    history = getattr(model, "lower_bounds_", None)
    if history is None:
        raise TypeError(
            "plot_lower_bound needs a model fitted by gaussmix (it records lower_bounds_, the "
            "lower bound after each EM iteration)."
        )
    history = np.asarray(history, dtype=np.float64)
    if history.size == 0:
        raise ValueError(
            "This model has no EM history (lower_bounds_ is empty): fit it with max_iter >= 1."
        )
    ax = _axes(ax, figsize=(7.0, 4.2))
    iterations = np.arange(1, history.size + 1)
    ax.plot(iterations, history, marker="o", markersize=3.5, color="#1f77b4", linewidth=1.6,
            label="lower bound (mean log-likelihood)")  # fmt: skip
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("mean log-likelihood per point", color="#1f77b4")
    ax.grid(True, color="0.92")
    converged = bool(getattr(model, "converged_", False))
    status = "converged" if converged else "stopped (not converged)"
    ax.set_title(
        title if title is not None else f"EM progress: {status} after {history.size} iterations"
    )
    handles = ax.get_lines()[:1]
    if history.size > 1:
        change = np.abs(np.diff(history))
        right = ax.twinx()
        right.semilogy(iterations[1:], np.maximum(change, 1e-16), color="0.45", linestyle="--",
                       linewidth=1.2, label="change from previous iteration")  # fmt: skip
        tol = getattr(model, "tol", None)
        if tol:
            right.axhline(
                tol, color="#d62728", linewidth=1.0, linestyle=":", label=f"tol = {tol:g}"
            )
        right.set_ylabel("|change| (log scale)", color="0.35")
        handles = handles + right.get_lines()
        ax.right_ax = right
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3,
              fontsize="small", frameon=False)  # fmt: skip
    ax.xaxis.get_major_locator().set_params(integer=True)
    return ax
