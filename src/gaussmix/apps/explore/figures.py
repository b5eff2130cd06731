"""The Bokeh figures of the explorer, shared by the live app and the offline page.

The scatter (points coloured by their responsibilities, translucent 1/2/3-sd ellipses, red means,
a hover listing each point's probability of every group) and the lower-bound curve. Their data
sources are named (``gm-points``, ``gm-ellipses``, ``gm-means``, ``gm-curve``) so a page's script
and the browser tests find them.

Examples
--------
>>> from gaussmix.apps.explore.session import ExplorerSession
>>> from gaussmix.apps.explore.figures import explorer_figures
>>> session = ExplorerSession.generated(n_groups=2, n_samples=60, seed=0, n_components=2)
>>> figs = explorer_figures(session.frame(), session.X, session.names)
>>> sorted(figs.sources)
['curve', 'ellipses', 'means', 'points']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..._optional import require
from ...viz import drawing
from . import frames

MEAN_COLOR = drawing.MEAN_COLOR


def bokeh():
    """The ``bokeh`` package, or an ImportError naming the ``explore`` extra."""
    return require("bokeh", "explore", "gaussmix explore")


@dataclass
class ExplorerFigures:
    """The figures, their data sources (``points``, ``ellipses``, ``means``, ``curve``), the
    hover tool and the points' renderer."""

    scatter: object
    curve: object
    sources: dict
    hover: object
    points: object


def point_size(n_samples):
    """Marker diameter in pixels for ``n_samples`` points (the library's size rule)."""
    return float(np.clip(1.6 * np.sqrt(drawing.default_point_size(n_samples)), 4.0, 10.0))


def explorer_figures(frame, X, names=("x", "y"), *, width=560, height=500, limits=None):
    """The scatter and the lower-bound curve, showing ``frame`` of the data ``X``."""
    bokeh()
    from bokeh.models import ColumnDataSource, HoverTool, Label, Range1d
    from bokeh.plotting import figure

    (x0, x1), (y0, y1) = limits or frames.view_limits(X, frame)
    sources = {
        "points": ColumnDataSource(frames.point_columns(frame, X), name="gm-points"),
        "ellipses": ColumnDataSource(frames.ellipse_columns(frame), name="gm-ellipses"),
        "means": ColumnDataSource(frames.mean_columns(frame), name="gm-means"),
        "curve": ColumnDataSource(frames.curve_columns(frame), name="gm-curve"),
    }
    scatter = figure(
        width=width, height=height, x_range=Range1d(x0, x1), y_range=Range1d(y0, y1),
        tools="pan,wheel_zoom,box_zoom,reset,save", toolbar_location="above",
        x_axis_label=names[0], y_axis_label=names[1], name="gm-scatter",
    )  # fmt: skip
    scatter.grid.grid_line_color = "#ebebeb"
    scatter.patches(
        "xs", "ys", source=sources["ellipses"], fill_color="fill_color", fill_alpha="fill_alpha",
        line_color="line_color", line_alpha=0.9, line_width=1.2,
    )  # fmt: skip
    points = scatter.scatter(
        "x", "y", source=sources["points"], size=point_size(len(X)), fill_color="color",
        fill_alpha="alpha", line_color=None, name="gm-point-markers",
    )  # fmt: skip
    scatter.scatter("x", "y", source=sources["means"], marker="x", size=20, line_color="white",
                    line_width=7)
    scatter.scatter("x", "y", source=sources["means"], marker="x", size=20, line_color=MEAN_COLOR,
                    line_width=3.5, name="gm-mean-markers")
    hover = HoverTool(renderers=[points], tooltips=frames.tooltip_html(frames.n_components(frame)))
    scatter.add_tools(hover)

    curve = figure(
        width=360, height=280, title="Lower bound (average log-likelihood)",
        x_axis_label="EM iteration", y_axis_label="lower bound", tools="", toolbar_location=None,
        name="gm-curve-figure",
    )  # fmt: skip
    curve.line("iteration", "lower_bound", source=sources["curve"], line_width=2, color="#333")
    curve.scatter("iteration", "lower_bound", source=sources["curve"], size=6, color="#333")
    # before the first M-step there is no lower bound yet: say so instead of an empty box
    curve.add_layout(Label(x=0.5 * 360 - 20, y=110, x_units="screen", y_units="screen",
                           text="appears after the first M-step", text_align="center",
                           text_color="#777", text_font_size="12px", name="gm-curve-hint",
                           visible=not frame.lower_bounds if frame is not None else True))
    curve.xaxis.ticker.desired_num_ticks = 6
    curve.xaxis.ticker.min_interval = 1
    curve.grid.grid_line_color = "#ebebeb"
    return ExplorerFigures(scatter, curve, sources, hover, points)


def set_limits(figs, limits):
    """Move the scatter's axes to ``((x0, x1), (y0, y1))``."""
    (x0, x1), (y0, y1) = limits
    figs.scatter.x_range.update(start=x0, end=x1)
    figs.scatter.y_range.update(start=y0, end=y1)


def show_frame(figs, frame, X, *, points=True):
    """Put ``frame`` into the figures' sources (``points=False`` keeps the point colours)."""
    if points:
        figs.sources["points"].data = frames.point_columns(frame, X)
        figs.hover.tooltips = frames.tooltip_html(frames.n_components(frame))
    figs.sources["ellipses"].data = frames.ellipse_columns(frame)
    figs.sources["means"].data = frames.mean_columns(frame)
    figs.sources["curve"].data = frames.curve_columns(frame)
    for hint in figs.curve.select(name="gm-curve-hint"):
        hint.visible = not frame.lower_bounds


def bic_figure(ks, bic, best_k, *, covariance_type="", width=360, height=240):
    """BIC against K (lower is better), the best K marked."""
    bokeh()
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure

    bic = np.asarray(bic, dtype=np.float64)
    fig = figure(
        width=width, height=height, title=f"BIC against K ({covariance_type}); lower is better",
        x_axis_label="K (number of groups)", y_axis_label="BIC", tools="",
        toolbar_location=None, name="gm-bic",
    )  # fmt: skip
    ok = np.isfinite(bic)
    source = ColumnDataSource({"k": [int(k) for k, o in zip(ks, ok) if o],
                               "bic": bic[ok].tolist()})
    fig.line("k", "bic", source=source, line_width=2, color="#1f77b4")
    fig.scatter("k", "bic", source=source, size=7, color="#1f77b4")
    if best_k in ks:
        fig.scatter([best_k], [bic[list(ks).index(best_k)]], size=16, marker="star",
                    color=MEAN_COLOR)
    fig.xaxis.ticker = [int(k) for k in ks]
    fig.grid.grid_line_color = "#ebebeb"
    return fig
