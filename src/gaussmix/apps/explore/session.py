"""The explorer's state: data, model settings and one EM run, advanced one phase at a time.

Pure Python (no Panel, no Bokeh), so every rule of the app is testable without a browser. The
EM is the library's own, driven through its public API as
:func:`gaussmix.viz.animation.em_trajectory`
drives it: a fit with ``max_iter=0`` gives the start; each M-step is a fit with
``warm_start=True, max_iter=1`` (one full iteration of :class:`gaussmix.GaussianMixture`, with
its convergence test). The E-step phase shows what that iteration's E-step computes from the
current parameters - every point's responsibilities (``predict_proba``) and the lower bound, the
mean log-likelihood (``score``), which the fit then reports as its ``lower_bound_``.

Examples
--------
>>> from gaussmix.apps.explore.session import ExplorerSession
>>> session = ExplorerSession.generated(n_groups=3, n_samples=300, seed=0)
>>> session.phase, session.responsibilities is None
('start', True)
>>> session.e_step()
'E'
>>> session.responsibilities.shape
(300, 3)
>>> session.m_step()
'M'
>>> session.run(max_iter=50) and session.converged
True
>>> bool(min(b - a for a, b in zip(session.lower_bounds, session.lower_bounds[1:])) > -1e-9)
True
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ...engine import covariance
from ...estimators import GaussianMixture
from ...estimators.sklearn_protocol import convergence_warnings_off

#: Start choices offered to learners, and the ``init_params`` of each. ``'random'`` also gives
#: ``means_init``: K points of the data picked at random (seeded), so the groups start as wide
#: as the data, centred on random points (the textbook picture).
START_METHODS = {"random": "random", "k-means": "kmeans", "hierarchical": "hierarchical"}
_START_TEXT = {
    "random": "each as wide as the data, centred on a point picked at random",
    "k-means": "from a quick k-means clustering of the points",
    "hierarchical": "from merging nearby points into groups (hierarchical clustering)",
}
MAX_COMPONENTS = 10


@dataclass(frozen=True)
class Frame:
    """What one moment of an EM run shows (a copy: later steps do not change it).

    Attributes
    ----------
    iteration : int
        EM iterations completed (M-steps done); 0 at the start.
    phase : {'start', 'E', 'M', 'none'}
        The phase just shown (``'none'``: no model, see ``message``).
    weights, means, covariances : ndarray
        ``(K,)``, ``(K, 2)`` and dense ``(K, 2, 2)`` parameters drawn (``None`` without a model).
    responsibilities : ndarray of shape (n_samples, K) or None
        Every point's probability of each component from the last E-step; ``None`` before it.
    lower_bounds : tuple of float
        The lower bound (mean log-likelihood) of each E-step so far.
    converged : bool
    caption : str
        What just happened, in plain words.
    message : str
        A problem to show (too few points, a failed step), or ``""``.
    """

    iteration: int
    phase: str
    weights: np.ndarray | None
    means: np.ndarray | None
    covariances: np.ndarray | None
    responsibilities: np.ndarray | None
    lower_bounds: tuple
    converged: bool
    caption: str
    message: str = ""


class ExplorerSession:
    """Data, a model and its EM run: the state behind ``gaussmix explore``.

    Parameters
    ----------
    X : array-like of shape (n_samples, 2), default=None
        The points (``None``: none yet; draw some with :meth:`add_points`).
    n_components : int, default=3
    covariance_type : str, default='full'
        Any registered covariance type (``gaussmix.engine.covariance.names()``).
    start : {'random', 'k-means', 'hierarchical'}, default='random'
        How EM makes its first guess (see :data:`START_METHODS`).
    seed : int, default=0
        Seeds the start: same data, settings and seed, same run.
    tol : float, default=1e-4
        EM stops once the lower bound rises by less than this (the estimator's ``tol``; its
        default, 1e-3, often stops a run from a random start on a slow climb, before the
        ellipses have found their places).
    names : (str, str), default=('x', 'y')
        Axis names.
    label : str, default='your points'
        Where the data came from, for captions.
    """

    def __init__(self, X=None, *, n_components=3, covariance_type="full", start="random",
                 seed=0, tol=1e-4, names=("x", "y"), label="your points"):
        self._X = np.empty((0, 2))
        self.names = ("x", "y")
        self.label = label
        self.n_components = 1
        self.covariance_type = "full"
        self.start = "random"
        self.seed = 0
        self.tol = float(tol)
        self.configure(n_components=n_components, covariance_type=covariance_type, start=start,
                       seed=seed, reset=False)
        self.set_data(np.empty((0, 2)) if X is None else X, names=names, label=label)

    # ------------------------------------------------------------------ making data
    @classmethod
    def generated(cls, n_groups=3, overlap=0.05, n_samples=500, seed=0, **settings):
        """A session on data drawn by :func:`gaussmix.make_mixture` (``n_components`` defaults
        to ``n_groups``)."""
        session = cls(**{"n_components": n_groups, "seed": seed, **settings})
        session.generate(n_groups, overlap, n_samples, seed=seed)
        return session

    def generate(self, n_groups=3, overlap=0.05, n_samples=500, *, seed=None):
        """Draw ``n_samples`` points from ``n_groups`` random groups with that average pairwise
        overlap (0.001 well apart ... 0.3 heavily mixed); restarts EM."""
        from ...datasets.generate import make_mixture

        n_groups, n_samples = int(n_groups), int(n_samples)
        if not 1 <= n_groups <= MAX_COMPONENTS:
            raise ValueError(f"The number of groups must be 1 to {MAX_COMPONENTS}; got {n_groups}.")
        if not 2 <= n_samples <= 20_000:
            raise ValueError(f"The number of points must be 2 to 20000; got {n_samples}.")
        if not 0 < overlap < 1:
            raise ValueError(f"The overlap must be between 0 and 1; got {overlap}.")
        seed = self.seed if seed is None else int(seed)
        X, _, _ = make_mixture(n_samples, n_groups, 2, overlap=overlap if n_groups > 1 else None,
                               random_state=seed)
        text = f"{n_samples} points from {n_groups} group{'s' * (n_groups > 1)}"
        if n_groups > 1:
            text += f", overlap {overlap:g}"
        self.set_data(X, names=("x", "y"), label=text)
        self.generation = {"n_groups": n_groups, "overlap": float(overlap),
                           "n_samples": n_samples, "seed": seed}
        return self

    def load_old_faithful(self):
        """The 272 eruptions of the Old Faithful geyser (duration, wait); restarts EM."""
        from ...datasets import load_old_faithful

        return self.set_data(load_old_faithful(), names=("eruption (minutes)", "waiting (minutes)"),
                             label="Old Faithful: 272 eruptions")

    def load_csv(self, source, x_column=None, y_column=None, *, label="the CSV file"):
        """Two numeric columns of a CSV file (upload bytes or a path); restarts EM.

        Returns the :class:`~gaussmix.apps.explore.data.CsvColumns` read (its ``columns`` are the
        choices to offer). Raises ``ValueError`` for a bad file or choice; the data is then kept.
        """
        from .data import read_csv_columns

        table = read_csv_columns(source, x_column, y_column, label=label, seed=self.seed)
        text = f"{label}: {table.names[0]} and {table.names[1]}, {len(table.X)} rows"
        self.set_data(table.X, names=table.names, label=text + (f" ({table.note})"
                                                              if table.note else ""))
        return table

    def set_data(self, X, *, names=None, label=None):
        """Replace the points (any number, finite, two columns) and restart EM."""
        X = np.asarray(X, dtype=np.float64)
        if X.size == 0:
            X = X.reshape(0, 2)
        if X.ndim != 2 or X.shape[1] != 2:
            raise ValueError(f"The explorer draws two columns; got data of shape {X.shape}.")
        if not np.all(np.isfinite(X)):
            raise ValueError("The points must be finite numbers (no NaN or infinity).")
        self._X = np.ascontiguousarray(X)
        self.generation = None  # how generate() made the points, if it did
        if names is not None:
            self.names = tuple(str(n) for n in names)
        if label is not None:
            self.label = label
        self.reset()
        return self

    def add_points(self, points):
        """Append points (e.g. clicked on the picture) and restart EM."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return self.set_data(np.vstack([self._X, points]), label="your points")

    @property
    def X(self):
        """The points, ``(n_samples, 2)`` (a read-only view)."""
        view = self._X.view()
        view.flags.writeable = False
        return view

    # ------------------------------------------------------------------ settings
    def configure(self, *, n_components=None, covariance_type=None, start=None, seed=None,
                  reset=True):
        """Change the model (number of components, covariance type, start, seed): EM restarts."""
        if n_components is not None:
            n_components = int(n_components)
            if not 1 <= n_components <= MAX_COMPONENTS:
                raise ValueError(f"K must be 1 to {MAX_COMPONENTS}; got {n_components}.")
            self.n_components = n_components
        if covariance_type is not None:
            # a ValueError listing the names if unknown; mclust's names of the four are theirs
            self.covariance_type = covariance.get(covariance_type).name
        if start is not None:
            if start not in START_METHODS:
                raise ValueError(f"start must be one of {', '.join(START_METHODS)}; got {start!r}.")
            self.start = start
        if seed is not None:
            self.seed = int(seed)
        if reset:
            self.reset()
        return self

    @property
    def covariance_description(self):
        """One line on what the covariance type lets the ellipses do."""
        model = covariance.get(self.covariance_type)
        return f"{model.name} ({model.code}): {model.description}"

    # ------------------------------------------------------------------ EM
    def reset(self):
        """Back to EM's first guess (iteration 0) with the current data and settings."""
        self.iteration = 0
        self.phase = "start"
        self.converged = False
        self.responsibilities = None
        self.lower_bounds = []
        self.message = ""
        self._shift = 0.0
        self.model = None
        need = max(2, self.n_components + 1)
        if len(self._X) < need:
            self.phase = "none"
            self.message = (
                f"{len(self._X)} point(s): K={self.n_components} needs at least {need}. "
                "Add points, load data or lower K."
            )
            return self
        means_init = None
        if self.start == "random":
            rng = np.random.default_rng(self.seed)
            rows = np.unique(self._X, axis=0)  # distinct centres: equal ones would stay equal
            rows = rows if len(rows) >= self.n_components else self._X
            means_init = rows[rng.choice(len(rows), self.n_components, replace=False)]
        estimator = GaussianMixture(
            self.n_components, covariance_type=self.covariance_type,
            init_params=START_METHODS[self.start], means_init=means_init,
            random_state=self.seed, tol=self.tol, max_iter=0,
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.model = estimator.fit(self._X)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
            self.phase = "none"
            self.message = f"EM could not start: {' '.join(str(exc).split())}"
            return self
        self.model.set_params(max_iter=1, warm_start=True)
        return self

    @property
    def ready(self):
        """Whether there is a model to step (enough points, a successful start)."""
        return self.model is not None

    @property
    def next_phase(self):
        """``'E'`` or ``'M'``: the phase :meth:`advance` runs next (``None`` without a model)."""
        if not self.ready:
            return None
        return "M" if self.phase == "E" else "E"

    def e_step(self):
        """E-step: every point's responsibilities and the lower bound, from the current ellipses.

        Returns ``'E'`` (or ``'none'`` without a model). Calling it twice in a row recomputes
        the same values.
        """
        if not self.ready:
            return "none"
        if self.phase == "E":
            return "E"
        self.responsibilities = self.model.predict_proba(self._X)
        self.lower_bounds.append(float(self.model.score(self._X)))
        self.phase = "E"
        return "E"

    def m_step(self):
        """M-step: one iteration of the estimator moves and reshapes every component.

        Runs :meth:`e_step` first if it has not run. Returns ``'M'`` (or ``'none'``).
        """
        if self.e_step() == "none":
            return "none"
        before = np.array(self.model.means_, dtype=np.float64)
        try:
            with convergence_warnings_off():  # a 1-iteration fit "stops"
                self.model.fit(self._X)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
            self.message = f"This M-step failed: {' '.join(str(exc).split())} Press Reset."
            self.lower_bounds.pop()
            self.phase = "M"
            return "none"
        self.lower_bounds[-1] = float(self.model.lower_bound_)  # the estimator's own value
        self.iteration += 1
        self.converged = bool(self.model.converged_)
        self._shift = float(np.sqrt(((self.model.means_ - before) ** 2).sum(axis=1)).max())
        self.phase = "M"
        return "M"

    def advance(self):
        """Run the next phase (E-step or M-step); returns it."""
        return self.m_step() if self.next_phase == "M" else self.e_step()

    def step(self):
        """One EM iteration (the E-step if it is due, then the M-step); returns the phases run."""
        if not self.ready:
            return []
        phases = [] if self.phase == "E" else [self.e_step()]
        return phases + [self.m_step()]

    def run(self, max_iter=100):
        """Step until EM converges or ``max_iter`` iterations in all; returns ``converged``."""
        while self.ready and not self.converged and self.iteration < max_iter:
            if "none" in self.step():
                break
        return self.converged

    def record(self, max_iter=100):
        """Reset, then run EM phase by phase: the list of :class:`Frame` (start, E, M, E, ...),
        ending at convergence or after ``max_iter`` iterations."""
        self.reset()
        frames = [self.frame()]
        while self.ready and not self.converged and self.iteration < max_iter:
            if self.advance() == "none":
                break
            frames.append(self.frame())
        return frames

    # ------------------------------------------------------------------ what is shown
    def parameters(self):
        """``(weights, means, covariances)`` drawn now: ``(K,)``, ``(K, 2)``, dense
        ``(K, 2, 2)``; ``None`` without a model."""
        if not self.ready:
            return None
        model = self.model
        means = np.array(model.means_, dtype=np.float64)
        dense = covariance.get(model.covariance_type).dense(model.covariances_, *means.shape)
        return np.array(model.weights_, dtype=np.float64), means, np.array(dense)

    def frame(self):
        """A :class:`Frame` of the current state."""
        parameters = self.parameters() or (None, None, None)
        resp = None if self.responsibilities is None else self.responsibilities.copy()
        return Frame(self.iteration, self.phase, *parameters, resp, tuple(self.lower_bounds),
                     self.converged, self.caption(), self.message)

    def caption(self):
        """What just happened, in plain words."""
        K = self.n_components
        if not self.ready:
            return self.message
        if self.phase == "start":
            return (
                f"Start: EM makes a first guess of {K} group{'s' * (K > 1)}, "
                f"{_START_TEXT[self.start]}. No point has been asked anything yet, so all are "
                "grey. Press Step."
            )
        bound = self.lower_bounds[-1]
        if self.phase == "E":
            text = (
                "E-step: each point asks every group how likely it is to belong to it. Its "
                "colour mixes the groups' colours by those chances; a faded point is torn "
                "between groups (hover a point to see its numbers). "
                f"Lower bound (how well the ellipses explain the points): {bound:.4f}"
            )
            if len(self.lower_bounds) > 1:
                text += f", up {bound - self.lower_bounds[-2]:.4f}"
            return text + "."
        text = (
            "M-step: each group moves to the weighted centre of the points that lean towards it "
            "and stretches its ellipse to their spread (rule: "
            f"{covariance.get(self.covariance_type).description}). "
            f"The largest move of a centre was {self._shift:.3g}."
        )
        if self.converged:
            text += (
                f" EM has converged: the lower bound rose by less than {self.tol:g} in this "
                "round, so the ellipses will hardly move any more."
            )
        return text

    # ------------------------------------------------------------------ model choice
    def bic(self, max_components=8):
        """BIC of the current data for K = 1 ... ``max_components`` (current covariance type).

        Each K is fitted to convergence by :func:`gaussmix.select_model` (its hierarchical
        start, one initialisation). Returns ``(ks, bic, best_k)``; lower BIC is better, and a
        K that failed has ``nan``.
        """
        from ...selection import select_model

        if len(self._X) < 3:
            raise ValueError("BIC needs at least 3 points.")
        top = int(min(max_components, len(self._X) - 1))
        result = select_model(self._X, range(1, top + 1), (self.covariance_type,), n_init=1,
                              random_state=self.seed, progress=False, tol=self.tol)
        table = result.table
        bic = np.where(table["status"].ne("failed"), table["bic"], np.nan).astype(np.float64)
        return list(table["n_components"].astype(int)), bic, int(result.best_params_[
            "n_components"])
