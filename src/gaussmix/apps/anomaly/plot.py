"""The picture of a fitted :class:`MixtureOutlierDetector` on 2-column data: the score's
contours, the rows, and the flagged rows ringed."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_outliers"]


def plot_outliers(detector, X, ax=None, *, grid=200, levels=12, ring_color="crimson",
                  title=None):
    """Contours of ``detector.score_samples`` over the range of ``X``, its rows as dots, those
    with ``predict == -1`` ringed, and the decision boundary (``decision_function == 0``).

    Parameters
    ----------
    detector : MixtureOutlierDetector
        Fitted on data with two columns.
    X : array-like of shape (n_samples, 2)
        Rows to draw (often the training data).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    grid : int, default=200
        Grid points per axis for the contours.
    levels : int, default=12
        Number of contour levels (spaced over the score's range on the rows).
    ring_color : colour, default="crimson"
        Colour of the rings and of the decision boundary.
    title : str, default=None
        Title (default: the number of flagged rows and the chosen model).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix as gm
    >>> X = np.random.default_rng(0).normal(size=(100, 2))
    >>> ax = gm.MixtureOutlierDetector(contamination=0.05, random_state=0).fit(X).plot(X)
    >>> len(ax.collections) > 0
    True
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    import matplotlib.pyplot as plt

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or getattr(detector, "n_features_in_", 2) != 2:
        raise ValueError("plot_outliers draws data with exactly two columns, fitted on two; "
                         f"got X of shape {X.shape}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 5.2))
    pad = 0.08 * (X.max(axis=0) - X.min(axis=0) + 1e-12)
    low, high = X.min(axis=0) - pad, X.max(axis=0) + pad
    xs, ys = np.linspace(low[0], high[0], grid), np.linspace(low[1], high[1], grid)
    xx, yy = np.meshgrid(xs, ys)
    cells = np.column_stack([xx.ravel(), yy.ravel()])
    surface = detector.score_samples(cells).reshape(xx.shape)
    scores = detector.score_samples(X)
    floor = min(scores.min(), detector.offset_)
    ax.contourf(xx, yy, np.maximum(surface, floor), levels=np.linspace(floor, surface.max(),
                levels), cmap="Blues", alpha=0.8)
    ax.contour(xx, yy, surface, levels=[detector.offset_], colors=[ring_color],
               linewidths=1.2, linestyles="--")
    flagged = detector.predict(X) == -1
    ax.scatter(X[~flagged, 0], X[~flagged, 1], s=9, c="black", linewidths=0)
    ax.scatter(X[flagged, 0], X[flagged, 1], s=9, c="black", linewidths=0)
    ax.scatter(X[flagged, 0], X[flagged, 1], s=80, facecolors="none", edgecolors=ring_color,
               linewidths=1.3, label=f"flagged ({int(flagged.sum())} of {len(X)})")
    if title is None:
        params = detector.selection_.best_params_
        title = (f"{int(flagged.sum())} rows flagged; mixture of {params['n_components']} "
                 f"({params['covariance_type']}) after trimming")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small")
    return ax
