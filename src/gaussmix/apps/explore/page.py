"""A self-contained offline page that replays a recorded EM run: ``gaussmix explore --html``.

The EM is run here, in Python, by the library (:meth:`ExplorerSession.record`); every phase's
picture (point colours and probabilities, ellipse paths, means, the lower bound, the caption) is
embedded as JSON, and a few lines of JavaScript only switch between these frames. Bokeh's
``INLINE`` resources put all JavaScript and CSS in the file: it opens from ``file://`` with no
network, so a teacher can put it on any web site.

Examples
--------
>>> from gaussmix.apps.explore.session import ExplorerSession
>>> from gaussmix.apps.explore.page import recorded_run
>>> session = ExplorerSession.generated(n_groups=2, n_samples=80, seed=0, n_components=2)
>>> run = recorded_run(session, max_iter=30)
>>> [frame["phase"] for frame in run["frames"][:3]]
['start', 'E', 'M']
"""

from __future__ import annotations

import html
import json
import os

import numpy as np

from ...io.writing import atomic_write
from . import figures, frames

#: Milliseconds between the E-step and the M-step of one Step, and between phases when playing.
PAUSE_MS = 450
PLAY_MS = 300

_RENDER_JS = """
const run = window.__gmRun || (window.__gmRun = JSON.parse(run_json));
const f = run.frames[slider.value];
const p = run.points[f.p];
const data = {x: run.x, y: run.y, color: p.color, alpha: p.alpha, group: p.group};
for (let k = 0; k < run.K; k++) { data["p" + k] = p["p" + k]; }
points.data = data;
ellipses.data = Object.assign({}, run.ellipses[f.e]);
means.data = Object.assign({}, run.means[f.e]);
curve.data = {iteration: run.iteration.slice(0, f.n), lower_bound: run.lower_bound.slice(0, f.n)};
status.text = f.status;
caption.text = f.caption;
hint.visible = f.n === 0;
xr.start = f.limits[0][0]; xr.end = f.limits[0][1];
yr.start = f.limits[1][0]; yr.end = f.limits[1][1];
"""

_STEP_JS = """
if (slider.value >= slider.end) { return; }
const next = slider.value + 1;
slider.value = next;
if (phases[next] === "E" && next < slider.end) {
  setTimeout(() => { if (slider.value === next) { slider.value = next + 1; } }, pause);
}
"""

_PLAY_JS = """
if (window.__gmTimer) { clearInterval(window.__gmTimer); window.__gmTimer = null; }
if (play.active) {
  play.label = "\\u275a\\u275a Pause";
  if (slider.value >= slider.end) { slider.value = 0; }
  window.__gmTimer = setInterval(() => {
    if (slider.value >= slider.end) { play.active = false; return; }
    slider.value = slider.value + 1;
  }, period);
} else {
  play.label = "\\u25b6 Play";
}
"""

_RESET_JS = "play.active = false; slider.value = 0;"


def _round(values, digits=4):
    return np.round(np.asarray(values, dtype=np.float64), digits).tolist()


def recorded_run(session, max_iter=100):
    """Run EM on ``session`` phase by phase and return what the page embeds (a JSON-ready dict).

    Frames share their point colours and ellipses with the frame before when the phase did
    not change them (an M-step keeps the colours, an E-step the ellipses).
    """
    return _record(session, max_iter)[0]


def _record(session, max_iter):
    recorded = session.record(max_iter=max_iter)
    if not session.ready:
        raise ValueError(f"Nothing to record: {session.message}")
    X = session.X
    run = {"x": _round(X[:, 0], 6), "y": _round(X[:, 1], 6), "K": session.n_components,
           "points": [], "ellipses": [], "means": [], "frames": []}
    for frame in recorded:
        if frame.phase in ("start", "E"):
            columns = frames.point_columns(frame, X)
            columns.pop("x"), columns.pop("y")
            run["points"].append(columns)
        if frame.phase in ("start", "M"):
            run["ellipses"].append(frames.ellipse_columns(frame, n_vertices=60, digits=5))
            means = frames.mean_columns(frame)
            means["x"], means["y"] = _round(means["x"], 6), _round(means["y"], 6)
            run["means"].append(means)
        run["frames"].append({
            "phase": frame.phase, "iteration": frame.iteration,
            "p": len(run["points"]) - 1, "e": len(run["ellipses"]) - 1,
            "n": len(frame.lower_bounds), "status": frames.status_html(frame),
            "caption": frames.caption_html(frame),
            # the view follows the frame, as in the live app: points and ellipses whole
            "limits": [[round(v, 6) for v in axis] for axis in frames.view_limits(X, frame)],
        })
    bounds = [float(b) for b in recorded[-1].lower_bounds]
    run["iteration"] = list(range(1, len(bounds) + 1))
    run["lower_bound"] = bounds
    run["limits"] = frames.view_limits(X, recorded[0])
    return run, recorded


