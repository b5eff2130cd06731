"""The live explorer: Panel widgets around the shared Bokeh figures, served by a Bokeh server.

Every browser tab gets its own :class:`~gaussmix.apps.explore.session.ExplorerSession`; the
widgets only call its methods and show its frames. *Step* runs the E-step (the points recolour)
and, a moment later, the M-step (the ellipses move), so the two phases are seen apart; *Play*
runs phase after phase until EM converges.

The same object displays in a Jupyter notebook: ``import panel as pn; pn.extension()``, then
``gaussmix.apps.explore.explorer()`` as a cell's last line.
"""

from __future__ import annotations

import html
import socket

import numpy as np

from ..._optional import require
from ...engine import covariance
from . import figures, frames
from .session import MAX_COMPONENTS, START_METHODS, ExplorerSession
from .uploads import UPLOAD_LIMIT, WEBSOCKET_MAX_MESSAGE, guard_uploads, upload_size

PAUSE_MS = 450
PLAY_MS = 300
LOOPBACK = ("127.0.0.1", "localhost")

_INTRO = (
    "<h2 style='margin:0 0 4px 0'>Watch EM think</h2>"
    "<div style='font-size:14px;color:#444;max-width:1240px'>A Gaussian mixture explains the "
    "points as a few overlapping groups, each an ellipse. EM finds them by repeating two steps: "
    "the <b>E-step</b> asks every point how likely it is to belong to each group (its colour "
    "mixes the groups' colours), the <b>M-step</b> moves and reshapes every group to fit the "
    "points that lean towards it. The <b>lower bound</b> measures how well the groups explain "
    "the points; EM never lets it go down. Press <b>Step</b>.</div>"
)


def panel():
    """The ``panel`` package, or an ImportError naming the ``explore`` extra."""
    return require("panel", "explore", "gaussmix explore")


def _label(text):
    """A widget's label, as the installed Panel names it (``label`` from 1.8, ``name`` before)."""
    return {"label" if "label" in panel().widgets.Button.param else "name": text}


def _primary():
    """A primary (blue) button, as the installed Panel spells it (``color`` from 1.8)."""
    return {"color" if "color" in panel().widgets.Button.param else "button_type": "primary"}


def covariance_options():
    """``{label: covariance_type}`` of every registered type (mclust aliases of the four
    scikit-learn names left out: they are the same models)."""
    options = {}
    for name in covariance.names():
        if name in covariance.ALIASES:
            continue
        model = covariance.get(name)
        options[name if name == model.code else f"{name} ({model.code})"] = name
    return options


class Explorer:
    """The widgets, figures and callbacks of one explorer (one browser tab or notebook cell).

    Parameters
    ----------
    session : ExplorerSession, default=None
        The state shown (default: 500 generated points from 3 groups).
    """

    def __init__(self, session=None):
        pn = panel()
        self.session = session if session is not None else ExplorerSession.generated()
        self._pending = self._player = None
        self._stroke = []
        self._busy = False
        made = self.session.generation or {}
        self._data_seed = made.get("seed", self.session.seed)
        frame = self.session.frame()
        self.figs = figures.explorer_figures(frame, self.session.X, self.session.names)
        self.scatter_pane = pn.pane.Bokeh(self.figs.scatter)
        self.curve_pane = pn.pane.Bokeh(self.figs.curve)

        self.step_button = pn.widgets.Button(**_label("Step"), **_primary(), width=90)
        self.play = pn.widgets.Toggle(**_label("\u25b6 Play"), width=90)
        self.reset_button = pn.widgets.Button(**_label("Reset"), width=90)
        self.status = pn.pane.HTML(frames.status_html(frame), margin=(0, 10))
        self.caption = pn.pane.HTML(frames.caption_html(frame), width=360)
        self.alert = pn.pane.Alert("", alert_type="danger", visible=False, width=310)

        self.k = pn.widgets.RadioButtonGroup(options=list(range(1, MAX_COMPONENTS + 1)),
                                             value=self.session.n_components, width=310)
        self.covariance = pn.widgets.Select(**_label("Covariance type"), width=310,
                                            options=covariance_options(),
                                            value=self.session.covariance_type)
        self.covariance_text = pn.pane.HTML(self._covariance_text(), width=310)
        self.start = pn.widgets.Select(**_label("Start"), options=list(START_METHODS),
                                       value=self.session.start, width=150)
        self.seed = pn.widgets.IntInput(**_label("Seed"), value=self.session.seed, start=0,
                                        end=2**31 - 1, width=140)
        self.bic_button = pn.widgets.Button(**_label("BIC for K = 1 ... 8"), width=310)
        self.bic_pane = pn.Column(width=360)

        self.data_tabs = pn.Tabs(("Generate", self._generate_tab()), ("Draw", self._draw_tab()),
                                 ("CSV", self._csv_tab()), ("Old Faithful", self._faithful_tab()),
                                 width=310, dynamic=False)
        self._connect()
        self.layout = self._layout()

    # ------------------------------------------------------------------ data tabs
    def _generate_tab(self):
        pn = panel()
        made = self.session.generation or {}
        self.groups = pn.widgets.IntSlider(**_label("Groups"), start=1, end=8, width=290,
                                           value=min(8, made.get("n_groups", 3)))
        self.overlap = pn.widgets.FloatSlider(
            **_label("Overlap"), start=0.005, end=0.3, step=0.005, width=290,
            value=float(np.clip(round(made.get("overlap", 0.05) / 0.005) * 0.005, 0.005, 0.3)))
        self.n_points = pn.widgets.IntSlider(
            **_label("Points"), start=50, end=3000, step=50, width=290,
            value=int(np.clip(round(made.get("n_samples", 500) / 50) * 50, 50, 3000)))
        self.new_data = pn.widgets.Button(**_label("New data"), width=120)
        return pn.Column(self.groups, self.overlap, self.n_points, self.new_data)

    def _draw_tab(self):
        pn = panel()
        self.clear_button = pn.widgets.Button(**_label("Clear all points"), width=150)
        return pn.Column(pn.pane.HTML(
            "<div style='font-size:13px'>While this tab is open, <b>click</b> on the picture to "
            "add a point and <b>drag</b> to spray a few along the way. EM restarts with every "
            "change.</div>", width=290), self.clear_button)

    def _csv_tab(self):
        pn = panel()
        self.csv_file = pn.widgets.FileInput(accept=".csv,.tsv,.txt", width=290)
        self.x_column = pn.widgets.Select(**_label("x column"), options=[], disabled=True,
                                          width=145)
        self.y_column = pn.widgets.Select(**_label("y column"), options=[], disabled=True,
                                          width=145)
        self._csv = None
        self._busy_columns = False
        return pn.Column(pn.pane.HTML("<div style='font-size:13px'>A CSV file with a header; "
                                      "choose two numeric columns.</div>", width=290),
                         self.csv_file, pn.Row(self.x_column, self.y_column))

    def _faithful_tab(self):
        pn = panel()
        self.faithful_button = pn.widgets.Button(**_label("Load Old Faithful"), width=160)
        return pn.Column(pn.pane.HTML(
            "<div style='font-size:13px'>272 eruptions of the Old Faithful geyser: how long "
            "each lasted and the wait until the next. Short eruptions come with short waits, "
            "long ones with long waits: two or three groups.</div>", width=290),
            self.faithful_button)

    # ------------------------------------------------------------------ wiring
    def _connect(self):
        self.step_button.on_click(lambda event: self.step())
        self.play.param.watch(lambda event: self.set_playing(event.new), "value")
        self.reset_button.on_click(lambda event: self.reset())
        self.k.param.watch(lambda event: self._configure(n_components=event.new), "value")
        self.covariance.param.watch(lambda event: self._configure(covariance_type=event.new),
                                    "value")
        self.start.param.watch(lambda event: self._configure(start=event.new), "value")
        self.seed.param.watch(lambda event: self._configure(seed=event.new), "value")
        for slider in (self.groups, self.overlap, self.n_points):
            slider.param.watch(lambda event: self.generate(), "value_throttled")
        self.new_data.on_click(lambda event: self.generate(new=True))
        self.clear_button.on_click(lambda event: self._change_data(self.session.set_data,
                                                                   np.empty((0, 2))))
        self.csv_file.param.watch(lambda event: self._load_csv(), "value")
        self.x_column.param.watch(lambda event: self._load_csv(columns=True), "value")
        self.y_column.param.watch(lambda event: self._load_csv(columns=True), "value")
        self.faithful_button.on_click(
            lambda event: self._change_data(self.session.load_old_faithful, limits=True))
        self.bic_button.on_click(lambda event: self.show_bic())
        self.data_tabs.param.watch(lambda event: self._drawing(event.new == 1), "active")
        from bokeh import events

        self.figs.scatter.on_event(events.Tap, self._tap)
        self.figs.scatter.on_event(events.Pan, self._pan)
        self.figs.scatter.on_event(events.PanEnd, self._pan_end)

    def _layout(self):
        pn = panel()
        heading = "<div style='font-weight:bold;margin:8px 0 0 0'>{}</div>"
        sidebar = pn.Column(
            pn.pane.HTML(heading.format("Data")), self.data_tabs,
            pn.pane.HTML(heading.format("Model: K, the number of groups")), self.k,
            self.covariance, self.covariance_text, pn.Row(self.start, self.seed),
            pn.pane.HTML(heading.format("How many groups? (BIC)")), self.bic_button,
            self.alert, width=330,
        )
        main = pn.Column(
            pn.Row(self.step_button, self.play, self.reset_button), self.status,
            pn.Row(self.scatter_pane, pn.Column(self.curve_pane, self.caption, self.bic_pane)),
        )
        return pn.Column(pn.pane.HTML(_INTRO, width=1240), pn.Row(sidebar, main),
                         margin=(10, 16))

    # ------------------------------------------------------------------ showing
    def show(self, *, points=True, limits=False):
        """Put the session's current frame on the page."""
        frame = self.session.frame()
        figures.show_frame(self.figs, frame, self.session.X, points=points)
        # the view follows the frame: the points and every ellipse drawn, whole (a random
        # start's wide ellipses zoom out; the view tightens as EM finds the groups)
        figures.set_limits(self.figs, frames.view_limits(self.session.X, frame))
        if limits:
            self.figs.points.glyph.size = figures.point_size(len(self.session.X))
        self.status.object = frames.status_html(frame, self.session.n_components)
        self.caption.object = frames.caption_html(frame)

    def _error(self, text):
        # messages quote file names and CSV headers: shown as text, never as HTML
        self.alert.object = html.escape(text)
        self.alert.visible = bool(text)

    def _covariance_text(self):
        return f"<div style='font-size:12px;color:#555'>{self.session.covariance_description}</div>"

    # ------------------------------------------------------------------ EM buttons
    def _cancel_pending(self):
        if self._pending is not None:
            self._pending.stop()
            self._pending = None
        self._busy = False

    def step(self):
        """One EM iteration: the E-step now, the M-step after a short pause."""
        if self._busy or not self.session.ready:
            return
        self.play.value = False
        if self.session.next_phase == "M":
            self._finish_step()
            return
        self.session.e_step()
        self.show()
        self._busy = True
        self._pending = panel().state.add_periodic_callback(self._finish_step, period=PAUSE_MS,
                                                            count=1)

    def _finish_step(self):
        self._pending = None
        self._busy = False
        if self.session.next_phase == "M":
            self.session.m_step()
            self.show(points=False)

    def set_playing(self, on):
        """Play (one phase every ``PLAY_MS`` until EM converges) or pause."""
        if self._player is not None:
            self._player.stop()
            self._player = None
        self.play.param.update(**_label("\u275a\u275a Pause" if on else "\u25b6 Play"))
        if on and self.session.ready:
            self._cancel_pending()
            if self.session.converged:
                self.session.reset()
                self.show()
            self._player = panel().state.add_periodic_callback(self._tick, period=PLAY_MS)
        elif on:
            self.play.value = False

    def _tick(self):
        session = self.session
        if not session.ready or (session.converged and session.phase == "M") or \
                session.iteration >= 500:
            self.play.value = False
            return
        phase = session.advance()
        self.show(points=phase != "M")
        if phase == "none":
            self.play.value = False

    def reset(self):
        """Back to EM's first guess."""
        self._cancel_pending()
        self.play.value = False
        self.session.reset()
        self.show()

    # ------------------------------------------------------------------ settings, data
    def _configure(self, **settings):
        self._cancel_pending()
        self.play.value = False
        self.session.configure(**settings)
        self.covariance_text.object = self._covariance_text()
        if "n_components" not in settings:
            self.bic_pane.objects = []  # it was for another model
        self.show()

    def _change_data(self, change, *args, limits=False, **kwargs):
        self._cancel_pending()
        self.play.value = False
        try:
            result = change(*args, **kwargs)
        except ValueError as exc:
            self._error(str(exc))
            return None
        self._error("")
        self.bic_pane.objects = []  # it was for other data
        self.figs.scatter.xaxis.axis_label, self.figs.scatter.yaxis.axis_label = \
            self.session.names
        self.show(limits=limits)
        return result

    def generate(self, new=False):
        """New data from the Generate sliders (``new``: another random draw)."""
        self._data_seed += int(new)
        self._change_data(self.session.generate, self.groups.value, self.overlap.value,
                          self.n_points.value, seed=self._data_seed, limits=True)

    def _load_csv(self, columns=False):
        if self._busy_columns:
            return
        if not columns:
            if not self.csv_file.value:
                return
            name = self.csv_file.filename or "the CSV file"
            size = upload_size(self.csv_file.value)
            if size > UPLOAD_LIMIT:
                self._error(f"{name} is {size / 2**20:.1f} MiB; the explorer "
                            f"reads CSV files up to {UPLOAD_LIMIT >> 20} MiB (it draws two "
                            "columns: keep those, or a sample of the rows).")
                return
            self._csv = (bytes(self.csv_file.value), name)
        if self._csv is None:
            return
        content, name = self._csv
        x, y = (self.x_column.value, self.y_column.value) if columns else (None, None)
        table = self._change_data(self.session.load_csv, content, x, y, label=name, limits=True)
        if table is None:
            return
        self._busy_columns = True
        try:
            for select, value in ((self.x_column, table.names[0]), (self.y_column, table.names[1])):
                select.options = list(table.columns)
                select.value = value
                select.disabled = False
        finally:
            self._busy_columns = False

    def _drawing(self, on):
        toolbar = self.figs.scatter.toolbar
        if on:
            toolbar.active_drag = None
        else:
            toolbar.active_drag = "auto"

    def _draw_active(self):
        return self.data_tabs.active == 1

    def _tap(self, event):
        if self._draw_active() and event.x is not None:
            self._change_data(self.session.add_points, [[event.x, event.y]])

    def _spray_scale(self):
        x_range, y_range = self.figs.scatter.x_range, self.figs.scatter.y_range
        return np.array([x_range.end - x_range.start, y_range.end - y_range.start])

    def _pan(self, event):
        if not self._draw_active() or event.x is None:
            return
        point = np.array([event.x, event.y])
        if self._stroke and np.all(np.abs(point - self._stroke[-1]) < 0.02 * self._spray_scale()):
            return  # too close to the last one
        self._stroke.append(point)
        if len(self._stroke) >= 15:
            self._pan_end(None)

    def _pan_end(self, event):
        if not self._stroke:
            return
        centres = np.array(self._stroke)
        self._stroke = []
        rng = np.random.default_rng(len(self.session.X))
        jitter = rng.normal(scale=0.015, size=(3 * len(centres), 2)) * self._spray_scale()
        spray = np.repeat(centres, 3, axis=0) + jitter
        self._change_data(self.session.add_points, spray)

    # ------------------------------------------------------------------ BIC
    def show_bic(self):
        """BIC against K for the current data and covariance type, beside the curve."""
        pn = panel()
        self.bic_button.loading = True
        try:
            ks, bic, best = self.session.bic()
        except ValueError as exc:
            self._error(str(exc))
            return
        finally:
            self.bic_button.loading = False
        self._error("")
        figure = figures.bic_figure(ks, bic, best, covariance_type=self.session.covariance_type)
        self.bic_pane.objects = [
            pn.pane.Bokeh(figure),
            pn.pane.HTML(
                f"<div class='gm-bic-text' style='font-size:13px'>BIC weighs how well each K "
                f"fits against how many numbers it uses; the lowest wins. For these points: "
                f"<b>K = {best}</b>.</div>", width=360),
        ]


def explorer(session=None, **settings):
    """The explorer as a Panel object: serve it, or show it in a notebook.

    Parameters
    ----------
    session : ExplorerSession, default=None
        The state to show; default :meth:`ExplorerSession.generated` with ``settings``.
    **settings
        Passed to :meth:`ExplorerSession.generated` when ``session`` is ``None``.
    """
    if session is None:
        session = ExplorerSession.generated(**settings)
    guard_uploads(panel().state.curdoc)
    return Explorer(session).layout


def websocket_origins(host, port, extra=()):
    """The origins (``host:port``) whose pages may open the explorer's websocket: the names of
    the address served (for ``0.0.0.0`` or ``::``, this machine's name and addresses), never
    any origin; ``extra`` adds others (``--allow-origin``)."""
    if host in LOOPBACK:
        names = set(LOOPBACK)
    elif host in ("0.0.0.0", "::", ""):
        names = {*LOOPBACK, socket.gethostname(), socket.getfqdn()}
        try:
            names |= {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
        except OSError:
            pass
    else:
        names = {host}
    shown = {f"[{n}]:{port}" if ":" in n else f"{n}:{port}" for n in names}
    return sorted(shown | {o if ":" in o else f"{o}:{port}" for o in extra})


def serve(session_factory=None, *, host="127.0.0.1", port=5006, show=True,
          title="gaussmix explore", allow_origins=()):
    """Serve the explorer until interrupted; every browser tab gets ``session_factory()``.

    ``host`` is the address listened on (the loopback by default: only this machine). The
    websocket accepts only pages served from :func:`websocket_origins` (Bokeh's
    ``allow_websocket_origin``): a page on another site cannot drive it.
    """
    pn = panel()
    factory = session_factory or ExplorerSession.generated

    def page():
        guard_uploads(pn.state.curdoc)
        return Explorer(factory()).layout

    return pn.serve(page, port=port, address=host,
                    websocket_origin=websocket_origins(host, port, allow_origins), show=show,
                    title=title, verbose=False,
                    websocket_max_message_size=WEBSOCKET_MAX_MESSAGE)
