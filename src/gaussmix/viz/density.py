"""The mixture's density as a heat map, and EM's lower bound per iteration."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import logsumexp

from . import drawing
from .drawing import new_axes as _axes

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Literal

    from matplotlib.axes import Axes

    from .._typing import ArrayLike, Mixture

__all__ = ["plot_density", "plot_lower_bound"]


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
    model: Mixture,
    X: ArrayLike | None = None,
    ax: Axes | None = None,
    *,
    features: Sequence[int] = (0, 1),
    projection: Literal["pca"] | None = None,
    kind: Literal["both", "heatmap", "contour"] = "both",
    resolution: int = 200,
    levels: int = 10,
    feature_names: Sequence[str] | None = None,
    show_points: bool = True,
    title: str | None = None,
) -> Axes:
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
    drawing.check_model(model)
    means = np.asarray(model.means_, dtype=np.float64)
    n_features = means.shape[1]
    if kind not in ("both", "heatmap", "contour"):
        raise ValueError(f"kind must be 'both', 'heatmap' or 'contour'; got {kind!r}.")
    if not isinstance(resolution, (int, np.integer)) or not 10 <= resolution <= 2000:
        raise ValueError(f"resolution must be an integer in [10, 2000]; got {resolution!r}.")
    X = drawing.check_data(X, n_features)
    names = drawing.feature_names(feature_names, n_features)
    P, (xlabel, ylabel) = drawing.projection_matrix(model, X, features, projection, names)
    means2, covs2 = drawing.projected_parameters(model, P)
    points2 = X @ P.T if X is not None and len(X) else None
    lims = drawing.limits(points2, means2, covs2)
    gx = np.linspace(lims[0][0], lims[0][1], resolution)
    gy = np.linspace(lims[1][0], lims[1][1], resolution)
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
    drawing.draw_means(ax, means2)
    ax.set_xlim(*lims[0])
    ax.set_ylim(*lims[1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title if title is not None else "log density of the mixture")
    return ax


def plot_lower_bound(model: Mixture, ax: Axes | None = None, *, title: str | None = None) -> Axes:
    """The lower bound (mean log-likelihood per point) after each EM iteration.

    A second panel below (a twin axis at the right when ``ax`` is given) shows the change per
    iteration on a log scale with the model's ``tol``, the threshold under which EM stops.

    Parameters
    ----------
    model : fitted GaussianMixture
        Must have ``lower_bounds_`` (gaussmix models fitted by EM have it).
    ax : matplotlib Axes, default=None
    title : str, default=None

    Returns
    -------
    matplotlib.axes.Axes
        The main axes (the change axes is ``ax.right_ax``).
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
    iterations = np.arange(1, history.size + 1)
    show_change = history.size > 1
    twin = ax is not None
    if not twin and show_change:  # two panels: the change and tol get an axis of their own
        import matplotlib.pyplot as plt

        _, (ax, below) = plt.subplots(2, 1, figsize=(7.0, 5.2), sharex=True,
                                      layout="constrained", height_ratios=(2, 1))
    else:  # a given Axes: the change on a twin axis at the right, labelled as such
        ax = _axes(ax, figsize=(7.0, 4.2))
        below = ax.twinx() if show_change else None
    where = " (right axis)" if twin else ""
    ax.plot(iterations, history, marker="o", markersize=3.5, color="#1f77b4", linewidth=1.6,
            label="lower bound (mean log-likelihood)")  # fmt: skip
    ax.set_xlabel("" if show_change and not twin else "EM iteration")
    ax.set_ylabel("mean log-likelihood per point", color="#1f77b4")
    ax.grid(True, color="0.92")
    converged = bool(getattr(model, "converged_", False))
    status = "converged" if converged else "stopped (not converged)"
    ax.set_title(
        title if title is not None else f"EM progress: {status} after {history.size} iterations"
    )
    handles = ax.get_lines()[:1]
    if below is not None:  # show_change
        change = np.abs(np.diff(history))
        below.semilogy(iterations[1:], np.maximum(change, 1e-16), color="0.45", linestyle="--",
                       linewidth=1.2, label=f"change per iteration{where}")  # fmt: skip
        tol = getattr(model, "tol", None)
        if tol:  # on the change axis, where EM compares it
            below.axhline(tol, color="#d62728", linewidth=1.0, linestyle=":",
                          label=f"tol = {tol:g}{where}: EM stops below it")
            low, high = below.get_ylim()
            below.set_ylim(min(low, tol / 3), max(high, tol * 3))
        below.set_ylabel("|change| (log scale)", color="0.35")
        below.tick_params(axis="y", colors="0.35")
        if twin:
            handles = handles + below.get_lines()
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3,
                      fontsize="small", frameon=False)  # fmt: skip
        else:
            below.set_xlabel("EM iteration")
            below.grid(True, color="0.92")
            below.legend(loc="lower left", fontsize="small", frameon=False)
        ax.right_ax = below
    ax.xaxis.get_major_locator().set_params(integer=True)
    return ax