def page_html(session, *, max_iter=100, title=None):
    """The offline page as a string (all JavaScript and CSS inline)."""
    figures.bokeh()
    from bokeh.embed import file_html
    from bokeh.layouts import column, row
    from bokeh.models import Button, CustomJS, Div, Slider, Toggle
    from bokeh.resources import INLINE

    run, recorded = _record(session, max_iter)
    first = recorded[0]
    figs = figures.explorer_figures(first, session.X, session.names, limits=run["limits"])
    status = Div(text=frames.status_html(first), name="gm-status")
    caption = Div(text=frames.caption_html(first), width=380, name="gm-caption")
    slider = Slider(start=0, end=max(1, len(run["frames"]) - 1), value=0, step=1, width=620,
                    title="EM phase (0 = start, then E-step, M-step, E-step...)",
                    name="gm-slider")
    if len(run["frames"]) < 2:
        slider.disabled = True
    step = Button(label="Step", button_type="primary", width=90, name="gm-step")
    play = Toggle(label="\u25b6 Play", width=90, name="gm-play")
    reset = Button(label="Reset", width=90, name="gm-reset")
    phases = [frame["phase"] for frame in run["frames"]]
    render = CustomJS(args={"run_json": json.dumps(run, separators=(",", ":")), "slider": slider,
                            "status": status, "caption": caption, "xr": figs.scatter.x_range,
                            "yr": figs.scatter.y_range,
                            "hint": figs.curve.select_one({"name": "gm-curve-hint"}),
                            **figs.sources},
                      code=_RENDER_JS)
    slider.js_on_change("value", render)
    step.js_on_event("button_click", CustomJS(
        args={"slider": slider, "phases": phases, "pause": PAUSE_MS}, code=_STEP_JS))
    play.js_on_change("active", CustomJS(args={"slider": slider, "play": play,
                                               "period": PLAY_MS}, code=_PLAY_JS))
    reset.js_on_event("button_click", CustomJS(args={"slider": slider, "play": play},
                                               code=_RESET_JS))
    model = session.covariance_description
    heading = Div(text=(
        f"<h2 style='margin:4px 0'>Watch EM think</h2><div style='font-size:14px;color:#444;"
        f"max-width:1000px'>{html.escape(session.label)}. Model: K = {session.n_components}, "
        f"{html.escape(model)}; {session.start} start, seed {session.seed}. Press <b>Step</b> "
        "for one round of EM (its E-step, then its M-step), <b>Play</b> to watch it run, or drag "
        "the slider. Hover a point to see its probability for each group. This page replays a "
        "run recorded by gaussmix; it needs no network.</div>"
    ), width=1000)
    layout = column(
        heading,
        row(column(row(step, play, reset), slider, status, figs.scatter),
            column(figs.curve, caption)),
    )
    return file_html(layout, resources=INLINE, title=title or "gaussmix: watch EM think")


def write_page(path, session, *, max_iter=100, title=None):
    """Record EM on ``session`` and write the offline page to ``path`` (atomically).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.html`` file to write; its folder must exist. On any error no file is left.
    session : ExplorerSession
        Data and model settings (its run is reset and recorded).
    max_iter : int, default=100
        At most this many EM iterations are recorded.
    title : str, default=None
        The page's title.

    Returns
    -------
    str
        ``path``.
    """
    path = os.fspath(path)
    if not path.lower().endswith((".html", ".htm")):
        raise ValueError(f"The offline page is an HTML file; {path!r} must end in .html.")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"Cannot write {path!r}: the folder {folder!r} does not exist.")
    text = page_html(session, max_iter=max_iter, title=title).encode("utf-8")
    atomic_write(path, lambda f: f.write(text))
    return path
