"""Scatter, corner and 1-D pictures of a fitted mixture (see :mod:`gaussmix.viz`)."""

from __future__ import annotations

import numpy as np

from . import base
from .base import new_axes as _axes

__all__ = ["plot_1d", "plot_mixture", "plot_pairs"]


def _legend_handles(colors, weights, n_std, *, max_components=20, shown=None, min_weight=0.0):
    """Legend entries of the components in ``shown`` (default all), the means, the ellipses, and
    a line for the components left out (weight below ``min_weight``)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    shown = np.arange(len(colors)) if shown is None else np.asarray(shown)
    handles = []
    if len(shown) <= max_components:
        handles += [
            Patch(facecolor=(*colors[k][:3], 0.45), edgecolor=colors[k],
                  label=f"component {k} (weight {weights[k]:.2f})")
            for k in shown
        ]
    hidden = len(colors) - len(shown)
    if hidden:
        handles.append(Patch(facecolor="none", edgecolor="none",
                             label=f"{hidden} component(s) with weight < {min_weight:g} not drawn"))
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
    min_weight=0.01,
    reference=None,
):
    """Scatter plot of the data with the mixture's components drawn on top.

    Points take the colour of their most probable component; their colour blends the component
    colours by the responsibilities and fades as the assignment gets uncertain. Each component gets
    translucent ellipses at ``n_std`` standard deviations (Mahalanobis distance) and a red marker
    on its mean. Components with a weight below ``min_weight`` (those a
    :class:`~gaussmix.BayesianGaussianMixture` switched off) are left out; the legend counts
    them.

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
    min_weight : float, default=0.01
        Components lighter than this are not drawn (``0`` draws every one).
    reference : fitted Gaussian mixture, default=None
        Another mixture of the same data (the truth, another fit): each component takes the
        colour of the reference component it matches (Hungarian matching of the means), so the
        two pictures colour the same groups alike.

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
    n_features = means.shape[1]
    if n_features == 1:
        return plot_1d(model, X, ax=ax, feature_names=feature_names, legend=legend, title=title)
    X = base.check_data(X, n_features)
    n_std = base.check_n_std(n_std)
    names = base.feature_names(feature_names, n_features)
    P, (xlabel, ylabel) = base.projection_matrix(model, X, features, projection, names)
    means2, covs2 = base.projected_parameters(model, P)
    colors = base.matched_colors(model, reference)
    shown = base.shown_components(model, min_weight)
    ax = _axes(ax)

    points2 = None
    if X is not None and len(X):
        points2 = X @ P.T
        rgba = base.soft_colors(model.predict_proba(X), colors)
        size = base.default_point_size(len(X)) if point_size is None else point_size
        ax.scatter(points2[:, 0], points2[:, 1], c=rgba, s=size, linewidths=0, zorder=3)
    means2, covs2 = means2[shown], covs2[shown]
    base.draw_ellipses(ax, means2, covs2, colors[shown], n_std)
    base.draw_means(ax, means2)
    lims = base.limits(points2, means2, covs2, n_std)
    ax.set_xlim(*lims[0])
    ax.set_ylim(*lims[1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title if title is not None else _describe(model, X))
    ax.grid(True, color="0.92", linewidth=0.8, zorder=0)
    ax.set_axisbelow(True)
    handles = _legend_handles(colors, model.weights_, n_std, shown=shown, min_weight=min_weight)
    if _has_noise(model):  # the noise component's points
        from matplotlib.patches import Patch

        handles.insert(len(handles) - 2, Patch(
            facecolor=base.NOISE_COLOR, label=f"noise (weight {float(model.noise_weight_):.2f})"))
    _place_legend(ax, handles, legend)
    return ax


def _has_noise(model):
    """Whether ``model`` (ours, or scikit-learn's) has a noise component."""
    columns = getattr(model, "_n_columns", None)
    return columns is not None and columns() > len(model.weights_)


def _describe(model, X):
    n_components = len(model.weights_)
    family = "Student-t" if hasattr(model, "dofs_") else "Gaussian"
    text = f"{n_components}-component {family} mixture ({model.covariance_type} covariances)"
    if _has_noise(model):
        text += " + noise"
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
                lims = base.limits(pts, means2, covs2, n_std)
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
