"""What a picture of one EM phase shows, as plain columns (no Bokeh): the data sources of the live
app and the recorded frames of the offline page are both made here.

The look is the library's (:mod:`gaussmix.viz.drawing`): points coloured by component with soft
blending (``soft_colors``), red means, translucent 1/2/3-sd ellipses (``ellipse_geometry``).

Examples
--------
>>> from gaussmix.apps.explore.session import ExplorerSession
>>> from gaussmix.apps.explore import frames
>>> session = ExplorerSession.generated(n_groups=2, n_samples=100, seed=0, n_components=2)
>>> session.step()
['E', 'M']
>>> data = frames.ellipse_columns(session.frame())
>>> len(data["xs"]), data["sd"][:3]
(6, [3.0, 2.0, 1.0])
>>> sorted(frames.point_columns(session.frame(), session.X))[:4]
['alpha', 'color', 'group', 'p0']
"""

from __future__ import annotations

import html

import numpy as np

from ...viz import drawing

N_STD = drawing.N_STD_DEFAULT
#: Colour of a point no E-step has asked yet.
UNASKED = "#8a8a8a"
PHASE_NAMES = {"start": "Start", "E": "E-step", "M": "M-step"}


def palette(n_components):
    """Hex colours of the components (the library's palette, never red)."""
    from matplotlib.colors import to_hex

    return [to_hex(c[:3]) for c in drawing.component_colors(n_components)]


def n_components(frame):
    """K of a frame (0 without a model)."""
    return 0 if frame.means is None else len(frame.means)


def point_columns(frame, X):
    """Columns of the scatter: ``x``, ``y``, ``color``, ``alpha``, ``group`` (most likely one)
    and ``p0`` ... ``p{K-1}`` (each point's probability of each component, as text)."""
    X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
    n, K = len(X), n_components(frame)
    data = {"x": X[:, 0].tolist(), "y": X[:, 1].tolist()}
    if frame.responsibilities is None or K == 0:
        data.update(color=[UNASKED] * n, alpha=[0.55] * n, group=["not asked yet"] * n)
        data.update({f"p{k}": ["-"] * n for k in range(K)})
        return data
    resp = np.asarray(frame.responsibilities, dtype=np.float64)
    rgba = drawing.soft_colors(resp, drawing.component_colors(K))
    rgb = np.clip(np.round(rgba[:, :3] * 255), 0, 255).astype(int)
    data["color"] = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb]
    data["alpha"] = np.round(rgba[:, 3], 3).tolist()
    data["group"] = [f"group {k + 1}" for k in resp.argmax(axis=1)]
    for k in range(K):
        data[f"p{k}"] = [f"{p:.3f}" for p in resp[:, k]]
    return data


def ellipse_path(mean, cov2, n_std, n_vertices=72):
    """``(xs, ys)`` of the ``n_std`` ellipse of a 2-D Gaussian (closed polygon, data units)."""
    width, height, angle = drawing.ellipse_geometry(np.asarray(cov2, dtype=np.float64), n_std)
    t = np.linspace(0.0, 2.0 * np.pi, n_vertices)
    a = np.radians(angle)
    u, v = 0.5 * width * np.cos(t), 0.5 * height * np.sin(t)
    xs = mean[0] + u * np.cos(a) - v * np.sin(a)
    ys = mean[1] + u * np.sin(a) + v * np.cos(a)
    return xs, ys


def ellipse_columns(frame, n_std=N_STD, n_vertices=72, *, digits=None):
    """Columns of the ellipse patches: every component at every ``n_std`` (largest first, so
    smaller ones sit on top), with the translucent fills of
    :func:`gaussmix.viz.drawing.draw_ellipses`.
    ``digits`` rounds the vertices (smaller recorded pages)."""
    columns = {name: [] for name in ("xs", "ys", "fill_color", "fill_alpha", "line_color",
                                     "component", "sd")}
    K = n_components(frame)
    if K == 0:
        return columns
    levels = drawing.check_n_std(n_std)[::-1]
    colors = palette(K)
    for k in range(K):
        for level, n in enumerate(levels):
            xs, ys = ellipse_path(frame.means[k], frame.covariances[k], n, n_vertices)
            if digits is not None:
                xs, ys = np.round(xs, digits), np.round(ys, digits)
            columns["xs"].append(xs.tolist())
            columns["ys"].append(ys.tolist())
            columns["fill_color"].append(colors[k])
            columns["fill_alpha"].append(
                round(0.16 * (0.55 + 0.45 * level / max(1, len(levels) - 1)), 4))
            columns["line_color"].append(colors[k])
            columns["component"].append(f"group {k + 1}")
            columns["sd"].append(float(n))
    return columns


