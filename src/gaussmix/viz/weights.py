"""Which components carry the weight: a bar chart of a mixture's weights."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import drawing
from .drawing import new_axes as _axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .._typing import Mixture

__all__ = ["plot_weights"]


def plot_weights(model: Mixture, ax: Axes | None = None, *, threshold: float = 0.02,
                 title: str | None = None) -> Axes:
    """Bar chart of the mixture weights, one bar per component in the colours of the other
    pictures; components under ``threshold`` are greyed out.

    Most useful for :class:`~gaussmix.BayesianGaussianMixture`, whose prior switches off the
    components the data do not need: fit more components than you expect, then read here how
    many survived.

    Parameters
    ----------
    model : fitted Gaussian mixture
    ax : matplotlib Axes, default=None
    threshold : float, default=0.02
        Weight a component needs to count as used (drawn as a dashed line).
    title : str, default=None
        ``"<n> of <K> components carry more than <threshold> of the weight"`` when None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import gaussmix as gm
    >>> X, _, _ = gm.make_mixture(400, 2, overlap=0.001, random_state=0)
    >>> model = gm.BayesianGaussianMixture(5, weight_concentration_prior=1e-3, max_iter=500,
    ...                                    random_state=0).fit(X)
    >>> gm.plot_weights(model).get_title()
    '2 of 5 components carry more than 2% of the weight'
    """
    drawing.check_model(model)
    if not (isinstance(threshold, (int, float, np.number)) and 0 <= threshold < 1):
        raise ValueError(f"threshold must be a number in [0, 1); got {threshold!r}.")
    weights = np.asarray(model.weights_, dtype=np.float64)
    colors = drawing.component_colors(len(weights))
    used = weights > threshold
    faded = np.array([0.8, 0.8, 0.8, 1.0])
    ax = _axes(ax, figsize=(max(4.0, 0.45 * len(weights) + 2.0), 3.6))
    ax.bar(np.arange(len(weights)), weights, color=np.where(used[:, None], colors, faded),
           edgecolor="0.3", linewidth=0.6, zorder=2)
    ax.axhline(threshold, color="0.35", linestyle="--", linewidth=1.0, zorder=3,
               label=f"threshold {threshold:g}")
    ax.set_xticks(np.arange(len(weights)))
    ax.set_xlabel("component")
    ax.set_ylabel("weight")
    ax.set_ylim(0, max(1.05 * weights.max(), 2 * threshold, 1e-3))
    ax.grid(True, axis="y", color="0.92", zorder=0)
    ax.legend(loc="upper right", fontsize="small", frameon=False)
    ax.set_title(title if title is not None else (
        f"{int(used.sum())} of {len(weights)} components carry more than "
        f"{threshold:.0%} of the weight"
    ))
    return ax
