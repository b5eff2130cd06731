"""The picture of an :class:`~gaussmix.apps.segmentation.ImageSegmentation`: four panels.

Original, segmented (every segment its mean colour), boundaries drawn on the original
(``skimage.segmentation.mark_boundaries``) and the uncertainty map ``1 - max probability``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb

from ..._optional import require
from .features import check_image

__all__ = ["plot_segmentation"]


def _check_axes(axes):
    try:
        axes = list(np.ravel(axes))
    except TypeError:
        axes = []
    if len(axes) != 4 or not all(hasattr(ax, "imshow") for ax in axes):
        raise ValueError(
            "axes must be four matplotlib Axes (original, segmented, boundaries, uncertainty), "
            "e.g. plt.subplots(1, 4)[1]; or leave it None for a new figure."
        )
    return axes


def plot_segmentation(result, axes=None, *, figsize=None, boundary_color=(1.0, 0.85, 0.0),
                      titles=True):
    """Draw ``result`` on four Axes side by side; returns their figure.

    See :meth:`ImageSegmentation.plot <gaussmix.apps.segmentation.ImageSegmentation.plot>`.

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix as gm
    >>> image = np.zeros((20, 20), dtype=np.uint8)
    >>> image[:, 10:] = 200
    >>> fig = gm.segment_image(image, 2, random_state=0).plot()
    >>> len(fig.axes)                                     # four panels and a colour bar
    5
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    segmentation = require("skimage.segmentation", "image", "ImageSegmentation.plot")
    try:
        color = to_rgb(boundary_color)
    except ValueError:
        raise ValueError(
            f"boundary_color={boundary_color!r} is not a matplotlib colour; use e.g. 'yellow' "
            "or (1, 0.85, 0)."
        ) from None
    if axes is None:
        import matplotlib.pyplot as plt

        height, width = result.labels.shape
        if figsize is None:
            figsize = (13.0, 13.0 * height / width / 4 + 0.6)
        fig, axes = plt.subplots(1, 4, figsize=figsize, layout="constrained")
    axes = _check_axes(axes)
    rgb = check_image(result.image).rgb()
    k = result.n_components
    panels = [
        (rgb, "original"),
        (result.segmented, f"{k} segment{'s' if k != 1 else ''} (mean colours)"),
        (segmentation.mark_boundaries(rgb, result.labels, color=color, mode="inner"),
         "boundaries"),
    ]
    for ax, (picture, title) in zip(axes, panels):
        ax.imshow(picture, interpolation="nearest")
        if titles:
            ax.set_title(title, fontsize="medium")
    top = 1.0 - 1.0 / k if k > 1 else 1.0
    shown = axes[3].imshow(result.uncertainty, cmap="magma", vmin=0.0, vmax=top,
                           interpolation="nearest")
    if titles:
        axes[3].set_title("uncertainty (1 - max probability)", fontsize="medium")
    fig = axes[0].get_figure()
    fig.colorbar(shown, ax=axes[3], fraction=0.046, pad=0.02)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig
