"""``gaussmix explore``: watch EM think, in the browser.

A learner makes 2-D data (generated, drawn, loaded from a CSV file or the Old Faithful classic),
picks a model and presses *Step*: the E-step recolours every point by how strongly it belongs to
each group, the M-step moves and reshapes the groups' ellipses, and the lower bound climbs.

* :mod:`.session` - the state, pure Python: data, settings and an EM run advanced one phase at a
  time by :class:`gaussmix.GaussianMixture` itself (nothing of EM is re-implemented here).
* :mod:`.frames` - what a picture of one EM phase shows, as plain columns (no Bokeh).
* :mod:`.figures` - the Bokeh figures both views share.
* :mod:`.app` - the live app (Panel on a Bokeh server; also displays in a Jupyter notebook).
* :mod:`.page` - a self-contained offline HTML page that replays a recorded EM run.
* :mod:`.headless` - the explorer in headless Chromium (selenium), for its browser tests and
  screenshots.

Panel and Bokeh come with the optional extra ``gaussmix[explore]`` and are imported only when a
picture or the app is made.

Examples
--------
>>> from gaussmix.apps.explore import ExplorerSession
>>> session = ExplorerSession.generated(n_groups=2, n_samples=200, seed=1, n_components=2)
>>> session.step()
['E', 'M']
>>> session.iteration, len(session.lower_bounds)
(1, 1)
"""

from __future__ import annotations

from .session import START_METHODS, ExplorerSession, Frame

__all__ = ["START_METHODS", "ExplorerSession", "Frame", "explorer", "serve", "write_page"]


def explorer(session=None, **settings):
    """The live explorer as a Panel object (display it in a notebook after ``pn.extension()``).

    See :func:`gaussmix.apps.explore.app.explorer`.
    """
    from .app import explorer as build

    return build(session, **settings)


def serve(session_factory=None, *, host="127.0.0.1", port=5006, show=True):
    """Serve the explorer (blocks); see :func:`gaussmix.apps.explore.app.serve`."""
    from .app import serve as run

    return run(session_factory, host=host, port=port, show=show)


def write_page(path, session, **options):
    """Write the offline page; see :func:`gaussmix.apps.explore.page.write_page`."""
    from .page import write_page as write

    return write(path, session, **options)