def mean_columns(frame):
    """Columns of the red mean markers: ``x``, ``y``, ``group``, ``weight``."""
    K = n_components(frame)
    if K == 0:
        return {"x": [], "y": [], "group": [], "weight": []}
    return {"x": frame.means[:, 0].tolist(), "y": frame.means[:, 1].tolist(),
            "group": [f"group {k + 1}" for k in range(K)],
            "weight": [f"{w:.3f}" for w in frame.weights]}


def curve_columns(frame):
    """Columns of the lower-bound curve: ``iteration`` (1, 2, ...) and ``lower_bound``."""
    bounds = [float(b) for b in frame.lower_bounds]
    return {"iteration": list(range(1, len(bounds) + 1)), "lower_bound": bounds}


def tooltip_html(K):
    """The hover template: the point, its most likely group and its probability of each."""
    colors = palette(K) if K else []
    rows = "".join(
        f'<div><span style="color:{c};font-size:15px">&#9679;</span> group {k + 1}: '
        f"<b>@p{k}</b></div>"
        for k, c in enumerate(colors)
    )
    return (
        '<div style="font-size:12px;line-height:1.35">'
        "<div>(@x{0.00}, @y{0.00}): <i>@group</i></div>"
        + rows + "</div>"
    )


def status_html(frame, K=None):
    """The status line: the phases (the current one lit), iteration, K and the lower bound.

    Class names (``gm-phase``, ``gm-iteration``, ``gm-lower-bound``...) let tests read it.
    """
    K = n_components(frame) if K is None else K
    chips = []
    for phase, name in PHASE_NAMES.items():
        on = phase == frame.phase
        style = ("background:#333;color:#fff" if on else "background:#eee;color:#777")
        chips.append(f'<span class="gm-chip{" gm-on" if on else ""}" style="{style};'
                     f'padding:2px 8px;border-radius:9px">{name}</span>')
    bound = f"{frame.lower_bounds[-1]:.4f}" if frame.lower_bounds else "-"
    done = (' <span class="gm-converged" style="color:#2ca02c;font-weight:bold">converged'
            "</span>" if frame.converged else "")
    return (
        '<div class="gm-status" style="font-size:14px;line-height:2">'
        + " &rarr; ".join(chips)
        + " &nbsp; "
        f'iteration <b class="gm-iteration">{frame.iteration}</b> &middot; '
        f'K = <b class="gm-k">{K}</b> &middot; lower bound <b class="gm-lower-bound">{bound}</b>'
        + done + "</div>"
    )


def caption_html(frame):
    """The plain-words caption (and any problem, in red)."""
    text = f'<div class="gm-caption" style="font-size:14px;max-width:620px">' \
           f"{html.escape(frame.caption)}</div>"
    if frame.message and frame.message != frame.caption:
        text += f'<div class="gm-message" style="color:#b00">{html.escape(frame.message)}</div>'
    elif frame.message:
        text = text.replace('class="gm-caption" style="', 'class="gm-caption" style="color:#b00;')
    return text


def view_limits(X, *frames):
    """``((x0, x1), (y0, y1))`` showing the points and the 3-sd ellipses of every frame given
    (a recorded run's limits cover all its frames) whole."""
    X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
    drawn = [f for f in frames if f is not None and n_components(f)]
    if drawn:
        lims = drawing.limits(X, np.concatenate([f.means for f in drawn]),
                           np.concatenate([f.covariances for f in drawn]), 3.0, margin=0.08)
    elif len(X):
        lims = drawing.limits(X, X.mean(axis=0, keepdims=True), np.zeros((1, 2, 2)), margin=0.08)
    else:
        return (0.0, 10.0), (0.0, 10.0)
    out = []
    for lo, hi in lims:
        if hi - lo < 1e-9:
            lo, hi = lo - 1.0, hi + 1.0
        out.append((float(lo), float(hi)))
    return tuple(out)
